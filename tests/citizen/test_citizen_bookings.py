"""Venue booking, volunteers and feedback from residents' tokens (the clock is moved through shared.clock)."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth.models import Role
from shared.clock import today_in
from shared.facilities.models import Facility, FacilityType
from shared.indicators.engine.run import catalogue, live_results
from shared.statistics.models import DataElement, DataValue
from tests.support.factories import bearer, make_tree, make_user

PROBLEM = "application/problem+json"
ZONE = ZoneInfo("Asia/Shanghai")


def _at(day: date, hour: int, minute: int = 0) -> str:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZONE).isoformat()


async def _world(client: AsyncClient, session: AsyncSession) -> tuple:
    tree = await make_tree(session)
    facility = Facility(
        code="GC-A1", name="四月天社区文化中心", type=FacilityType.grassroots_centre, org_unit_id=tree.community_a1.id
    )
    session.add(facility)
    await session.flush()
    clerk = bearer(await make_user(session, username="clerk", role=Role.unit_clerk, unit=tree.street_a))
    outsider = bearer(await make_user(session, username="clerk-b", role=Role.unit_clerk, unit=tree.street_b))
    alice = bearer(await make_user(session, username="alice", role=Role.citizen))
    bob = bearer(await make_user(session, username="bob", role=Role.citizen))
    week = {"days": [{"weekday": day, "opens": "08:00", "closes": "21:00"} for day in range(7)]}
    hours = await client.put(f"/api/v1/facilities/{facility.id}/opening-hours", json=week, headers=clerk)
    assert hours.status_code == 200, hours.text
    return tree, facility, clerk, outsider, alice, bob


async def test_bookings_hold_slots_within_opening_hours_and_never_overlap(
    client: AsyncClient, session: AsyncSession
) -> None:
    _tree, facility, _clerk, outsider, alice, bob = await _world(client, session)
    day = today_in() + timedelta(days=1)
    body = {"facility_id": facility.id, "starts_at": _at(day, 10), "ends_at": _at(day, 11), "purpose": "合唱排练"}
    booked = await client.post("/api/v1/bookings", json=body, headers=alice)
    assert booked.status_code == 201, booked.text
    overlapping = await client.post(
        "/api/v1/bookings", json=body | {"starts_at": _at(day, 10, 30), "ends_at": _at(day, 11, 30)}, headers=bob
    )
    assert overlapping.status_code == 409 and overlapping.headers["content-type"] == PROBLEM
    adjacent = await client.post(
        "/api/v1/bookings", json=body | {"starts_at": _at(day, 11), "ends_at": _at(day, 12)}, headers=bob
    )
    assert adjacent.status_code == 201, adjacent.text

    slots = (await client.get(f"/api/v1/public/facilities/{facility.id}/slots", params={"on": day.isoformat()})).json()
    assert len(slots) == 13 and [slot["free"] for slot in slots[1:5]] == [True, False, False, True]
    assert set(slots[0]) == {"starts_at", "ends_at", "free"}  # nobody's name

    yesterday = today_in() - timedelta(days=1)
    bad = [
        (body | {"ends_at": _at(day, 10)}, "ends_at"),  # zero length
        (body | {"starts_at": _at(day, 12), "ends_at": _at(day, 11)}, "ends_at"),
        (body | {"starts_at": _at(yesterday, 10), "ends_at": _at(yesterday, 11)}, "starts_at"),
        (body | {"starts_at": _at(day, 7), "ends_at": _at(day, 9)}, "starts_at"),  # before opening
        (body | {"starts_at": _at(day, 20), "ends_at": _at(day, 22)}, "ends_at"),  # after closing
        (body | {"facility_id": 999999}, "facility_id"),
        (body | {"starts_at": "2026-12-05T10:00:00"}, "starts_at"),  # no time zone
    ]
    for request, field in bad:
        response = await client.post("/api/v1/bookings", json=request, headers=bob)
        assert response.status_code == 422, (request, response.text)
        assert response.json()["errors"][0]["field"] == field, response.json()

    url = f"/api/v1/bookings/{booked.json()['id']}"
    assert (await client.get(url, headers=bob)).status_code == 404
    assert (await client.post(f"{url}/cancel", headers=bob)).status_code == 404
    assert (await client.get(url, headers=outsider)).status_code == 404
    assert [b["id"] for b in (await client.get("/api/v1/bookings", headers=bob)).json()["items"]] == [
        adjacent.json()["id"]
    ]
    cancelled = await client.post(f"{url}/cancel", headers=alice)
    assert cancelled.json()["status"] == "cancelled"
    rebooked = await client.post("/api/v1/bookings", json=body, headers=bob)
    assert rebooked.status_code == 201, rebooked.text


async def test_check_in_no_show_and_rating_an_attended_booking(
    client: AsyncClient, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    _tree, facility, clerk, outsider, alice, _bob = await _world(client, session)
    day = today_in() + timedelta(days=1)
    body = {"facility_id": facility.id, "starts_at": _at(day, 10), "ends_at": _at(day, 11)}
    first = (await client.post("/api/v1/bookings", json=body, headers=alice)).json()
    second = (
        await client.post(
            "/api/v1/bookings", json=body | {"starts_at": _at(day, 14), "ends_at": _at(day, 15)}, headers=alice
        )
    ).json()
    early = await client.post(f"/api/v1/bookings/{first['id']}/check-in", headers=clerk)
    assert early.status_code == 409

    import shared.bookings.service as bookings

    monkeypatch.setattr(
        bookings, "now", lambda: datetime(day.year, day.month, day.day, 9, 45, tzinfo=ZONE).astimezone(UTC)
    )
    assert (await client.post(f"/api/v1/bookings/{first['id']}/check-in", headers=outsider)).status_code == 404
    assert (await client.post(f"/api/v1/bookings/{first['id']}/check-in", headers=alice)).status_code == 403
    checked = await client.post(f"/api/v1/bookings/{first['id']}/check-in", headers=clerk)
    assert checked.status_code == 200 and checked.json()["status"] == "checked_in"
    monkeypatch.setattr(
        bookings, "now", lambda: datetime(day.year, day.month, day.day, 14, 20, tzinfo=ZONE).astimezone(UTC)
    )
    missed = await client.post(f"/api/v1/bookings/{second['id']}/no-show", headers=clerk)
    assert missed.json()["status"] == "no_show"

    rating = {"target_kind": "booking", "target_id": first["id"], "score": 5}
    assert (await client.post("/api/v1/ratings", json=rating, headers=alice)).status_code == 201
    assert (await client.post("/api/v1/ratings", json=rating, headers=alice)).status_code == 409
    not_there = await client.post("/api/v1/ratings", json=rating | {"target_id": second["id"]}, headers=alice)
    assert not_there.status_code == 422 and not_there.json()["errors"][0]["field"] == "target_id"
    out_of_range = await client.post("/api/v1/ratings", json=rating | {"score": 6}, headers=alice)
    assert out_of_range.status_code == 422 and out_of_range.json()["errors"][0]["field"] == "score"


async def test_volunteers_register_with_consent_and_confirmed_hours_feed_the_indicators(
    client: AsyncClient, session: AsyncSession
) -> None:
    tree, _facility, clerk, outsider, alice, bob = await _world(client, session)
    registration = {"name": "李雷", "org_unit_id": tree.community_a1.id, "skills": "摄影"}
    refused = await client.put("/api/v1/volunteers/me", json=registration | {"consent": False}, headers=alice)
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "consent"
    registered = await client.put("/api/v1/volunteers/me", json=registration | {"consent": True}, headers=alice)
    assert registered.status_code == 201, registered.text
    again = registration | {"consent": True, "skills": "摄影、剪辑"}
    updated = await client.put("/api/v1/volunteers/me", json=again, headers=alice)
    assert updated.status_code == 200 and updated.json()["id"] == registered.json()["id"]
    assert (await client.put("/api/v1/volunteers/me", json=again, headers=clerk)).status_code == 403
    volunteer_id = registered.json()["id"]

    today = today_in()
    claim = await client.post(
        "/api/v1/volunteers/me/records", json={"served_on": today.isoformat(), "hours": 3.5}, headers=alice
    )
    assert claim.status_code == 201 and claim.json()["confirmed_at"] is None
    assert (await client.get("/api/v1/volunteers/me", headers=alice)).json()["confirmed_hours"] == 0
    future = await client.post(
        "/api/v1/volunteers/me/records",
        json={"served_on": (today + timedelta(days=3)).isoformat(), "hours": 1},
        headers=alice,
    )
    assert future.status_code == 422 and future.json()["errors"][0]["field"] == "served_on"
    confirm = f"/api/v1/volunteer-records/{claim.json()['id']}/confirm"
    assert (await client.post(confirm, headers=outsider)).status_code == 404
    assert (await client.post(confirm, headers=bob)).status_code == 403
    assert (await client.post(confirm, headers=clerk)).status_code == 200
    assert (await client.post(confirm, headers=clerk)).status_code == 409
    recorded = await client.post(
        f"/api/v1/volunteers/{volunteer_id}/records", json={"served_on": today.isoformat(), "hours": 2}, headers=clerk
    )
    assert recorded.status_code == 201 and recorded.json()["confirmed_at"] is not None
    mine = (await client.get("/api/v1/volunteers/me", headers=alice)).json()
    assert (mine["confirmed_hours"], mine["records"]) == (5.5, 2)
    assert (await client.get(f"/api/v1/volunteers/{volunteer_id}", headers=bob)).status_code == 403
    assert (await client.get(f"/api/v1/volunteers/{volunteer_id}", headers=outsider)).status_code == 404

    figures = dict(
        (
            await session.execute(
                select(DataElement.code + ":" + DataValue.period, DataValue.value)
                .join(DataElement, DataElement.id == DataValue.element_id)
                .where(DataValue.org_unit_id == tree.community_a1.id)
            )
        ).all()
    )
    assert {key: float(value) for key, value in figures.items()} == {
        f"registered_volunteers:{today.year}": 1.0,
        f"volunteer_hours:{today:%Y-%m}": 5.5,
    }
    population = await client.put(
        f"/api/v1/org-units/{tree.community_a1.id}/population/{today.year}", json={"value": 5000}, headers=clerk
    )
    assert population.status_code == 200, population.text
    g41 = [indicator for indicator in catalogue().indicators if indicator.code == "G41"]
    [result] = await live_results(session, root=tree.community_a1, period=str(today.year), indicators=g41)
    assert result.value == pytest.approx(2.0)  # 1 volunteer per 5,000 residents = 2 per 10,000


async def test_feedback_gets_a_reply_from_the_unit(client: AsyncClient, session: AsyncSession) -> None:
    tree, _facility, clerk, outsider, alice, bob = await _world(client, session)
    written = await client.post(
        "/api/v1/feedback", json={"org_unit_id": tree.community_a1.id, "text": "阅览室太冷"}, headers=alice
    )
    assert written.status_code == 201
    url = f"/api/v1/feedback/{written.json()['id']}/reply"
    assert (await client.post(url, json={"reply": "已调整"}, headers=outsider)).status_code == 404
    assert (await client.post(url, json={"reply": "已调整"}, headers=bob)).status_code == 403
    replied = await client.post(url, json={"reply": "已调整空调温度"}, headers=clerk)
    assert replied.status_code == 200 and replied.json()["reply"] == "已调整空调温度"
    assert (await client.get("/api/v1/feedback", headers=alice)).json()["items"][0]["reply"] == "已调整空调温度"
    empty = await client.post(
        "/api/v1/feedback", json={"org_unit_id": tree.community_a1.id, "text": " "}, headers=alice
    )
    assert empty.status_code == 422 and empty.json()["errors"][0]["field"] == "text"


@pytest.mark.postgres
async def test_the_database_itself_refuses_overlapping_active_bookings(
    client: AsyncClient, session: AsyncSession
) -> None:
    from sqlalchemy.exc import IntegrityError

    from shared.bookings.models import Booking, BookingStatus

    _tree, facility, _clerk, _outsider, _alice, _bob = await _world(client, session)
    user = await make_user(session, username="direct", role=Role.citizen)
    start = datetime(2030, 1, 7, 2, tzinfo=UTC)

    def booking(hours: int, status: BookingStatus = BookingStatus.booked) -> Booking:
        return Booking(
            facility_id=facility.id,
            user_id=user.id,
            starts_at=start,
            ends_at=start + timedelta(hours=hours),
            status=status,
        )

    session.add(booking(2))
    await session.flush()
    session.add(booking(1, BookingStatus.cancelled))  # a cancelled booking holds nothing
    await session.flush()
    with pytest.raises(IntegrityError, match="ex_booking_no_overlap"):
        async with session.begin_nested():
            session.add(booking(1))
            await session.flush()
