"""Activities over HTTP: recording one or a batch, the domestic-film flag, refusals that write nothing, scope,
listing, deleting, and the summary of a subtree by type and month."""

from datetime import timedelta
from typing import Any

from httpx import AsyncClient, Response
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.activities.models import Activity
from shared.audit.models import AuditEntry
from shared.auth.models import Role
from shared.clock import today_in
from shared.facilities.models import Facility, FacilityType
from shared.orgunits.models import OrgUnit
from tests.support.factories import bearer, make_tree, make_user

PROBLEM = "application/problem+json"


async def _facility(session: AsyncSession, *, code: str, unit: OrgUnit) -> Facility:
    facility = Facility(
        code=code, name=f"{unit.name}文化服务中心", type=FacilityType.grassroots_centre, org_unit_id=unit.id
    )
    session.add(facility)
    await session.flush()
    return facility


async def _user(session: AsyncSession, role: Role, unit: OrgUnit | None = None, name: str = "") -> dict[str, str]:
    return bearer(await make_user(session, username=name or role.value, role=role, unit=unit))


async def _count(session: AsyncSession, model: Any = Activity, *where: Any) -> int:
    return await session.scalar(select(func.count()).select_from(model).where(*where)) or 0


async def _batch(client: AsyncClient, auth: dict[str, str], items: list[Any]) -> Response:
    return await client.post("/api/v1/activities/batch", json={"activities": items}, headers=auth)


def _screening(unit: OrgUnit, day: str, **fields: Any) -> dict[str, Any]:
    return {"type": "film_screening", "org_unit_id": unit.id, "occurred_on": day, "attendance": 40} | fields


async def test_record_read_list_and_delete(client: AsyncClient, session: AsyncSession) -> None:
    tree = await make_tree(session)
    centre = await _facility(session, code="GC-410105002001", unit=tree.village_b1)
    auth = await _user(session, Role.unit_clerk, tree.district, "clerk")
    screening = {
        "type": "film_screening",
        "org_unit_code": "410105002001",
        "facility_code": "GC-410105002001",
        "occurred_on": "2019-03-08",
        "attendance": 85,
        "domestic_new_film": True,
        "title": "《流浪地球》公益放映",
    }
    created = await client.post("/api/v1/activities", json=screening, headers=auth)
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["org_unit_id"], body["facility_id"], body["provider"], body["domestic_new_film"]) == (
        tree.village_b1.id,
        centre.id,
        "government",
        True,
    )
    assert created.headers["etag"] == '"1"'
    older = await client.post(
        "/api/v1/activities", json=_screening(tree.village_b1, "2019-03-15", domestic_new_film=False), headers=auth
    )
    show = {
        "type": "performance",
        "org_unit_id": tree.street_a.id,
        "occurred_on": "2019-05-01",
        "provider": "volunteer",
    }
    performance = await client.post("/api/v1/activities", json=show, headers=auth)
    assert performance.json()["domestic_new_film"] is None and performance.json()["attendance"] is None

    fetched = await client.get(f"/api/v1/activities/{body['id']}", headers=auth)
    assert fetched.status_code == 200 and fetched.json() == body
    again = await client.get(f"/api/v1/activities/{older.json()['id']}", headers=auth)
    assert again.json()["domestic_new_film"] is False

    async def listed(**params: Any) -> list[int]:
        page = await client.get("/api/v1/activities", params=params, headers=auth)
        assert page.status_code == 200, page.text
        return [item["id"] for item in page.json()["items"]]

    all_ids = [body["id"], older.json()["id"], performance.json()["id"]]
    assert await listed() == all_ids
    assert await listed(type="film_screening", within=tree.street_b.id) == all_ids[:2]
    assert await listed(provider="volunteer") == all_ids[2:]
    assert await listed(facility_id=centre.id) == all_ids[:1]
    assert await listed(**{"from": "2019-03-10", "to": "2019-04-30"}) == all_ids[1:2]
    first = await client.get("/api/v1/activities", params={"limit": 2}, headers=auth)
    rest = await client.get(
        "/api/v1/activities", params={"limit": 2, "cursor": first.json()["next_cursor"]}, headers=auth
    )
    assert [item["id"] for item in rest.json()["items"]] == all_ids[2:] and rest.json()["next_cursor"] is None
    backwards = await client.get("/api/v1/activities", params={"from": "2019-05-01", "to": "2019-01-01"}, headers=auth)
    assert backwards.status_code == 422 and backwards.json()["errors"][0]["field"] == "to"

    deleted = await client.delete(f"/api/v1/activities/{body['id']}", headers=auth)
    assert deleted.status_code == 204
    assert (await client.get(f"/api/v1/activities/{body['id']}", headers=auth)).status_code == 404
    entries = (
        await session.execute(
            select(AuditEntry.action, AuditEntry.username, AuditEntry.before, AuditEntry.after)
            .where(AuditEntry.entity == "activity", AuditEntry.entity_id == str(body["id"]))
            .order_by(AuditEntry.id)
        )
    ).all()
    assert [(action, user) for action, user, _before, _after in entries] == [("create", "clerk"), ("delete", "clerk")]
    assert entries[0].after["domestic_new_film"] is True and entries[1].before["attendance"] == 85
    assert entries[1].after is None


