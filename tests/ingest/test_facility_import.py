"""Importing facilities through POST /ingest/v1/imports: the Jinshui construction table, round trips, refusals."""

import io
from datetime import date
from pathlib import Path

import openpyxl
from httpx import AsyncClient, Response
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth.models import Role
from shared.facilities.models import Facility, FacilityStatus, FacilityType
from shared.orgunits.models import OrgUnit, OrgUnitKind
from tests.support.factories import bearer, make_tree, make_user

DEMO = Path(__file__).resolve().parents[2] / "shared" / "demo"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADER = (
    "code,name,type,org_unit_code,floor_area_m2,outdoor_area_m2,weekly_open_hours,"
    "staff_established,staff_purchased,staff_professional,wifi,status,opened_on"
)


async def _import(client: AsyncClient, auth: dict[str, str], kind: str, name: str, content: bytes) -> Response:
    media = XLSX if name.endswith(".xlsx") else "text/csv"
    return await client.post(
        "/ingest/v1/imports", headers=auth, data={"kind": kind}, files={"file": (name, content, media)}
    )


async def _all(client: AsyncClient, auth: dict[str, str], **params: object) -> list[dict]:
    items, cursor = [], None
    while True:
        query = {"limit": 40, **params} | ({"cursor": cursor} if cursor else {})
        page = await client.get("/api/v1/facilities", params=query, headers=auth)
        assert page.status_code == 200, page.text
        items += page.json()["items"]
        if not (cursor := page.json()["next_cursor"]):
            return items


async def _jinshui(client: AsyncClient, session: AsyncSession) -> dict[str, str]:
    auth = bearer(await make_user(session, username="admin", role=Role.admin))
    units = await _import(
        client, auth, "org_units", "jinshui_org_units.csv", (DEMO / "jinshui_org_units.csv").read_bytes()
    )
    assert units.status_code == 201, units.text
    centres = await _import(
        client, auth, "facilities", "jinshui_centres.csv", (DEMO / "jinshui_centres.csv").read_bytes()
    )
    assert centres.status_code == 201, centres.text
    assert centres.json()["created"] == {"created": 105, "updated": 0, "unchanged": 0, "below_standard": 0}
    return auth


async def test_the_jinshui_allocation_table_gives_105_planned_centres(
    client: AsyncClient, session: AsyncSession
) -> None:
    auth = await _jinshui(client, session)
    centres = await _all(client, auth)
    assert len(centres) == 105
    assert {(c["type"], c["status"]) for c in centres} == {("grassroots_centre", "planned")}
    kinds = dict((await session.execute(select(OrgUnit.id, OrgUnit.kind))).all())
    per_kind = {kind: sum(kinds[c["org_unit_id"]] == kind for c in centres) for kind in OrgUnitKind}
    assert (per_kind["street"], per_kind["community"], per_kind["village"]) == (17, 77, 11)
    pilots = sorted((c["code"], c["due_on"]) for c in centres if c["pilot"])
    assert pilots == [
        ("GC-410105001001", "2017-06-30"),
        ("GC-410105002000", "2017-06-30"),
        ("GC-410105005002", "2017-06-30"),
        ("GC-410105008001", "2017-06-30"),
        ("GC-410105009000", "2017-06-30"),
    ]
    assert {c["due_on"] for c in centres if not c["pilot"]} == {"2017-12-31"}
    assert all(c["overdue"] for c in centres)  # 2017 deadlines, still planned
    assert all(c["floor_area_m2"] is None and c["wifi"] is None for c in centres)


async def test_every_jinshui_centre_lies_under_one_of_the_17_streets(
    client: AsyncClient, session: AsyncSession
) -> None:
    auth = await _jinshui(client, session)
    streets = (await session.scalars(select(OrgUnit).where(OrgUnit.kind == OrgUnitKind.street))).all()
    assert len(streets) == 17
    totals = []
    for street in streets:
        summary = (await client.get(f"/api/v1/org-units/{street.id}/construction", headers=auth)).json()
        levels = {row["level"]: row for row in summary["by_level"]}
        assert levels["street"]["total"] == 1, street.name  # each street builds its own street-level centre
        totals.append(summary["total"])
    assert sum(totals) == 105
    district = await session.scalar(select(OrgUnit).where(OrgUnit.code == "410105"))
    summary = (await client.get(f"/api/v1/org-units/{district.id}/construction", headers=auth)).json()
    assert summary["by_status"] == {"planned": 105, "building": 0, "open": 0, "closed": 0}
    assert [(row["level"], row["total"], row["pilots"]) for row in summary["by_level"]] == [
        ("street", 17, 2),
        ("community", 77, 2),
        ("village", 11, 1),
    ]
    assert len(summary["overdue"]) == 105
    assert summary["overdue"][0]["due_on"] == "2017-06-30" and summary["overdue"][0]["pilot"] is True


