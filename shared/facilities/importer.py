"""Import of the facilities interchange file: upsert by code, every bad row reported, all or nothing.

Columns: code, name, type, org_unit_code, floor_area_m2, outdoor_area_m2, weekly_open_hours, staff_established,
staff_purchased, staff_professional, wifi, status, opened_on, and optionally due_on, pilot, grade. A blank cell is
unknown (NULL); a column left out of the file leaves the stored values alone. A file records the state of affairs,
so a status may move forward by more than one step (planned → open), never back.
"""

import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.audit.service import record_change
from shared.auth.scope import Principal
from shared.concurrency import bump_version
from shared.errors import InvalidInput
from shared.facilities.models import Facility, FacilityStatus, FacilityType
from shared.facilities.service import WRITERS, audit_snapshot, check_placement, facility_columns
from shared.facilities.standard import check_centre, missing_errors
from shared.imports.interchange import RowErrors, parse_date_cell, read_records
from shared.lookups import lookup_in_chunks, scalars_in_chunks
from shared.orgunits.models import OrgUnit

COLUMNS = (
    "code",
    "name",
    "type",
    "org_unit_code",
    "floor_area_m2",
    "outdoor_area_m2",
    "weekly_open_hours",
    "staff_established",
    "staff_purchased",
    "staff_professional",
    "wifi",
    "status",
    "opened_on",
    "due_on",
    "pilot",
    "grade",
)
REQUIRED = ("code", "name", "type", "org_unit_code")
AREAS_AND_HOURS = {"floor_area_m2": 1_000_000_000, "outdoor_area_m2": 1_000_000_000, "weekly_open_hours": 168}
HEADCOUNTS = ("staff_established", "staff_purchased", "staff_professional")
LIMITS = AREAS_AND_HOURS | dict.fromkeys(HEADCOUNTS, 100_000)
CODE = re.compile(r"[0-9A-Za-z_.-]{1,40}")
BOOLEANS = {"true": True, "1": True, "是": True, "false": False, "0": False, "否": False}
STATUS_ORDER = {FacilityStatus.planned: 0, FacilityStatus.building: 1, FacilityStatus.open: 2, FacilityStatus.closed: 3}
CENT = Decimal("0.01")


@dataclass(slots=True)
class FacilityRow:
    """One row: the key cells, the column values the file gives, and whether every cell parsed."""

    row: int
    code: str
    type: FacilityType | None
    org_unit_code: str
    values: dict[str, Any] = field(default_factory=dict)
    parsed: bool = True


def _decimal(text: str, *, row: int, column: str, errors: RowErrors) -> Decimal | None:
    if not text:
        return None
    try:
        number = Decimal(text.replace(",", ""))
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite():
        errors.add(row=row, column=column, message=f"{text!r} is not a number")
        return None
    if number < 0 or number > LIMITS[column]:
        errors.add(row=row, column=column, message=f"{text} lies outside 0 … {LIMITS[column]}")
        return None
    return number.quantize(CENT, rounding=ROUND_HALF_UP)


def _headcount(text: str, *, row: int, column: str, errors: RowErrors) -> int | None:
    number = _decimal(text, row=row, column=column, errors=errors)
    if number is None:
        return None
    if number != number.to_integral_value():
        errors.add(row=row, column=column, message=f"{text!r} is not a number of people")
        return None
    return int(number)


def _boolean(text: str, *, row: int, column: str, errors: RowErrors) -> bool | None:
    if not text:
        return None
    if (value := BOOLEANS.get(text.strip().lower())) is None:
        errors.add(row=row, column=column, message=f"{text!r} is not one of true/false, 1/0, 是/否")
    return value


def _text_cells(record: dict[str, str], *, row: int, errors: RowErrors) -> dict[str, Any]:
    code, name = record.get("code", ""), record.get("name", "")
    if not CODE.fullmatch(code):
        errors.add(row=row, column="code", message=f"{code!r} is not a facility code (letters, digits, - _ .)")
    if not name or len(name) > 200:
        errors.add(
            row=row, column="name", message="the name is empty" if not name else "the name exceeds 200 characters"
        )
    if not record.get("org_unit_code"):
        errors.add(row=row, column="org_unit_code", message="the org unit code is empty")
    values: dict[str, Any] = {"name": name}
    if "grade" in record:
        if len(record["grade"]) > 40:
            errors.add(row=row, column="grade", message="the grade exceeds 40 characters")
        values["grade"] = record["grade"] or None
    return values


def _parse_row(row: int, record: dict[str, str], errors: RowErrors) -> FacilityRow:
    before = len(errors.errors)
    values = _text_cells(record, row=row, errors=errors)
    facility_type = FacilityType.__members__.get(record.get("type", "").lower())
    if facility_type is None:
        errors.add(row=row, column="type", message=f"{record.get('type')!r} is not one of {', '.join(FacilityType)}")
    for column in AREAS_AND_HOURS.keys() & record.keys():
        values[column] = _decimal(record[column], row=row, column=column, errors=errors)
    for column in set(HEADCOUNTS) & record.keys():
        values[column] = _headcount(record[column], row=row, column=column, errors=errors)
    if "wifi" in record:
        values["wifi"] = _boolean(record["wifi"], row=row, column="wifi", errors=errors)
    if "pilot" in record:
        values["pilot"] = bool(_boolean(record["pilot"], row=row, column="pilot", errors=errors))
    if record.get("status"):
        values["status"] = FacilityStatus.__members__.get(record["status"].lower())
        if values["status"] is None:
            message = f"{record['status']!r} is not one of {', '.join(FacilityStatus)}"
            errors.add(row=row, column="status", message=message)
    for column in ("opened_on", "due_on"):
        if column in record:
            values[column] = parse_date_cell(record[column], row=row, column=column, errors=errors)
    parsed = len(errors.errors) == before
    return FacilityRow(row, record.get("code", ""), facility_type, record.get("org_unit_code", ""), values, parsed)