async def test_a_batch_with_every_kind_of_bad_item_lists_all_and_writes_nothing(
    client: AsyncClient, session: AsyncSession
) -> None:
    tree = await make_tree(session)
    await _facility(session, code="GC-A2", unit=tree.community_a2)
    auth = await _user(session, Role.plan_manager, tree.district)
    tomorrow = str(today_in() + timedelta(days=1))
    good = _screening(tree.village_b1, "2019-01-05")
    items: list[Any] = [
        good,
        good | {"type": "dance_party"},
        {**{k: v for k, v in good.items() if k != "org_unit_id"}, "org_unit_code": "999999"},
        good | {"facility_code": "NO-SUCH"},
        good | {"facility_code": "GC-A2"},
        {
            "type": "performance",
            "org_unit_id": tree.village_b1.id,
            "occurred_on": "2019-01-05",
            "domestic_new_film": False,
        },
        good | {"attendance": -3},
        good | {"attendance": 12.5},
        good | {"occurred_on": tomorrow},
        good | {"occurred_on": "1948-12-31"},
        {"type": "lecture", "occurred_on": "2019-01-05"},
        good | {"audience": 40},
        "a screening on Friday",
        good | {"org_unit_id": 987654},
        good | {"org_unit_code": "410105001001"},
        good | {"provider": "company"},
        good | {"attendance": True},
    ]
    refused = await _batch(client, auth, items)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == PROBLEM
    problems = [(error["row"], error["field"]) for error in refused.json()["errors"]]
    assert problems == [
        (1, "type"),
        (2, "org_unit_code"),
        (3, "facility_code"),
        (4, "facility_code"),
        (5, "domestic_new_film"),
        (6, "attendance"),
        (7, "attendance"),
        (8, "occurred_on"),
        (9, "occurred_on"),
        (10, "org_unit_code"),
        (11, "audience"),
        (12, None),
        (13, "org_unit_id"),
        (14, "org_unit_code"),
        (15, "provider"),
        (16, "attendance"),
    ]
    messages = {error["row"]: error["message"] for error in refused.json()["errors"]}
    assert "999999" in messages[2] and "NO-SUCH" in messages[3] and "GC-A2" in messages[4]
    assert "future" in messages[8]
    assert await _count(session) == 0
    assert await _count(session, AuditEntry, AuditEntry.entity == "activity") == 0

    created = await _batch(client, auth, [good, good | {"occurred_on": "2019-02-01", "domestic_new_film": True}])
    assert created.status_code == 201, created.text
    assert created.json()["created"] == 2
    days = [
        (await client.get(f"/api/v1/activities/{activity_id}", headers=auth)).json()["occurred_on"]
        for activity_id in created.json()["ids"]
    ]
    assert days == ["2019-01-05", "2019-02-01"]
    assert await _count(session, AuditEntry, AuditEntry.entity == "activity") == 2
    too_many = await _batch(client, auth, [good] * 5001)
    assert too_many.status_code == 422 and too_many.json()["errors"][0]["field"] == "activities"
    assert await _count(session) == 2


