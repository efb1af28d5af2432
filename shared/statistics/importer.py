"""Import of the data_values interchange file: element, org_unit_code, facility_code, period, value."""

import re

from sqlalchemy.ext.asyncio import AsyncSession

from shared.audit.service import record_change
from shared.auth.scope import Principal
from shared.imports.interchange import RowErrors, read_records
from shared.statistics.elements import Entry, check_entries
from shared.statistics.service import WRITERS, record_figures

COLUMNS = ("element", "org_unit_code", "facility_code", "period", "value")
REQUIRED = ("element", "org_unit_code", "period", "value")
# Excel turns a typed "2019-03" into a date, which reads back as 2019-03-01.
_MONTH_AS_DATE = re.compile(r"^(\d{4}-\d{2})-01$")


def _period(text: str) -> str:
    match = _MONTH_AS_DATE.match(text)
    return match[1] if match else text


async def import_data_values(
    session: AsyncSession, *, actor: Principal, content: bytes, filename: str
) -> dict[str, int]:
    """Create or update every row of the file; all or nothing."""
    actor.require_role(WRITERS)
    records = await read_records(content=content, filename=filename, columns=COLUMNS, required=REQUIRED)
    entries = [
        Entry(
            row=row,
            element=record["element"],
            org_unit_code=record["org_unit_code"],
            facility_code=record.get("facility_code") or None,
            period=_period(record["period"]),
            value=record["value"],
        )
        for row, record in records
    ]
    checked = await check_entries(session, actor=actor, entries=entries)
    errors = RowErrors()
    for problem in sorted(checked.errors + checked.denied, key=lambda problem: problem["row"]):
        errors.add(row=problem["row"], column=problem["field"], message=problem["message"])
    if not entries:
        errors.add(row=None, column=None, message="the file has no rows under its header")
    errors.raise_if_any(what=filename)
    counts = await record_figures(session, actor=actor, figures=checked.figures, source="import")
    await record_change(
        session,
        actor=actor,
        action="create",
        entity="data_value_import",
        entity_id=filename[-40:],
        before=None,
        after={"filename": filename, "rows": len(entries)} | counts,
    )
    return counts
