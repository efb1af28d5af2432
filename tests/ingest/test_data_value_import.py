"""Importing the data_values interchange file through POST /ingest/v1/imports: csv, xlsx, refusals, history."""

import csv
import io
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.audit.models import AuditEntry
from shared.auth.models import Role
from shared.facilities.models import Facility, FacilityType
from shared.orgunits.models import OrgUnit
from shared.statistics.models import DataValue
from tests.support.factories import bearer, make_tree, make_user

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADER = ["element", "org_unit_code", "facility_code", "period", "value"]


async def make_facility(session: AsyncSession, *, code: str, unit: OrgUnit) -> Facility:
    """A library room at a unit."""
    facility = Facility(code=code, name=f"{unit.name}图书室", type=FacilityType.public_library, org_unit_id=unit.id)
    session.add(facility)
    await session.flush()
    return facility


def csv_file(tmp_path: Path, rows: list[list[Any]], *, name: str = "values.csv") -> tuple[str, bytes]:
    """A csv file with the interchange header: its name and content."""
    buffer = io.StringIO()
    csv.writer(buffer).writerows([HEADER, *rows])
    path = tmp_path / name
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path.name, path.read_bytes()


def xlsx_file(tmp_path: Path, rows: list[list[Any]], *, name: str = "values.xlsx") -> tuple[str, bytes]:
    """A workbook with a title row above the interchange header, cells typed as Excel types them."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["2019年统计数据"])
    for row in [HEADER, *rows]:
        sheet.append(row)
    path = tmp_path / name
    workbook.save(path)
    return path.name, path.read_bytes()


async def _import(client: AsyncClient, auth: dict[str, str], file: tuple[str, bytes]) -> Any:
    name, content = file
    media = XLSX if name.endswith(".xlsx") else "text/csv"
    return await client.post(
        "/ingest/v1/imports", headers=auth, data={"kind": "data_values"}, files={"file": (name, content, media)}
    )


async def _figure(client: AsyncClient, auth: dict[str, str], unit: OrgUnit, element: str, period: str) -> Any:
    response = await client.get(f"/api/v1/org-units/{unit.id}/data-values/{element}?period={period}", headers=auth)
    assert response.status_code == 200, response.text
    return response.json()


async def _count(session: AsyncSession, *clauses: Any, table: Any = DataValue) -> int:
    return await session.scalar(select(func.count()).select_from(table).where(*clauses)) or 0


async def test_a_csv_is_imported_then_reimported_as_updates(
    client: AsyncClient, session: AsyncSession, tmp_path: Path
) -> None:
    tree = await make_tree(session)
    await make_facility(session, code="LIB-A1", unit=tree.community_a1)
    auth = bearer(await make_user(session, username="clerk", role=Role.unit_clerk, unit=tree.district))
    rows = [
        ["population", "410105001001", "", "2019", "12000"],
        ["population", "410105001002", "", "2019", "8000"],
        ["population", "410105002001", "", "2019", "5000"],
        ["book_holdings", "410105001001", "LIB-A1", "2019", "3000"],
        ["loans", "410105001001", "LIB-A1", "2019-03", "250"],
        ["culture_spending", "410105", "", "2019", "1250000.50"],
    ]
    first = await _import(client, auth, csv_file(tmp_path, rows))
    assert first.status_code == 201, first.text
    assert first.json()["created"] == {"created": 6, "updated": 0, "unchanged": 0}
    assert (await _figure(client, auth, tree.district, "population", "2019"))["subtree_total"] == 25000
    books = await _figure(client, auth, tree.street_a, "book_holdings", "2019")
    assert (books["entered"], books["subtree_total"]) == (None, 3000)

    rows[0][4], rows[3][4] = "12600", "3100"
    second = await _import(client, auth, csv_file(tmp_path, rows, name="values-2.csv"))
    assert second.json()["created"] == {"created": 0, "updated": 2, "unchanged": 4}
    assert (await _figure(client, auth, tree.district, "population", "2019"))["subtree_total"] == 25600
    assert await _count(session) == 6

    history = await client.get(
        "/api/v1/data-values/history",
        params={"element": "population", "org_unit_id": tree.community_a1.id, "period": "2019"},
        headers=auth,
    )
    assert [(c["before"], c["after"], c["source"]) for c in history.json()["items"]] == [
        (12000, 12600, "import"),
        (None, 12000, "import"),
    ]
    imports = (
        await session.scalars(
            select(AuditEntry).where(AuditEntry.entity == "data_value_import").order_by(AuditEntry.id)
        )
    ).all()
    assert [entry.after for entry in imports] == [
        {"filename": "values.csv", "rows": 6, "created": 6, "updated": 0, "unchanged": 0},
        {"filename": "values-2.csv", "rows": 6, "created": 0, "updated": 2, "unchanged": 4},
    ]


async def test_an_xlsx_is_imported(client: AsyncClient, session: AsyncSession, tmp_path: Path) -> None:
    tree = await make_tree(session)
    await make_facility(session, code="LIB-B1", unit=tree.village_b1)
    auth = bearer(await make_user(session, username="office", role=Role.plan_manager, unit=tree.city))
    rows = [
        ["population", "410105001001", None, 2019, 12000],
        ["population", "410105002001", None, 2019, 5000.0],
        ["loans", "410105002001", "LIB-B1", "2019Q1", 700],
        # Excel stores a typed 2019-03 as a date.
        ["loans", "410105002001", "LIB-B1", date(2019, 3, 1), 240],
        ["digital_resources_tb", "410105", None, 2019, 1.25],
    ]
    response = await _import(client, auth, xlsx_file(tmp_path, rows))
    assert response.status_code == 201, response.text
    assert response.json()["created"] == {"created": 5, "updated": 0, "unchanged": 0}
    assert (await _figure(client, auth, tree.district, "population", "2019"))["subtree_total"] == 17000
    assert (await _figure(client, auth, tree.street_b, "loans", "2019-03"))["subtree_total"] == 240
    assert (await _figure(client, auth, tree.city, "digital_resources_tb", "2019"))["subtree_total"] == 1.25
    stored = await session.scalar(select(DataValue.org_unit_id).where(DataValue.period == "2019Q1"))
    assert stored == tree.village_b1.id


async def test_every_bad_row_is_reported_and_nothing_is_written(
    client: AsyncClient, session: AsyncSession, tmp_path: Path
) -> None:
    tree = await make_tree(session)
    await make_facility(session, code="LIB-A1", unit=tree.community_a1)
    auth = bearer(await make_user(session, username="clerk", role=Role.unit_clerk, unit=tree.street_a))
    rows = [
        ["population", "410105001001", "", "2019", "12000"],
        ["population", "410105001002", "", "2019", "-3"],
        ["population", "410105001002", "", "2019-03", "100"],
        ["book_holdings", "410105001001", "", "2019", "lots"],
        ["library_visits", "410105001001", "", "2019", "12.5"],
        ["bicycles", "410105001001", "", "2019", "1"],
        ["population", "999999", "", "2019", "1"],
        ["book_holdings", "410105001002", "LIB-A1", "2019", "10"],
        ["book_holdings", "410105001001", "LIB-ZZ", "2019", "10"],
        ["population", "410105002001", "", "2019", "5000"],
        ["population", "410105001001", "", "2019", "13000"],
        ["population", "410105001001", "", "19", "1"],
    ]
    response = await _import(client, auth, csv_file(tmp_path, rows))
    assert response.status_code == 422, response.text
    body = response.json()
    assert [(e["row"], e["column"]) for e in body["errors"]] == [
        (3, "value"),
        (4, "period"),
        (5, "value"),
        (6, "value"),
        (7, "element"),
        (8, "org_unit_code"),
        (9, "facility_code"),
        (10, "facility_code"),
        (11, "org_unit_code"),
        (12, "value"),
        (13, "period"),
    ]
    messages = {e["row"]: e["message"] for e in body["errors"]}
    assert "outside your org-unit scope" in messages[11]
    assert "row 2" in messages[12]
    assert await _count(session) == 0
    assert await _count(session, AuditEntry.entity.like("data_value%"), table=AuditEntry) == 0

    no_header = await _import(client, auth, ("plain.csv", b"a,b\n1,2\n"))
    assert no_header.status_code == 422
    assert "element" in no_header.json()["errors"][0]["message"]


async def test_viewers_cannot_import(client: AsyncClient, session: AsyncSession, tmp_path: Path) -> None:
    tree = await make_tree(session)
    auth = bearer(await make_user(session, username="viewer", role=Role.viewer, unit=tree.district))
    response = await _import(client, auth, csv_file(tmp_path, [["population", "410105001001", "", "2019", "1"]]))
    assert response.status_code == 403
    assert await _count(session) == 0
