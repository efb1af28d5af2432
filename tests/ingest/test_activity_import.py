"""Importing activities through POST /ingest/v1/imports: csv and xlsx, every bad row named, nothing written on
refusal, and large files written in bulk."""

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
from httpx import AsyncClient, Response
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.activities.models import Activity, ActivityType, Provider
from shared.audit.models import AuditEntry
from shared.auth.models import Role
from shared.clock import today_in
from shared.facilities.models import Facility, FacilityType
from shared.orgunits.models import OrgUnit, OrgUnitKind
from tests.support.factories import bearer, make_tree, make_unit, make_user

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADER = "type,org_unit_code,facility_code,date,attendance,provider,domestic_new_film"


def _upload(path: Path) -> tuple[str, bytes, str]:
    return path.name, path.read_bytes(), XLSX if path.suffix == ".xlsx" else "text/csv"


async def _import(client: AsyncClient, auth: dict[str, str], path: Path) -> Response:
    return await client.post(
        "/ingest/v1/imports", headers=auth, data={"kind": "activities"}, files={"file": _upload(path)}
    )


def _csv(tmp_path: Path, name: str, lines: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    return path


async def _facility(session: AsyncSession, *, code: str, unit: OrgUnit) -> Facility:
    facility = Facility(code=code, name=f"{unit.name}农家书屋", type=FacilityType.farm_bookstore, org_unit_id=unit.id)
    session.add(facility)
    await session.flush()
    return facility


async def _stored(session: AsyncSession) -> list[tuple[Any, ...]]:
    rows = await session.execute(
        select(
            Activity.type,
            Activity.org_unit_id,
            Activity.facility_id,
            Activity.occurred_on,
            Activity.attendance,
            Activity.provider,
            Activity.domestic_new_film,
            Activity.source,
        ).order_by(Activity.id)
    )
    return [tuple(row) for row in rows.all()]


async def _import_audits(session: AsyncSession) -> list[dict[str, Any] | None]:
    entries = await session.scalars(select(AuditEntry.after).where(AuditEntry.entity == "activity_import"))
    return list(entries.all())


async def test_a_csv_file_records_every_row(client: AsyncClient, session: AsyncSession, tmp_path: Path) -> None:
    tree = await make_tree(session)
    bookstore = await _facility(session, code="NJSW-B1", unit=tree.village_b1)
    auth = bearer(await make_user(session, username="clerk", role=Role.unit_clerk, unit=tree.district))
    path = _csv(
        tmp_path,
        "2019年3月活动.csv",
        [
            "film_screening,410105002001,NJSW-B1,2019-03-08,85,,是",
            "film_screening,410105002001,,2019-03-22,60,government,否",
            "film_screening,410105002000,NJSW-B1,2019-03-29,,social_force,1",
            "Performance,410105001000,,2019-03-10,1200,social_force,",
            "reading_promotion,410105001001,,2019-03-23,45,volunteer,",
        ],
    )
    imported = await _import(client, auth, path)
    assert imported.status_code == 201, imported.text
    assert imported.json()["created"] == {"created": 5}
    gov, social, volunteer = Provider.government, Provider.social_force, Provider.volunteer
    screening = ActivityType.film_screening
    assert await _stored(session) == [
        (screening, tree.village_b1.id, bookstore.id, date(2019, 3, 8), 85, gov, True, "import"),
        (screening, tree.village_b1.id, None, date(2019, 3, 22), 60, gov, False, "import"),
        (screening, tree.street_b.id, bookstore.id, date(2019, 3, 29), None, social, True, "import"),
        (ActivityType.performance, tree.street_a.id, None, date(2019, 3, 10), 1200, social, None, "import"),
        (ActivityType.reading_promotion, tree.community_a1.id, None, date(2019, 3, 23), 45, volunteer, None, "import"),
    ]
    assert await _import_audits(session) == [{"filename": "2019年3月活动.csv", "rows": 5, "created": 5}]


async def test_an_xlsx_file_with_typed_cells(client: AsyncClient, session: AsyncSession, tmp_path: Path) -> None:
    tree = await make_tree(session)
    auth = bearer(await make_user(session, username="admin", role=Role.admin))
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["2019年一季度文化活动登记表"])
    sheet.append(HEADER.split(","))
    sheet.append(["film_screening", "410105002001", None, datetime(2019, 1, 12), 48, None, True])
    sheet.append(["film_screening", "410105002001", None, datetime(2019, 2, 9, 19, 30), 52.0, "government", False])
    sheet.append(["training", 410105001000, None, "2019-03-05", 30, "government", None])
    path = tmp_path / "activities.xlsx"
    book.save(path)
    imported = await _import(client, auth, path)
    assert imported.status_code == 201, imported.text
    assert imported.json()["created"] == {"created": 3}
    assert [row[1:7] for row in await _stored(session)] == [
        (tree.village_b1.id, None, date(2019, 1, 12), 48, Provider.government, True),
        (tree.village_b1.id, None, date(2019, 2, 9), 52, Provider.government, False),
        (tree.street_a.id, None, date(2019, 3, 5), 30, Provider.government, None),
    ]
    summary = await client.get(
        f"/api/v1/org-units/{tree.street_b.id}/activities/summary", params={"period": "2019Q1"}, headers=auth
    )
    assert [month["by_type"] for month in summary.json()["by_month"]] == [
        {"film_screening": 1},
        {"film_screening": 1},
        {},
    ]