async def import_facilities(
    session: AsyncSession, *, actor: Principal, content: bytes, filename: str
) -> dict[str, int]:
    """Create or update every row of the file; all or nothing."""
    actor.require_role(WRITERS)
    errors = RowErrors()
    rows: list[FacilityRow] = []
    first_row: dict[str, int] = {}
    for row, record in await read_records(content=content, filename=filename, columns=COLUMNS, required=REQUIRED):
        code = record.get("code", "")
        if code in first_row:
            errors.add(row=row, column="code", message=f"{code} appears twice (first on row {first_row[code]})")
        elif code:
            first_row[code] = row
        rows.append(_parse_row(row, record, errors))
    units = {
        unit.code: unit
        for unit in await scalars_in_chunks(session, select(OrgUnit), OrgUnit.code, {i.org_unit_code for i in rows})
    }
    query = (
        select(Facility, OrgUnit.path)
        .join(OrgUnit, OrgUnit.id == Facility.org_unit_id)
        .execution_options(populate_existing=True)
    )
    stored = {
        facility.code: (facility, path)
        for facility, path in await lookup_in_chunks(session, query, Facility.code, {item.code for item in rows})
    }
    checked = [
        (item, unit)
        for item in rows
        if (unit := _check_row(item, actor=actor, units=units, stored=stored, errors=errors)) is not None
    ]
    errors.raise_if_any(what=filename)
    return await _write(session, actor=actor, checked=checked, stored=stored)


def _check_row(
    item: FacilityRow,
    *,
    actor: Principal,
    units: dict[str, OrgUnit],
    stored: dict[str, tuple[Facility, str]],
    errors: RowErrors,
) -> OrgUnit | None:
    unit = units.get(item.org_unit_code)
    if unit is None:
        if item.org_unit_code:
            errors.add(row=item.row, column="org_unit_code", message=f"org unit {item.org_unit_code} does not exist")
        return None
    if not actor.covers(unit.path):
        errors.add(row=item.row, column="org_unit_code", message=f"{item.org_unit_code} is outside your org-unit scope")
        return None
    existing, existing_path = stored.get(item.code, (None, ""))
    if existing is not None and not actor.covers(existing_path):
        errors.add(row=item.row, column="code", message=f"{item.code} is registered outside your org-unit scope")
        return None
    if item.type is None or not item.parsed:
        return None
    try:
        check_placement(facility_type=item.type, unit=unit)
    except InvalidInput as exc:
        errors.add(row=item.row, column="org_unit_code", message=exc.detail)
        return None
    old_status = existing.status if existing is not None else None
    new_status = item.values.get("status") or old_status or FacilityStatus.open
    if old_status is not None and STATUS_ORDER[new_status] < STATUS_ORDER[old_status]:
        errors.add(row=item.row, column="status", message=f"{old_status.value} → {new_status.value} goes backwards")
        return None
    if new_status == FacilityStatus.open and item.type == FacilityType.grassroots_centre:
        stored_values = facility_columns(existing) if existing is not None else {}
        merged = Facility(**{key: value for key, value in stored_values.items() if key != "id"} | item.values)
        for problem in missing_errors(check_centre(merged, kind=unit.kind)):
            errors.add(row=item.row, column=str(problem["field"]), message=f"status open: {problem['message']}")
    return unit


async def _write(
    session: AsyncSession,
    *,
    actor: Principal,
    checked: list[tuple[FacilityRow, OrgUnit]],
    stored: dict[str, tuple[Facility, str]],
) -> dict[str, int]:
    counts = {"created": 0, "updated": 0, "unchanged": 0, "below_standard": 0}
    created: list[Facility] = []
    for item, unit in checked:
        values = item.values | {"type": item.type, "org_unit_id": unit.id}
        existing = stored.get(item.code, (None, ""))[0]
        if existing is None:
            facility = Facility(code=item.code, **values)
            session.add(facility)
            created.append(facility)
        elif all(getattr(existing, key) == value for key, value in values.items()):
            counts["unchanged"] += 1
            facility = existing
        else:
            before = audit_snapshot(existing)
            for key, value in values.items():
                setattr(existing, key, value)
            bump_version(existing)
            counts["updated"] += 1
            facility = existing
            await record_change(
                session,
                actor=actor,
                action="update",
                entity="facility",
                entity_id=existing.id,
                before=before,
                after=audit_snapshot(existing),
            )
        if _below_standard(facility, unit=unit):
            counts["below_standard"] += 1
    await session.flush()
    for facility in created:
        await record_change(
            session,
            actor=actor,
            action="create",
            entity="facility",
            entity_id=facility.id,
            before=None,
            after=audit_snapshot(facility),
        )
    counts["created"] = len(created)
    await session.flush()
    return counts


def _below_standard(facility: Facility, *, unit: OrgUnit) -> bool:
    if facility.type != FacilityType.grassroots_centre or facility.status != FacilityStatus.open:
        return False
    return not all(result.met for result in check_centre(facility, kind=unit.kind))
