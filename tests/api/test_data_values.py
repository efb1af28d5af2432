"""Data elements and data values over HTTP: batch upserts, subtree sums, refusals that write nothing, history."""

from itertools import product
from typing import Any

from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.audit.models import AuditEntry
from shared.auth.models import Role
from shared.facilities.models import Facility, FacilityType
from shared.orgunits.models import OrgUnit
from shared.statistics.models import DataValue
from tests.support.factories import Tree, bearer, make_tree, make_user

PROBLEM = "application/problem+json"


async def make_facility(session: AsyncSession, *, code: str, unit: OrgUnit) -> Facility:
    """A library room at a unit."""
    facility = Facility(code=code, name=f"{unit.name}图书室", type=FacilityType.public_library, org_unit_id=unit.id)
    session.add(facility)
    await session.flush()
    return facility


async def _clerk(session: AsyncSession, *, unit: OrgUnit | None = None, username: str = "clerk") -> dict[str, str]:
    return bearer(await make_user(session, username=username, role=Role.unit_clerk, unit=unit))


async def _put(client: AsyncClient, auth: dict[str, str], values: list[dict[str, Any]]) -> Any:
    return await client.put("/api/v1/data-values", json={"values": values}, headers=auth)


async def _stored_count(session: AsyncSession) -> int:
    return await session.scalar(select(func.count()).select_from(DataValue)) or 0


async def _figure(client: AsyncClient, auth: dict[str, str], unit: OrgUnit, element: str, period: str) -> Any:
    response = await client.get(f"/api/v1/org-units/{unit.id}/data-values/{element}?period={period}", headers=auth)
    assert response.status_code == 200, response.text
    return response.json()


async def test_elements_come_from_the_catalogue(client: AsyncClient, session: AsyncSession) -> None:
    auth = await _clerk(session)
    response = await client.get("/api/v1/data-elements", headers=auth)
    assert response.status_code == 200, response.text
    elements = {element["code"]: element for element in response.json()}
    assert elements["population"] | {"id": 0} == {
        "id": 0,
        "code": "population",
        "name": "常住人口",
        "unit": "人",
        "value_type": "integer",
        "aggregation": "sum",
        "period_types": ["year"],
    }
    assert elements["loans"]["period_types"] == ["year", "quarter", "month"]
    assert elements["culture_spending"]["value_type"] == "number"
    again = await client.get("/api/v1/data-elements", headers=auth)
    assert [e["id"] for e in again.json()] == [e["id"] for e in response.json()]


async def test_batch_creates_then_updates_and_keeps_the_history(client: AsyncClient, session: AsyncSession) -> None:
    tree = await make_tree(session)
    await make_facility(session, code="LIB-A1", unit=tree.community_a1)
    auth = await _clerk(session, unit=tree.district)
    first = [
        {"element": "population", "org_unit_id": tree.community_a1.id, "period": "2019", "value": 12000},
        {"element": "population", "org_unit_code": "410105001002", "period": "2019", "value": 8000},
        {
            "element": "book_holdings",
            "org_unit_code": "410105001001",
            "facility_code": "LIB-A1",
            "period": "2019",
            "value": 3000,
        },
        {"element": "loans", "org_unit_id": tree.village_b1.id, "period": "2019-03", "value": "410"},
        {"element": "culture_spending", "org_unit_id": tree.district.id, "period": "2019", "value": 1250000.75},
    ]
    created = await _put(client, auth, first)
    assert created.status_code == 200, created.text
    assert created.json() == {"created": 5, "updated": 0, "unchanged": 0}

    second = [
        first[0] | {"value": 12500},
        first[1],
        first[2] | {"value": 3200},
        first[3],
        first[4] | {"value": 1250000.5},
    ]
    updated = await _put(client, auth, second)
    assert updated.json() == {"created": 0, "updated": 3, "unchanged": 2}
    assert await _stored_count(session) == 5

    listed = await client.get(
        "/api/v1/data-values", params={"element": "population", "within": tree.street_a.id}, headers=auth
    )
    assert {(item["org_unit_id"], item["value"], item["version"]) for item in listed.json()["items"]} == {
        (tree.community_a1.id, 12500, 2),
        (tree.community_a2.id, 8000, 1),
    }
    spending = await _figure(client, auth, tree.district, "culture_spending", "2019")
    assert spending["entered"] == 1250000.5

    history = await client.get(
        "/api/v1/data-values/history",
        params={"element": "population", "org_unit_id": tree.community_a1.id, "period": "2019"},
        headers=auth,
    )
    assert history.status_code == 200, history.text
    changes = history.json()["items"]
    assert [(c["action"], c["before"], c["after"], c["username"]) for c in changes] == [
        ("update", 12000, 12500, "clerk"),
        ("create", None, 12000, "clerk"),
    ]
    facility_id = (await session.scalar(select(Facility.id).where(Facility.code == "LIB-A1"))) or 0
    facility_history = await client.get(
        "/api/v1/data-values/history",
        params={"element": "book_holdings", "facility_id": facility_id, "period": "2019"},
        headers=auth,
    )
    assert [(c["before"], c["after"]) for c in facility_history.json()["items"]] == [(3000, 3200), (None, 3000)]
    unchanged = await client.get(
        "/api/v1/data-values/history",
        params={"element": "population", "org_unit_id": tree.community_a2.id, "period": "2019"},
        headers=auth,
    )
    assert len(unchanged.json()["items"]) == 1
    audited = await session.scalar(select(func.count()).where(AuditEntry.entity == "data_value"))
    assert audited == 8