async def test_importing_the_same_table_again_changes_nothing(client: AsyncClient, session: AsyncSession) -> None:
    auth = await _jinshui(client, session)
    again = await _import(client, auth, "facilities", "c.csv", (DEMO / "jinshui_centres.csv").read_bytes())
    assert again.status_code == 201
    assert again.json()["created"] == {"created": 0, "updated": 0, "unchanged": 105, "below_standard": 0}
    assert await session.scalar(select(func.max(Facility.version))) == 1


async def test_bad_rows_are_all_listed_and_nothing_is_written(client: AsyncClient, session: AsyncSession) -> None:
    tree = await make_tree(session)
    clerk = bearer(await make_user(session, username="clerk", role=Role.unit_clerk, unit=tree.street_a))
    station_b = Facility(
        code="ST-B", name="丰庆路街道综合文化站", type=FacilityType.station, org_unit_id=tree.street_b.id
    )
    session.add(station_b)
    await session.flush()
    rows = [
        HEADER,
        "ST-1,经八路街道综合文化站,station,410105001000,1200,800,56,3,1,2,是,open,2016-05-01",  # row 2: good
        "GC-1,四月天社区中心,grassroots_centre,410105999001,,,,,,,,planned,",  # 3: unknown unit
        "X-1,某馆,library,410105999002,,,,,,,,open,",  # 4: unknown type and unknown unit
        "ST-2,馆,station,410105001001,-5,abc,200,1.5,,,maybe,opened,2016-13-01",  # 5: six bad cells
        "ST-1,重复,station,410105001001,,,,,,,,open,",  # 6: duplicate code
        "GC-2,西史赵村中心,grassroots_centre,410105002001,,,,,,,,planned,",  # 7: street_b, outside the clerk's scope
        "GC-3,安泰社区中心,grassroots_centre,410105001002,80,,,,,,,open,",  # 8: opens without outdoor area, staff
        "GC 4,,farm_bookstore,410105001001,,,,,,,,open,",  # 9: a code with a space, no name
        "ST-B,经八路站,station,410105001000,,,,,,,,open,",  # 10: the code of street_b's station
    ]
    response = await _import(client, clerk, "facilities", "bad.csv", "\n".join(rows).encode())
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    found = {(e["row"], e["column"]) for e in response.json()["errors"]}
    assert found == {
        (3, "org_unit_code"),
        (4, "type"),
        (4, "org_unit_code"),
        (5, "floor_area_m2"),
        (5, "outdoor_area_m2"),
        (5, "weekly_open_hours"),
        (5, "staff_established"),
        (5, "wifi"),
        (5, "status"),
        (5, "opened_on"),
        (6, "code"),
        (7, "org_unit_code"),
        (8, "outdoor_area_m2"),
        (8, "staff_established"),
        (8, "staff_purchased"),
        (9, "code"),
        (9, "name"),
        (10, "code"),
    }
    messages = {(e["row"], e["column"]): e["message"] for e in response.json()["errors"]}
    assert "first on row 2" in messages[(6, "code")]
    assert "outside your org-unit scope" in messages[(7, "org_unit_code")]
    assert "≥ 1000" in messages[(8, "outdoor_area_m2")]
    assert "registered outside your org-unit scope" in messages[(10, "code")]
    assert await session.scalar(select(func.count()).select_from(Facility)) == 1
    assert (await session.get(Facility, station_b.id)).name == "丰庆路街道综合文化站"


async def test_roles_and_headers_are_checked_before_anything_is_read(
    client: AsyncClient, session: AsyncSession
) -> None:
    tree = await make_tree(session)
    viewer = bearer(await make_user(session, username="viewer", role=Role.viewer, unit=tree.district))
    good = f"{HEADER}\nST-1,站,station,410105001000,,,,,,,,open,\n".encode()
    assert (await _import(client, viewer, "facilities", "f.csv", good)).status_code == 403
    admin = bearer(await make_user(session, username="root", role=Role.admin))
    no_header = await _import(client, admin, "facilities", "f.csv", b"a,b,c\n1,2,3\n")
    assert no_header.status_code == 422 and "no header row" in no_header.json()["detail"]
    assert await session.scalar(select(func.count()).select_from(Facility)) == 0


