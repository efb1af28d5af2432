"""The facility registry over HTTP: CRUD, scope, ETags, construction steps against the standard, progress."""

from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml
from httpx import AsyncClient, Response
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.activities.models import Activity, ActivityType
from shared.audit.models import AuditEntry
from shared.auth.models import Role
from shared.clock import today_in
from shared.facilities.models import Facility
from shared.facilities.standard import STANDARD_FILE, StandardError, load_standard
from shared.indicators.catalogue import load_catalogue
from shared.orgunits.models import OrgUnit
from tests.support.factories import Tree, bearer, make_tree, make_user

PROBLEM = "application/problem+json"


async def _admin(session: AsyncSession) -> dict[str, str]:
    return bearer(await make_user(session, username="root", role=Role.admin))


async def _create(client: AsyncClient, auth: dict[str, str], unit: OrgUnit, code: str, **fields: object) -> Response:
    body = {"code": code, "name": f"{unit.name}综合性文化服务中心", "type": "grassroots_centre", "org_unit_id": unit.id}
    return await client.post("/api/v1/facilities", json=body | {"status": "planned"} | fields, headers=auth)


async def _step(client: AsyncClient, auth: dict[str, str], centre: dict, status: str, **extra: object) -> Response:
    return await client.post(
        f"/api/v1/facilities/{centre['id']}/status",
        json={"status": status} | extra,
        headers=auth | {"If-Match": f'"{centre["version"]}"'},
    )


async def _patch(client: AsyncClient, auth: dict[str, str], centre: dict, **fields: object) -> Response:
    return await client.patch(
        f"/api/v1/facilities/{centre['id']}", json=fields, headers=auth | {"If-Match": f'"{centre["version"]}"'}
    )


def _checks(response: Response) -> dict[str, tuple[float, float | None, bool]]:
    return {c["field"]: (c["required"], c["actual"], c["met"]) for c in response.json()["standard_check"]}


async def test_register_read_list_and_audit(client: AsyncClient, session: AsyncSession) -> None:
    tree = await make_tree(session)
    auth = await _admin(session)
    station = {
        "code": "ST-410105001000",
        "name": "经八路街道综合文化站",
        "type": "station",
        "org_unit_id": tree.street_a.id,
        "floor_area_m2": 1200.5,
        "weekly_open_hours": 56,
        "staff_established": 3,
        "wifi": True,
        "opened_on": "2016-05-01",
    }
    created = await client.post("/api/v1/facilities", json=station, headers=auth)
    assert created.status_code == 201, created.text
    assert created.headers["etag"] == '"1"'
    body = created.json()
    assert (body["status"], body["floor_area_m2"], body["standard_check"], body["overdue"]) == (
        "open",
        1200.5,
        None,
        False,
    )
    await _create(client, auth, tree.community_a1, "GC-A1", due_on="2017-06-30", pilot=True)
    await _create(client, auth, tree.village_b1, "GC-B1", due_on=str(today_in() + timedelta(days=30)))
    fetched = await client.get(f"/api/v1/facilities/{body['id']}", headers=auth)
    assert fetched.json()["name"] == "经八路街道综合文化站" and fetched.headers["etag"] == '"1"'

    async def codes(**params: object) -> list[str]:
        response = await client.get("/api/v1/facilities", params=params, headers=auth)
        assert response.status_code == 200, response.text
        return [item["code"] for item in response.json()["items"]]

    assert await codes(type="grassroots_centre") == ["GC-A1", "GC-B1"]
    assert await codes(status="open") == ["ST-410105001000"]
    assert await codes(within=tree.street_a.id) == ["ST-410105001000", "GC-A1"]
    assert await codes(overdue="true") == ["GC-A1"]
    assert await codes(pilot="true") == ["GC-A1"]
    assert await codes(q="综合文化站") == ["ST-410105001000"]
    assert await codes(q="GC-B1") == ["GC-B1"]
    first = (await client.get("/api/v1/facilities", params={"limit": 2}, headers=auth)).json()
    rest = (await client.get("/api/v1/facilities", params={"cursor": first["next_cursor"]}, headers=auth)).json()
    assert [i["code"] for i in first["items"] + rest["items"]] == ["ST-410105001000", "GC-A1", "GC-B1"]
    assert rest["next_cursor"] is None
    assert (await client.get("/api/v1/facilities", params={"cursor": "junk"}, headers=auth)).status_code == 422
    entries = await session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.entity == "facility"))
    assert entries == 3


