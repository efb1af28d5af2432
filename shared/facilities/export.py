"""Export of a subtree's facilities in the interchange columns, so that the file imports back unchanged."""

import asyncio
import io
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

import openpyxl
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth.scope import STAFF_ROLES, Principal
from shared.facilities.importer import COLUMNS
from shared.facilities.models import Facility, FacilityType
from shared.facilities.service import facility_columns
from shared.orgunits.models import OrgUnit
from shared.orgunits.service import get_org_unit
from shared.spreadsheets import append_row, csv_bytes


class ExportFormat(StrEnum):
    """The file formats an export is written in."""

    csv = "csv"
    xlsx = "xlsx"


MEDIA_TYPES = {
    ExportFormat.csv: "text/csv; charset=utf-8",
    ExportFormat.xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


async def export_facilities(
    session: AsyncSession,
    *,
    actor: Principal,
    within: int | None,
    facility_type: FacilityType | None,
    file_format: ExportFormat,
) -> tuple[bytes, str]:
    """The file and its name: every facility of the subtree (the caller's whole scope by default), by code."""
    actor.require_role(STAFF_ROLES)
    query = select(Facility, OrgUnit.code).join(OrgUnit, OrgUnit.id == Facility.org_unit_id).order_by(Facility.code)
    name = "facilities"
    if within is not None:
        root = await get_org_unit(session, actor=actor, unit_id=within)
        query = query.where(OrgUnit.path.startswith(root.path))
        name += f"-{root.code}"
    elif actor.scope_path is not None:
        query = query.where(OrgUnit.path.startswith(actor.scope_path))
    if facility_type is not None:
        query = query.where(Facility.type == facility_type)
    rows = [_record(facility, unit_code) for facility, unit_code in (await session.execute(query)).all()]
    writer = _csv_bytes if file_format == ExportFormat.csv else _xlsx_bytes
    return await asyncio.to_thread(writer, rows), f"{name}.{file_format.value}"


def _record(facility: Facility, unit_code: str) -> list[Any]:
    values = facility_columns(facility) | {"org_unit_code": unit_code}
    return [_plain(values.get(column)) for column in COLUMNS]


def _plain(value: Any) -> Any:
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _csv_bytes(rows: list[list[Any]]) -> bytes:
    return csv_bytes([COLUMNS, *([value if isinstance(value, str) else _text(value) for value in row] for row in rows)])


def _xlsx_bytes(rows: list[list[Any]]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "facilities"
    append_row(sheet, COLUMNS)
    for row in rows:
        append_row(sheet, row)
    for cells in sheet.iter_rows(min_row=2):
        for cell in cells:
            if isinstance(cell.value, date):
                cell.number_format = "yyyy-mm-dd"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
