"""Import of the activities interchange file: type, org_unit_code, facility_code, date, attendance, provider,
domestic_new_film. Every row becomes a new activity; every bad row is reported; all or nothing."""

from typing import Any

from pydantic import ValidationError
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.activities.models import Activity, Provider
from shared.activities.schemas import ActivityCreate
from shared.activities.service import WRITERS, check_activities
from shared.audit.service import record_change
from shared.auth.scope import Principal
from shared.imports.interchange import RowErrors, parse_date_cell, read_records

COLUMNS = ("type", "org_unit_code", "facility_code", "date", "attendance", "provider", "domestic_new_film")
REQUIRED = ("type", "org_unit_code", "date")
BOOLEANS = {"true": True, "1": True, "是": True, "false": False, "0": False, "否": False}
COLUMN_OF_FIELD = {"occurred_on": "date"}


def _cells(row: int, record: dict[str, str], errors: RowErrors) -> dict[str, Any]:
    """The row's cells as ActivityCreate fields: blanks become null, a blank provider the government."""
    flag = record.get("domestic_new_film", "")
    if flag and flag.lower() not in BOOLEANS:
        errors.add(row=row, column="domestic_new_film", message=f"{flag!r} is not one of true/false, 1/0, 是/否")
    if not record.get("org_unit_code"):
        errors.add(row=row, column="org_unit_code", message="the org unit code is empty")
    if not record.get("date"):
        errors.add(row=row, column="date", message="the date is empty")
    return {
        "type": record.get("type", "").lower(),
        "org_unit_code": record.get("org_unit_code") or None,
        "facility_code": record.get("facility_code") or None,
        "occurred_on": parse_date_cell(record.get("date", ""), row=row, column="date", errors=errors),
        "attendance": record.get("attendance", "").replace(",", "") or None,
        "provider": record.get("provider", "").lower() or Provider.government,
        "domestic_new_film": BOOLEANS.get(flag.lower()) if flag else None,
    }


def _parse_row(row: int, record: dict[str, str], errors: RowErrors) -> ActivityCreate | None:
    before = len(errors.errors)
    cells = _cells(row, record, errors)
    noted = {str(problem["column"]) for problem in errors.errors[before:]}
    try:
        item = ActivityCreate.model_validate(cells)
    except ValidationError as exc:
        for error in exc.errors():
            column = COLUMN_OF_FIELD.get(str(error["loc"][0]), str(error["loc"][0])) if error["loc"] else None
            if column not in noted:
                errors.add(row=row, column=column, message=error["msg"].removeprefix("Value error, "))
        return None
    return item if len(errors.errors) == before else None


async def import_activities(
    session: AsyncSession, *, actor: Principal, content: bytes, filename: str
) -> dict[str, int]:
    """Record every row of the file as an activity in one bulk insert; all or nothing."""
    actor.require_role(WRITERS)
    errors = RowErrors()
    records = await read_records(content=content, filename=filename, columns=COLUMNS, required=REQUIRED)
    if not records:
        errors.add(row=None, column=None, message="the file has no rows under its header")
    items = [(row, item) for row, record in records if (item := _parse_row(row, record, errors)) is not None]
    checked = await check_activities(session, actor=actor, items=items, source="import")
    for problem in checked.errors + checked.denied:
        field = str(problem["field"])
        errors.add(row=problem["row"], column=COLUMN_OF_FIELD.get(field, field), message=problem["message"])
    errors.errors.sort(key=lambda problem: problem["row"] or 0)
    errors.raise_if_any(what=filename)
    await session.execute(insert(Activity), checked.rows)
    counts = {"created": len(checked.rows)}
    await record_change(
        session,
        actor=actor,
        action="create",
        entity="activity_import",
        entity_id=filename[-40:],
        before=None,
        after={"filename": filename, "rows": len(records)} | counts,
    )
    return counts