async def test_a_facility_of_another_unit_is_refused(client: AsyncClient, session: AsyncSession) -> None:
    tree = await make_tree(session)
    village_centre = await _facility(session, code="GC-B1", unit=tree.village_b1)
    auth = await _user(session, Role.admin)
    elsewhere = _screening(tree.community_a1, "2019-01-05", facility_id=village_centre.id)
    refused = await client.post("/api/v1/activities", json=elsewhere, headers=auth)
    assert refused.status_code == 422 and refused.headers["content-type"] == PROBLEM
    assert refused.json()["errors"] == [
        {"field": "facility_id", "message": "facility GC-B1 is neither at org unit 410105001001 nor inside its subtree"}
    ]
    assert await _count(session) == 0
    at_street = await client.post(
        "/api/v1/activities", json=_screening(tree.street_b, "2019-01-05", facility_id=village_centre.id), headers=auth
    )
    assert at_street.status_code == 201, at_street.text
    assert (at_street.json()["org_unit_id"], at_street.json()["facility_id"]) == (tree.street_b.id, village_centre.id)


async def test_the_domestic_film_flag_belongs_to_screenings_only(client: AsyncClient, session: AsyncSession) -> None:
    tree = await make_tree(session)
    auth = await _user(session, Role.admin)
    lecture = {"type": "lecture", "org_unit_id": tree.village_b1.id, "occurred_on": "2019-01-05"}
    refused = await client.post("/api/v1/activities", json=lecture | {"domestic_new_film": True}, headers=auth)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "domestic_new_film"
    unknown = await client.post("/api/v1/activities", json=_screening(tree.village_b1, "2019-01-05"), headers=auth)
    assert unknown.status_code == 201 and unknown.json()["domestic_new_film"] is None
    assert await _count(session) == 1


async def test_scope_limits_what_a_clerk_records_and_sees(client: AsyncClient, session: AsyncSession) -> None:
    tree = await make_tree(session)
    admin = await _user(session, Role.admin)
    clerk = await _user(session, Role.unit_clerk, tree.street_a, "clerk_a")
    viewer = await _user(session, Role.viewer, tree.district, "viewer")
    theirs = await client.post("/api/v1/activities", json=_screening(tree.village_b1, "2019-01-05"), headers=admin)
    theirs_id = theirs.json()["id"]

    outside = await client.post("/api/v1/activities", json=_screening(tree.village_b1, "2019-01-06"), headers=clerk)
    assert outside.status_code == 403 and outside.headers["content-type"] == PROBLEM
    assert outside.json()["errors"][0]["field"] == "org_unit_id"
    mixed = await _batch(
        client,
        clerk,
        [_screening(tree.community_a1, "2019-01-06"), _screening(tree.village_b1, "2019-01-06"), {"type": "x"}],
    )
    assert mixed.status_code == 403
    assert [(e["row"], e["field"]) for e in mixed.json()["errors"]][:1] == [(1, "org_unit_id")]
    assert {e["row"] for e in mixed.json()["errors"]} == {1, 2}
    read_only = await client.post("/api/v1/activities", json=_screening(tree.street_a, "2019-01-06"), headers=viewer)
    assert read_only.status_code == 403
    assert await _count(session) == 1

    mine = await client.post("/api/v1/activities", json=_screening(tree.community_a1, "2019-01-06"), headers=clerk)
    assert mine.status_code == 201, mine.text
    listed = await client.get("/api/v1/activities", headers=clerk)
    assert [item["id"] for item in listed.json()["items"]] == [mine.json()["id"]]
    assert (await client.get(f"/api/v1/activities/{theirs_id}", headers=clerk)).status_code == 404
    assert (await client.delete(f"/api/v1/activities/{theirs_id}", headers=clerk)).status_code == 404
    assert (
        await client.get("/api/v1/activities", params={"within": tree.street_b.id}, headers=clerk)
    ).status_code == 404
    summary = await client.get(
        f"/api/v1/org-units/{tree.street_b.id}/activities/summary", params={"period": "2019"}, headers=clerk
    )
    assert summary.status_code == 404
    assert (await client.delete(f"/api/v1/activities/{mine.json()['id']}", headers=viewer)).status_code == 403
    assert (await client.get(f"/api/v1/activities/{mine.json()['id']}", headers=viewer)).status_code == 200
    assert await _count(session) == 2