async def test_a_file_moves_status_forward_never_back(client: AsyncClient, session: AsyncSession) -> None:
    await make_tree(session)
    admin = bearer(await make_user(session, username="root", role=Role.admin))
    planned = (
        f"{HEADER},due_on,pilot\nGC-1,四月天社区中心,grassroots_centre,410105001001,,,,,,,,planned,,2017-06-30,1\n"
    )
    assert (await _import(client, admin, "facilities", "a.csv", planned.encode())).status_code == 201
    opened = (
        f"{HEADER},due_on,pilot\n"
        "GC-1,四月天社区中心,grassroots_centre,410105001001,90,1200,42,0,1,0,true,open,2017-06-20,2017-06-30,1\n"
    )
    forward = await _import(client, admin, "facilities", "b.csv", opened.encode())
    assert forward.json()["created"] == {"created": 0, "updated": 1, "unchanged": 0, "below_standard": 1}
    centre = await session.scalar(select(Facility).where(Facility.code == "GC-1"))
    await session.refresh(centre)
    assert (centre.status, centre.opened_on, float(centre.floor_area_m2), centre.version) == (
        FacilityStatus.open,
        date(2017, 6, 20),
        90.0,
        2,
    )
    back = await _import(client, admin, "facilities", "c.csv", planned.encode())
    assert back.status_code == 422
    assert back.json()["errors"] == [{"row": 2, "column": "status", "message": "open → planned goes backwards"}]


async def test_export_then_import_round_trips(client: AsyncClient, session: AsyncSession) -> None:
    tree = await make_tree(session)
    admin = bearer(await make_user(session, username="root", role=Role.admin))
    for body in (
        {"code": "ST-A", "name": "经八路街道综合文化站", "type": "station", "org_unit_id": tree.street_a.id,
         "floor_area_m2": 1234.5, "outdoor_area_m2": 600.25, "weekly_open_hours": 56, "staff_established": 3,
         "staff_purchased": 0, "staff_professional": 2, "wifi": True, "opened_on": "2016-05-01", "grade": "一级"},
        {"code": "GC-A1", "name": "四月天社区综合性文化服务中心", "type": "grassroots_centre",
         "org_unit_id": tree.community_a1.id, "status": "planned", "due_on": "2017-06-30", "pilot": True},
        {"code": "FB-B1", "name": "=西史赵村农家书屋", "type": "farm_bookstore", "org_unit_id": tree.village_b1.id,
         "floor_area_m2": 0.1, "wifi": False},
    ):  # fmt: skip
        assert (await client.post("/api/v1/facilities", json=body, headers=admin)).status_code == 201
    before = {f["code"]: f for f in await _all(client, admin)}
    for file_format in ("csv", "xlsx"):
        exported = await client.get(
            "/api/v1/facilities/export", params={"within": tree.district.id, "format": file_format}, headers=admin
        )
        assert exported.status_code == 200, exported.text
        assert f"facilities-410105.{file_format}" in exported.headers["content-disposition"]
        station = (await client.get("/api/v1/facilities", params={"q": "ST-A"}, headers=admin)).json()["items"][0]
        changed = await client.patch(
            f"/api/v1/facilities/{station['id']}",
            json={"floor_area_m2": 1, "wifi": None, "grade": None},
            headers=admin | {"If-Match": f'"{station["version"]}"'},
        )
        assert changed.status_code == 200
        again = await _import(client, admin, "facilities", f"export.{file_format}", exported.content)
        assert again.status_code == 201, again.text
        assert again.json()["created"] == {"created": 0, "updated": 1, "unchanged": 2, "below_standard": 0}
        after = {f["code"]: f for f in await _all(client, admin)}
        ignore = {"version", "updated_at"}
        assert {c: {k: v for k, v in f.items() if k not in ignore} for c, f in after.items()} == {
            c: {k: v for k, v in f.items() if k not in ignore} for c, f in before.items()
        }
    assert after["FB-B1"]["name"] == "=西史赵村农家书屋" and after["ST-A"]["floor_area_m2"] == 1234.5


async def test_an_xlsx_file_with_chinese_booleans_and_excel_dates(client: AsyncClient, session: AsyncSession) -> None:
    await make_tree(session)
    admin = bearer(await make_user(session, username="root", role=Role.admin))
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["金水区基层综合性文化服务中心台账"])
    sheet.append([*HEADER.split(","), "due_on", "pilot", "grade"])
    sheet.append(
        ["GC-B", "丰庆路街道中心", "grassroots_centre", "410105002000", 320, 1000, 48, 2, 1, 1, "是", "open",
         date(2017, 6, 1), date(2017, 6, 30), "否", None]
    )  # fmt: skip
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = await _import(client, admin, "facilities", "台账.xlsx", buffer.getvalue())
    assert response.status_code == 201, response.text
    assert response.json()["created"]["created"] == 1 and response.json()["created"]["below_standard"] == 0
    centre = await session.scalar(select(Facility).where(Facility.code == "GC-B"))
    assert (centre.type, centre.wifi, centre.pilot, centre.opened_on, centre.staff_established) == (
        FacilityType.grassroots_centre,
        True,
        False,
        date(2017, 6, 1),
        2,
    )