async def test_subtree_sums_include_facility_figures(client: AsyncClient, session: AsyncSession) -> None:
    tree = await make_tree(session)
    await make_facility(session, code="LIB-A1", unit=tree.community_a1)
    await make_facility(session, code="LIB-B1", unit=tree.village_b1)
    auth = await _clerk(session, unit=tree.city)
    response = await _put(
        client,
        auth,
        [
            {"element": "book_holdings", "org_unit_id": tree.street_a.id, "period": "2019", "value": 1000},
            {"element": "book_holdings", "org_unit_id": tree.community_a1.id, "period": "2019", "value": 500},
            {
                "element": "book_holdings",
                "org_unit_id": tree.community_a1.id,
                "facility_code": "LIB-A1",
                "period": "2019",
                "value": 3000,
            },
            # Named with its street, the village's library is still stored at the village.
            {
                "element": "book_holdings",
                "org_unit_id": tree.street_b.id,
                "facility_code": "LIB-B1",
                "period": "2019",
                "value": 700,
            },
            {"element": "book_holdings", "org_unit_id": tree.other_district.id, "period": "2019", "value": 9},
            {"element": "book_holdings", "org_unit_id": tree.street_a.id, "period": "2020", "value": 99},
        ],
    )
    assert response.status_code == 200, response.text
    assert await _figure(client, auth, tree.street_a, "book_holdings", "2019") == {
        "org_unit_id": tree.street_a.id,
        "element": "book_holdings",
        "period": "2019",
        "entered": 1000,
        "subtree_total": 4500,
    }
    community = await _figure(client, auth, tree.community_a1, "book_holdings", "2019")
    assert (community["entered"], community["subtree_total"]) == (500, 3500)
    village = await _figure(client, auth, tree.village_b1, "book_holdings", "2019")
    assert (village["entered"], village["subtree_total"]) == (None, 700)
    district = await _figure(client, auth, tree.district, "book_holdings", "2019")
    assert (district["entered"], district["subtree_total"]) == (None, 5200)
    city = await _figure(client, auth, tree.city, "book_holdings", "2019")
    assert city["subtree_total"] == 5209
    nothing = await _figure(client, auth, tree.district, "population", "2019")
    assert (nothing["entered"], nothing["subtree_total"]) == (None, None)