async def test_the_summary_counts_screenings_per_month_for_a_village_and_its_street(
    client: AsyncClient, session: AsyncSession
) -> None:
    tree = await make_tree(session)
    auth = await _user(session, Role.admin)
    village, street = tree.village_b1, tree.street_b
    items = [
        _screening(village, "2019-01-05", attendance=50, domestic_new_film=True),
        _screening(village, "2019-01-19", attendance=30, domestic_new_film=False),
        _screening(village, "2019-02-14", attendance=None),
        _screening(street, "2019-03-02", attendance=120, domestic_new_film=True),
        {"type": "performance", "org_unit_id": street.id, "occurred_on": "2019-03-20", "attendance": 300},
        _screening(tree.community_a1, "2019-02-01"),
        _screening(village, "2018-12-31"),
        _screening(village, "2019-04-01"),
    ]
    assert (await _batch(client, auth, items)).status_code == 201

    async def summary(unit: OrgUnit, period: str) -> dict[str, Any]:
        response = await client.get(
            f"/api/v1/org-units/{unit.id}/activities/summary", params={"period": period}, headers=auth
        )
        assert response.status_code == 200, response.text
        return response.json()

    at_village = await summary(village, "2019Q1")
    assert [(m["month"], m["by_type"], m["count"], m["attendance"]) for m in at_village["by_month"]] == [
        ("2019-01", {"film_screening": 2}, 2, 80),
        ("2019-02", {"film_screening": 1}, 1, 0),
        ("2019-03", {}, 0, 0),
    ]
    assert at_village["total"] == {"count": 3, "attendance": 80, "domestic_new_films": 1}
    assert (at_village["start"], at_village["end"]) == ("2019-01-01", "2019-03-31")

    at_street = await summary(street, "2019Q1")
    assert [(m["month"], m["by_type"]) for m in at_street["by_month"]] == [
        ("2019-01", {"film_screening": 2}),
        ("2019-02", {"film_screening": 1}),
        ("2019-03", {"film_screening": 1, "performance": 1}),
    ]
    by_type = {
        entry["type"]: (entry["count"], entry["attendance"], entry["domestic_new_films"])
        for entry in at_street["by_type"]
    }
    assert by_type["film_screening"] == (4, 200, 2)
    assert by_type["performance"] == (1, 300, 0)
    assert by_type["lecture"] == (0, 0, 0) and len(by_type) == 8
    assert at_street["total"] == {"count": 5, "attendance": 500, "domestic_new_films": 2}

    year = await summary(tree.district, "2019")
    assert len(year["by_month"]) == 12 and year["total"]["count"] == 7
    february = await summary(tree.district, "2019-02")
    assert [(m["month"], m["count"]) for m in february["by_month"]] == [("2019-02", 2)]
    bad = await client.get(
        f"/api/v1/org-units/{street.id}/activities/summary", params={"period": "2019-13"}, headers=auth
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "period"
