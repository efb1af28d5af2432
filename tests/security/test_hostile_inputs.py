"""Edge values at every list route and date field: huge, negative and garbage cursors, years 1 and 9999; each is a
4xx problem+json (or an ordinary answer), never a 500."""

import base64
import json
from datetime import timedelta

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth.models import Role
from shared.clock import today_in
from shared.errors import InvalidInput
from shared.facilities.models import Facility, FacilityStatus, FacilityType
from shared.pagination import decode_cursor
from tests.support.factories import bearer, make_tree, make_user

PROBLEM = "application/problem+json"


def _cursor(values: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


EDGE_CURSORS = [
    _cursor([2**63]),
    _cursor([2**100]),
    _cursor([-(2**63) - 1]),
    _cursor([2**63, 2**31, 2**63]),
    _cursor([1, 2**31, 1]),
    _cursor(["x"]),
    _cursor(["\x00"]),
    _cursor([1.5]),
    _cursor([True]),
    _cursor({"a": 1}),
    "!!!",
    "x" * 5000,
]


def test_decode_cursor_bounds_every_integer() -> None:
    assert decode_cursor(_cursor([2**63 - 1]), size=1) == [2**63 - 1]
    for cursor in [_cursor([2**63]), _cursor(["7"]), "x" * 201, _cursor([2**31, 1])]:
        with pytest.raises(InvalidInput):
            decode_cursor(
                cursor, size=1 if "x" in cursor or len(json.loads(base64.urlsafe_b64decode(cursor + "==="))) == 1 else 2
            )


def list_routes(api: dict) -> list[str]:
    """Every GET route of the OpenAPI document that takes a cursor."""
    return sorted(
        path
        for path, operations in api["paths"].items()
        if any(parameter["name"] == "cursor" for parameter in operations.get("get", {}).get("parameters", []))
    )


async def test_edge_cursors_on_every_list_route_are_refused_as_problems(
    client: AsyncClient, session: AsyncSession
) -> None:
    tree = await make_tree(session)
    admin = bearer(await make_user(session, username="root", role=Role.admin))
    resident = bearer(await make_user(session, username="alice", role=Role.citizen))
    routes = list_routes((await client.get("/openapi.json")).json())
    assert "/api/v1/public/catalogue" in routes or any(route.startswith("/api/v1/public/") for route in routes)
    assert len(routes) >= 8
    for route in routes:
        path = route.format(**{name: tree.district.id for name in ("unit_id", "org_unit_id", "plan_id", "id")})
        headers = resident if "/me" in path or "/public/" in path else admin
        for cursor in EDGE_CURSORS:
            response = await client.get(path, params={"cursor": cursor}, headers=headers)
            assert response.status_code < 500, (route, cursor, response.text)
            if response.status_code in (400, 422):
                assert response.headers["content-type"] == PROBLEM
                assert any(error.get("field") == "cursor" for error in response.json()["errors"]), response.text


async def test_bookings_and_slots_in_year_1_and_year_9999_are_clear_422s(
    client: AsyncClient, session: AsyncSession
) -> None:
    tree = await make_tree(session)
    hall = Facility(
        code="GC-A1",
        name="文化中心",
        type=FacilityType.grassroots_centre,
        org_unit_id=tree.community_a1.id,
        status=FacilityStatus.open,
    )
    session.add(hall)
    await session.flush()
    clerk = bearer(await make_user(session, username="clerk", role=Role.unit_clerk, unit=tree.street_a))
    alice = bearer(await make_user(session, username="alice", role=Role.citizen))
    week = {"days": [{"weekday": day, "opens": "00:00", "closes": "23:59"} for day in range(7)]}
    assert (
        await client.put(f"/api/v1/facilities/{hall.id}/opening-hours", json=week, headers=clerk)
    ).status_code == 200
    for starts, ends in [
        ("9999-12-31T23:00:00+00:00", "9999-12-31T23:59:00+00:00"),
        ("9999-12-31T23:00:00-12:00", "9999-12-31T23:30:00-12:00"),
        ("0001-01-01T00:00:00+00:00", "0001-01-01T01:00:00+00:00"),
        ("0001-01-01T00:00:00+14:00", "0001-01-01T01:00:00+14:00"),
    ]:
        body = {"facility_id": hall.id, "starts_at": starts, "ends_at": ends, "purpose": "排练"}
        response = await client.post("/api/v1/bookings", json=body, headers=alice)
        assert response.status_code == 422, (starts, response.text)
        assert response.headers["content-type"] == PROBLEM
        assert {error.get("field") for error in response.json()["errors"]} & {"starts_at", "ends_at"}, response.text
    for day in ["9999-12-31", "0001-01-01"]:
        slots = await client.get(f"/api/v1/public/facilities/{hall.id}/slots", params={"on": day})
        assert slots.status_code == 422 and slots.json()["errors"][0]["field"] == "on", (day, slots.text)
    assert (today_in() + timedelta(days=1)).year < 9999