async def test_bad_input_is_a_4xx_naming_the_field(client: AsyncClient, session: AsyncSession) -> None:
    tree = await make_tree(session)
    auth = await _admin(session)
    base = {"code": "F-1", "name": "书屋", "type": "farm_bookstore", "org_unit_id": tree.village_b1.id}
    cases = [
        ({"floor_area_m2": -1}, 422, "floor_area_m2"),
        ({"weekly_open_hours": 170}, 422, "weekly_open_hours"),
        ({"type": "library"}, 422, "type"),
        ({"org_unit_id": 999999}, 422, "org_unit_id"),
        ({"code": "有 空格"}, 422, "code"),
        ({"opened_on": "2020-01-02", "closed_on": "2020-01-01"}, 422, None),
        ({"type": "grassroots_centre", "org_unit_id": tree.district.id, "status": "planned"}, 422, "org_unit_id"),
    ]
    for change, status_code, field in cases:
        response = await client.post("/api/v1/facilities", json=base | change, headers=auth)
        assert response.status_code == status_code, (change, response.text)
        assert response.headers["content-type"] == PROBLEM
        if field:
            assert field in {e["field"] for e in response.json()["errors"]}, response.json()
    assert (await client.post("/api/v1/facilities", json=base, headers=auth)).status_code == 201
    duplicate = await client.post("/api/v1/facilities", json=base, headers=auth)
    assert duplicate.status_code == 409 and duplicate.json()["errors"] == [{"field": "code", "message": "duplicate"}]
    stored = (await client.get("/api/v1/facilities", headers=auth)).json()["items"][0]
    nulled = await _patch(client, auth, stored, name=None)
    assert nulled.status_code == 422 and "name" in nulled.json()["detail"]
    assert await session.scalar(select(func.count()).select_from(Facility)) == 1


async def _street_centre(client: AsyncClient, auth: dict[str, str], tree: Tree) -> dict:
    created = await _create(client, auth, tree.street_a, "GC-A", due_on="2017-12-31")
    assert created.status_code == 201, created.text
    building = await _step(client, auth, created.json(), "building")
    assert building.status_code == 200, building.text
    return building.json()


async def test_a_centre_cannot_open_without_its_measured_values(client: AsyncClient, session: AsyncSession) -> None:
    tree = await make_tree(session)
    auth = await _admin(session)
    centre = await _street_centre(client, auth, tree)
    refused = await _step(client, auth, centre, "open")
    assert refused.status_code == 422
    errors = {e["field"]: e["required"] for e in refused.json()["errors"]}
    assert errors == {"floor_area_m2": 300, "outdoor_area_m2": 1000, "staff_established": 2}
    assert all("≥" in e["message"] for e in refused.json()["errors"])
    stored = (await client.get(f"/api/v1/facilities/{centre['id']}", headers=auth)).json()
    assert (stored["status"], stored["opened_on"], stored["version"]) == ("building", None, centre["version"])
    assert {c["field"]: c["met"] for c in stored["standard_check"]} == dict.fromkeys(errors, False)