async def test_every_bad_row_is_named_and_nothing_is_written(
    client: AsyncClient, session: AsyncSession, tmp_path: Path
) -> None:
    tree = await make_tree(session)
    await _facility(session, code="NJSW-A2", unit=tree.community_a2)
    auth = bearer(await make_user(session, username="clerk", role=Role.unit_clerk, unit=tree.district))
    tomorrow = (today_in() + timedelta(days=1)).isoformat()
    path = _csv(
        tmp_path,
        "bad.csv",
        [
            "film_screening,410105002001,,2019-03-08,85,,是",
            "dance_party,410105002001,,2019-03-08,85,,",
            "film_screening,999999,,2019-03-08,85,,",
            "film_screening,410105002001,NO-SUCH,2019-03-08,85,,",
            "film_screening,410105002001,NJSW-A2,2019-03-08,85,,",
            "film_screening,410105002001,,2019-02-30,85,,",
            f"film_screening,410105002001,,{tomorrow},85,,",
            "film_screening,410105002001,,1948-06-01,85,,",
            "film_screening,410105002001,,,85,,",
            "film_screening,410105002001,,2019-03-08,-5,,",
            "film_screening,410105002001,,2019-03-08,many,,",
            "film_screening,410105002001,,2019-03-08,85,company,",
            "film_screening,410105002001,,2019-03-08,85,,maybe",
            "performance,410105002001,,2019-03-08,85,,否",
            "film_screening,410102,,2019-03-08,85,,",
            "film_screening,,,2019-03-08,85,,",
        ],
    )
    refused = await _import(client, auth, path)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    problems = [(error["row"], error["column"]) for error in refused.json()["errors"]]
    assert problems == [
        (3, "type"),
        (4, "org_unit_code"),
        (5, "facility_code"),
        (6, "facility_code"),
        (7, "date"),
        (8, "date"),
        (9, "date"),
        (10, "date"),
        (11, "attendance"),
        (12, "attendance"),
        (13, "provider"),
        (14, "domestic_new_film"),
        (15, "domestic_new_film"),
        (16, "org_unit_code"),
        (17, "org_unit_code"),
    ]
    messages = {error["row"]: error["message"] for error in refused.json()["errors"]}
    assert "999999" in messages[4] and "NO-SUCH" in messages[5] and "NJSW-A2" in messages[6]
    assert "future" in messages[8] and "outside your org-unit scope" in messages[16]
    assert await _stored(session) == []
    assert await _import_audits(session) == []


async def test_a_large_file_is_written_in_bulk(
    client: AsyncClient, session: AsyncSession, engine: Any, tmp_path: Path
) -> None:
    tree = await make_tree(session)
    villages = [
        await make_unit(session, code=f"41010500200{n}", name=f"村{n}", kind=OrgUnitKind.village, parent=tree.street_b)
        for n in range(2, 10)
    ]
    codes = [tree.village_b1.code, *(village.code for village in villages)]
    auth = bearer(await make_user(session, username="admin", role=Role.admin))
    first = date(2019, 1, 1)
    lines = [
        f"film_screening,{codes[n % len(codes)]},,{first + timedelta(days=n % 365)},{n % 90},,{'是' if n % 3 else '否'}"
        for n in range(6000)
    ]
    path = _csv(tmp_path, "year.csv", lines)
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        imported = await _import(client, auth, path)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
    assert imported.status_code == 201, imported.text
    assert imported.json()["created"] == {"created": 6000}
    assert await session.scalar(select(func.count()).select_from(Activity)) == 6000
    assert await session.scalar(select(func.count()).where(Activity.domestic_new_film.is_(True))) == 4000
    lookups = [sql for sql in statements if sql.lstrip().upper().startswith("SELECT")]
    assert len(lookups) <= 5, lookups
    assert len(statements) < 40