async def test_every_bad_item_is_named_and_nothing_is_written(client: AsyncClient, session: AsyncSession) -> None:
    tree = await make_tree(session)
    await make_facility(session, code="LIB-A1", unit=tree.community_a1)
    auth = await _clerk(session, unit=tree.district)
    unit = {"org_unit_id": tree.community_a1.id}
    response = await _put(
        client,
        auth,
        [
            {"element": "population", "period": "2019", "value": 100} | unit,
            {"element": "population", "period": "2019", "value": -5, "org_unit_id": tree.community_a2.id},
            {"element": "book_holdings", "period": "2019", "value": "many"} | unit,
            {"element": "book_holdings", "period": "2020", "value": 10.5} | unit,
            {"element": "culture_spending", "period": "2019", "value": "NaN"} | unit,
            {"element": "population", "period": "2019-03", "value": 100} | unit,
            {"element": "loans", "period": "2019Q5", "value": 1} | unit,
            {"element": "stolen_bikes", "period": "2019", "value": 1} | unit,
            {"element": "population", "period": "2019", "value": 1, "org_unit_id": 999999},
            {"element": "book_holdings", "period": "2019", "value": 1, "facility_code": "NO-SUCH"} | unit,
            {"element": "book_holdings", "period": "2019", "value": 1, "facility_code": "LIB-A1"}
            | {"org_unit_id": tree.street_b.id},
            {"element": "population", "period": "2018", "value": 1},
            {"element": "population", "period": "2019", "value": 200} | unit,
            {"element": "population", "period": "2019", "value": None} | unit | {"period": "2017"},
            {"element": "culture_spending", "period": "2019", "value": 1e20} | unit,
        ],
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    errors = response.json()["errors"]
    assert [(e["row"], e["field"]) for e in errors] == [
        (1, "value"),
        (2, "value"),
        (3, "value"),
        (4, "value"),
        (5, "period"),
        (6, "period"),
        (7, "element"),
        (8, "org_unit_id"),
        (9, "facility_code"),
        (10, "facility_code"),
        (11, "org_unit_code"),
        (12, "value"),
        (13, "value"),
        (14, "value"),
    ]
    messages = {e["row"]: e["message"] for e in errors}
    assert "negative" in messages[1]
    assert "fraction" in messages[3]
    assert "per year, not per month" in messages[5]
    assert "stolen_bikes" in messages[7]
    assert "not inside org unit 410105002000" in messages[10]
    assert "row 0" in messages[12]
    assert await _stored_count(session) == 0

    too_many = await _put(client, auth, [{"element": "population", "period": "2019", "value": 1} | unit] * 5001)
    assert too_many.status_code == 422
    assert too_many.json()["errors"][0]["field"] == "values"


async def test_writes_outside_the_scope_are_forbidden(client: AsyncClient, session: AsyncSession) -> None:
    tree = await make_tree(session)
    street_clerk = await _clerk(session, unit=tree.street_a)
    inside = {"element": "population", "org_unit_id": tree.community_a1.id, "period": "2019", "value": 10}
    outside = {"element": "population", "org_unit_code": "410105002001", "period": "2019", "value": 10}
    response = await _put(client, street_clerk, [inside, outside])
    assert response.status_code == 403, response.text
    assert response.json()["errors"] == [
        {"row": 1, "field": "org_unit_code", "message": "org unit 410105002001 lies outside your org-unit scope"}
    ]
    assert await _stored_count(session) == 0

    viewer = bearer(await make_user(session, username="viewer", role=Role.viewer, unit=tree.district))
    assert (await _put(client, viewer, [inside])).status_code == 403
    assert await _stored_count(session) == 0

    assert (await _put(client, street_clerk, [inside])).status_code == 200
    hidden = await client.get(
        f"/api/v1/org-units/{tree.village_b1.id}/data-values/population?period=2019", headers=street_clerk
    )
    assert hidden.status_code == 404
    listed = await client.get("/api/v1/data-values", headers=viewer)
    assert [item["org_unit_id"] for item in listed.json()["items"]] == [tree.community_a1.id]
    other = bearer(await make_user(session, username="other", role=Role.viewer, unit=tree.other_district))
    assert (await client.get("/api/v1/data-values", headers=other)).json()["items"] == []


async def test_periods_must_fit_the_element(client: AsyncClient, session: AsyncSession) -> None:
    tree = await make_tree(session)
    auth = await _clerk(session, unit=tree.district)
    monthly = await _put(
        client,
        auth,
        [
            {"element": "loans", "org_unit_id": tree.village_b1.id, "period": period, "value": 5}
            for period in ("2019", "2019Q1", "2019-03")
        ],
    )
    assert monthly.json() == {"created": 3, "updated": 0, "unchanged": 0}
    yearly = await _put(
        client, auth, [{"element": "population", "org_unit_id": tree.village_b1.id, "period": "2019-03", "value": 5}]
    )
    assert yearly.status_code == 422
    assert yearly.json()["errors"] == [
        {"row": 0, "field": "period", "message": "population is reported per year, not per month (2019-03)"}
    ]
    read = await client.get(
        f"/api/v1/org-units/{tree.village_b1.id}/data-values/population?period=2019Q1", headers=auth
    )
    assert read.status_code == 422
    assert read.json()["errors"][0]["field"] == "period"
    quarter = await _figure(client, auth, tree.street_b, "loans", "2019Q1")
    assert quarter["subtree_total"] == 5


async def test_population_written_as_data_values_shows_in_population(
    client: AsyncClient, session: AsyncSession
) -> None:
    tree = await make_tree(session)
    auth = await _clerk(session, unit=tree.district)
    response = await _put(
        client,
        auth,
        [
            {"element": "population", "org_unit_id": tree.community_a1.id, "period": "2019", "value": 12000},
            {"element": "population", "org_unit_id": tree.street_a.id, "period": "2019", "value": 300},
            {"element": "population", "org_unit_id": tree.village_b1.id, "period": "2019", "value": 5000},
        ],
    )
    assert response.status_code == 200, response.text
    street = (await client.get(f"/api/v1/org-units/{tree.street_a.id}/population/2019", headers=auth)).json()
    assert (street["entered"], street["subtree_total"]) == (300, 12300)
    district = (await client.get(f"/api/v1/org-units/{tree.district.id}/population/2019", headers=auth)).json()
    assert district["subtree_total"] == 17300

    put = await client.put(
        f"/api/v1/org-units/{tree.village_b1.id}/population/2019", json={"value": 5200}, headers=auth
    )
    assert put.status_code == 200, put.text
    history = await client.get(
        "/api/v1/data-values/history",
        params={"element": "population", "org_unit_id": tree.village_b1.id, "period": "2019"},
        headers=auth,
    )
    assert [(c["before"], c["after"]) for c in history.json()["items"]] == [(5000, 5200), (None, 5000)]
    fraction = await client.put(
        f"/api/v1/org-units/{tree.village_b1.id}/population/2019", json={"value": 5200.5}, headers=auth
    )
    assert fraction.status_code == 422


async def test_a_full_batch_of_5000_is_written_in_bulk(client: AsyncClient, session: AsyncSession) -> None:
    tree = await make_tree(session)
    auth = await _clerk(session, unit=tree.district)
    units = [tree.community_a1, tree.community_a2, tree.village_b1, tree.street_a, tree.street_b]
    months = [f"{year}-{month:02d}" for year in range(2000, 2025) for month in range(1, 13)]
    elements = ("loans", "new_books", "library_visits", "volunteer_hours")
    figures = list(product(elements, units, months))[:5000]
    values = [
        {"element": element, "org_unit_id": unit.id, "period": month, "value": index}
        for index, (element, unit, month) in enumerate(figures)
    ]
    first = await _put(client, auth, values)
    assert first.json() == {"created": 5000, "updated": 0, "unchanged": 0}
    changed = [item | {"value": item["value"] + 1} if index % 10 == 0 else item for index, item in enumerate(values)]
    second = await _put(client, auth, changed)
    assert second.json() == {"created": 0, "updated": 500, "unchanged": 4500}
    total = await _figure(client, auth, tree.street_a, "loans", "2000-01")
    assert total["subtree_total"] == sum(
        item["value"]
        for item in changed
        if item["element"] == "loans"
        and item["period"] == "2000-01"
        and item["org_unit_id"] in {tree.community_a1.id, tree.community_a2.id, tree.street_a.id}
    )


async def test_history_needs_a_figure_the_caller_can_see(client: AsyncClient, session: AsyncSession) -> None:
    tree: Tree = await make_tree(session)
    auth = await _clerk(session, unit=tree.street_a)
    params = {"element": "population", "period": "2019"}
    missing_place = await client.get("/api/v1/data-values/history", params=params, headers=auth)
    assert missing_place.status_code == 422
    hidden = await client.get(
        "/api/v1/data-values/history", params=params | {"org_unit_id": tree.village_b1.id}, headers=auth
    )
    assert hidden.status_code == 404
    never = await client.get(
        "/api/v1/data-values/history", params=params | {"org_unit_id": tree.community_a1.id}, headers=auth
    )
    assert never.status_code == 200 and never.json()["items"] == []