async def test_a_centre_below_standard_opens_and_shows_its_shortfalls(
    client: AsyncClient, session: AsyncSession
) -> None:
    tree = await make_tree(session)
    auth = await _admin(session)
    centre = await _street_centre(client, auth, tree)
    measured = await _patch(client, auth, centre, floor_area_m2=250, outdoor_area_m2=1200, staff_established=2)
    assert measured.status_code == 200, measured.text
    opened = await _step(client, auth, measured.json(), "open")
    assert opened.status_code == 200, opened.text
    assert (opened.json()["status"], opened.json()["opened_on"]) == ("open", today_in().isoformat())
    assert _checks(opened) == {
        "floor_area_m2": (300, 250, False),
        "outdoor_area_m2": (1000, 1200, True),
        "staff_established": (2, 2, True),
    }
    assert opened.json()["overdue"] is False
    cleared = await _patch(client, auth, opened.json(), floor_area_m2=None)
    assert cleared.status_code == 422 and cleared.json()["errors"][0]["field"] == "floor_area_m2"
    fixed = await _patch(client, auth, opened.json(), floor_area_m2=320)
    assert all(met for _required, _actual, met in _checks(fixed).values())


async def test_community_and_village_centres_meet_their_own_columns(client: AsyncClient, session: AsyncSession) -> None:
    tree = await make_tree(session)
    auth = await _admin(session)
    measured = {"floor_area_m2": 100, "outdoor_area_m2": 1000, "status": "open", "opened_on": "2017-06-28"}
    community = await _create(client, auth, tree.community_a1, "GC-A1", **measured, staff_purchased=1)
    assert community.status_code == 201, community.text
    assert _checks(community) == {
        "floor_area_m2": (100, 100, True),
        "outdoor_area_m2": (1000, 1000, True),
        "staff_established + staff_purchased": (1, 1, True),
    }
    village = await _create(client, auth, tree.village_b1, "GC-B1", **measured, staff_established=1, staff_purchased=0)
    assert village.status_code == 201, village.text
    assert _checks(village)["staff_purchased"] == (1, 0, False)
    missing = await _create(client, auth, tree.village_b1, "GC-B2", floor_area_m2=120, status="open")
    assert missing.status_code == 422
    assert {e["field"] for e in missing.json()["errors"]} == {"outdoor_area_m2", "staff_purchased"}


async def test_illegal_steps_are_refused_and_change_nothing(client: AsyncClient, session: AsyncSession) -> None:
    tree = await make_tree(session)
    auth = await _admin(session)
    planned = (await _create(client, auth, tree.community_a2, "GC-A2")).json()
    skip = await _step(client, auth, planned, "open")
    assert skip.status_code == 409 and skip.json()["errors"][0]["field"] == "status"
    assert "from planned: building" in skip.json()["detail"]
    centre = await _street_centre(client, auth, tree)
    centre = (await _patch(client, auth, centre, floor_area_m2=300, outdoor_area_m2=1000, staff_established=2)).json()
    opened = (await _step(client, auth, centre, "open", on="2017-12-20")).json()
    assert opened["opened_on"] == "2017-12-20"
    back = await _step(client, auth, opened, "planned")
    assert back.status_code == 409
    future = await _step(client, auth, opened, "closed", on=str(today_in() + timedelta(days=1)))
    assert future.status_code == 422 and future.json()["errors"][0]["field"] == "on"
    closed = await _step(client, auth, opened, "closed", on="2019-01-31")
    assert closed.status_code == 200 and closed.json()["closed_on"] == "2019-01-31"
    assert (await _step(client, auth, closed.json(), "open")).status_code == 409
    stored = (await client.get(f"/api/v1/facilities/{centre['id']}", headers=auth)).json()
    assert (stored["status"], stored["version"]) == ("closed", closed.json()["version"])


async def test_a_stale_or_missing_if_match_is_refused(client: AsyncClient, session: AsyncSession) -> None:
    tree = await make_tree(session)
    auth = await _admin(session)
    centre = (await _create(client, auth, tree.community_a1, "GC-A1")).json()
    assert (await _patch(client, auth, centre, name="四月天社区文化中心")).status_code == 200
    stale_patch = await _patch(client, auth, centre, name="lost update")
    assert stale_patch.status_code == 412 and stale_patch.headers["content-type"] == PROBLEM
    stale_step = await _step(client, auth, centre, "building")
    assert stale_step.status_code == 412
    no_etag = await client.post(f"/api/v1/facilities/{centre['id']}/status", json={"status": "building"}, headers=auth)
    assert no_etag.status_code == 428
    stored = (await client.get(f"/api/v1/facilities/{centre['id']}", headers=auth)).json()
    assert (stored["name"], stored["status"], stored["version"]) == ("四月天社区文化中心", "planned", 2)


async def test_a_street_clerk_stays_inside_the_street(client: AsyncClient, session: AsyncSession) -> None:
    tree = await make_tree(session)
    admin = await _admin(session)
    clerk = bearer(await make_user(session, username="clerk", role=Role.unit_clerk, unit=tree.street_a))
    other = (await _create(client, admin, tree.village_b1, "GC-B1")).json()
    assert (await _create(client, clerk, tree.village_b1, "GC-B2")).status_code == 403
    assert (await _create(client, clerk, tree.community_a1, "GC-A1")).status_code == 201
    assert (await client.get(f"/api/v1/facilities/{other['id']}", headers=clerk)).status_code == 404
    assert (await _patch(client, clerk, other, name="x")).status_code == 404
    assert (await _step(client, clerk, other, "building")).status_code == 404
    assert (await client.delete(f"/api/v1/facilities/{other['id']}", headers=clerk)).status_code == 404
    listed = (await client.get("/api/v1/facilities", headers=clerk)).json()["items"]
    assert [item["code"] for item in listed] == ["GC-A1"]
    assert (await client.get(f"/api/v1/org-units/{tree.street_b.id}/construction", headers=clerk)).status_code == 404
    export = await client.get("/api/v1/facilities/export", params={"within": tree.street_b.id}, headers=clerk)
    assert export.status_code == 404
    own = await client.get("/api/v1/facilities/export", params={"format": "csv"}, headers=clerk)
    assert own.status_code == 200 and "GC-A1" in own.text and "GC-B1" not in own.text
    mine = (await client.get("/api/v1/facilities", headers=clerk)).json()["items"][0]
    moved = await _patch(client, clerk, mine, org_unit_id=tree.village_b1.id)
    assert moved.status_code == 403
    viewer = bearer(await make_user(session, username="viewer", role=Role.viewer, unit=tree.district))
    assert (await client.get(f"/api/v1/facilities/{other['id']}", headers=viewer)).status_code == 200
    assert (await _create(client, viewer, tree.village_b1, "GC-B3")).status_code == 403


async def test_construction_summary_counts_by_status_and_level(client: AsyncClient, session: AsyncSession) -> None:
    tree = await make_tree(session)
    auth = await _admin(session)
    late = str(today_in() - timedelta(days=10))
    soon = str(today_in() + timedelta(days=10))
    await _create(client, auth, tree.street_a, "GC-A", due_on=late, pilot=True)
    await _create(client, auth, tree.community_a1, "GC-A1", due_on=soon)
    building = (await _create(client, auth, tree.community_a2, "GC-A2", due_on=late)).json()
    await _step(client, auth, building, "building")
    measured = {"floor_area_m2": 150, "outdoor_area_m2": 900, "staff_purchased": 1, "opened_on": "2017-05-01"}
    await _create(client, auth, tree.village_b1, "GC-B1", status="open", due_on=late, **measured)
    await client.post(
        "/api/v1/facilities",
        json={"code": "ST-A", "name": "文化站", "type": "station", "org_unit_id": tree.street_a.id},
        headers=auth,
    )
    summary = await client.get(f"/api/v1/org-units/{tree.district.id}/construction", headers=auth)
    assert summary.status_code == 200, summary.text
    body = summary.json()
    assert (body["total"], body["as_of"]) == (4, today_in().isoformat())
    assert body["by_status"] == {"planned": 2, "building": 1, "open": 1, "closed": 0}
    levels = {row["level"]: row for row in body["by_level"]}
    assert {k: (v["total"], v["planned"], v["building"], v["open"], v["overdue"]) for k, v in levels.items()} == {
        "street": (1, 1, 0, 0, 1),
        "community": (2, 1, 1, 0, 1),
        "village": (1, 0, 0, 1, 0),
    }
    assert [(o["code"], o["status"], o["days_late"]) for o in body["overdue"]] == [
        ("GC-A", "planned", 10),
        ("GC-A2", "building", 10),
    ]
    street_b = (await client.get(f"/api/v1/org-units/{tree.street_b.id}/construction", headers=auth)).json()
    assert (street_b["total"], street_b["overdue"]) == (1, [])
    stations = await client.get(
        f"/api/v1/org-units/{tree.district.id}/construction", params={"type": "station"}, headers=auth
    )
    assert stations.json()["by_status"]["open"] == 1 and stations.json()["by_level"][0]["total"] == 1


async def test_delete_refuses_a_facility_in_use(client: AsyncClient, session: AsyncSession) -> None:
    tree = await make_tree(session)
    auth = await _admin(session)
    used = (await _create(client, auth, tree.village_b1, "GC-B1")).json()
    spare = (await _create(client, auth, tree.community_a1, "GC-A1")).json()
    session.add(
        Activity(
            type=ActivityType.film_screening,
            org_unit_id=tree.village_b1.id,
            facility_id=used["id"],
            occurred_on=date(2019, 5, 1),
        )
    )
    await session.flush()
    refused = await client.delete(f"/api/v1/facilities/{used['id']}", headers=auth)
    assert refused.status_code == 409 and "close it" in refused.json()["detail"]
    assert (await client.delete(f"/api/v1/facilities/{spare['id']}", headers=auth)).status_code == 204
    assert (await client.get(f"/api/v1/facilities/{spare['id']}", headers=auth)).status_code == 404
    assert (await client.get(f"/api/v1/facilities/{used['id']}", headers=auth)).status_code == 200


def test_the_standard_file_holds_the_seed_numbers_and_the_catalogue_still_loads() -> None:
    standard = load_standard()
    street, community, village = (standard.levels[level] for level in ("street", "community", "village"))
    assert (street.floor_area.min_m2, community.floor_area.min_m2, village.floor_area.min_m2) == (300, 100, 100)
    assert {level.outdoor_area.min_m2 for level in (street, community, village)} == {1000}
    assert (street.funding.min_yuan_per_year, village.funding.min_yuan_per_year) == (20000, 3000)
    assert (street.staff.established_min, community.staff.full_time_min, village.staff.purchased_min) == (2, 1, 1)
    assert "共享工程活动室" in street.rooms.required and "数字资源室" in village.rooms.required
    assert [a.min_per_year for a in street.activities] == [1, 3, 5]
    assert standard.level_for("town") == ("street", street)
    assert [ind.code for ind in load_catalogue().indicators][:2] == ["K01", "K02"]


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (lambda d: d["levels"]["street"].update(lift=True), "levels.street.lift"),
        (lambda d: d["levels"]["village"]["floor_area"].update(min_m2="多"), "levels.village.floor_area.min_m2"),
        (lambda d: d["levels"].pop("community"), "levels must be exactly"),
        (lambda d: d["levels"]["community"].update(unit_kinds=["village"]), "two levels"),
    ],
)
def test_a_broken_standard_file_is_refused_at_load(tmp_path: Path, change, complaint: str) -> None:
    data = yaml.safe_load(STANDARD_FILE.read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / "grassroots_centre_standard.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(StandardError, match=complaint):
        load_standard(path)
