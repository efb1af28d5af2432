"""Import of the org_units interchange file: code, name, level, kind, parent_code, opened_on, closed_on."""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.audit.service import record_change, snapshot
from shared.auth.models import Role
from shared.auth.scope import Principal
from shared.imports.interchange import RowErrors, parse_date_cell, read_records
from shared.lookups import scalars_in_chunks
from shared.orgunits.models import KIND_LEVELS, OrgUnit, OrgUnitKind

COLUMNS = ("code", "name", "level", "kind", "parent_code", "opened_on", "closed_on")
REQUIRED = ("code", "name", "level", "kind")


@dataclass(slots=True)
class OrgUnitRow:
    """One valid row of the file."""

    row: int
    code: str
    name: str
    level: int
    kind: OrgUnitKind
    parent_code: str | None
    opened_on: date | None
    closed_on: date | None


def _parse_row(row: int, record: dict[str, str], errors: RowErrors) -> OrgUnitRow | None:
    before = len(errors.errors)
    code, name = record.get("code", ""), record.get("name", "")
    if not code or not code.replace("-", "").replace("_", "").isalnum() or len(code) > 20:
        errors.add(row=row, column="code", message=f"{code!r} is not an org-unit code")
    if not name:
        errors.add(row=row, column="name", message="the name is empty")
    kind = OrgUnitKind.__members__.get(record.get("kind", ""))
    if kind is None:
        errors.add(row=row, column="kind", message=f"{record.get('kind')!r} is not one of {', '.join(OrgUnitKind)}")
    level_text = record.get("level", "")
    level = int(level_text) if level_text.isdigit() else -1
    if kind is not None and level != KIND_LEVELS[kind]:
        errors.add(
            row=row, column="level", message=f"a {kind.value} sits at level {KIND_LEVELS[kind]}, not {level_text!r}"
        )
    opened = parse_date_cell(record.get("opened_on", ""), row=row, column="opened_on", errors=errors)
    closed = parse_date_cell(record.get("closed_on", ""), row=row, column="closed_on", errors=errors)
    if opened and closed and closed < opened:
        errors.add(row=row, column="closed_on", message="closed_on is before opened_on")
    if len(errors.errors) > before or kind is None:
        return None
    return OrgUnitRow(row, code, name, level, kind, record.get("parent_code") or None, opened, closed)


async def import_org_units(session: AsyncSession, *, actor: Principal, content: bytes, filename: str) -> dict[str, int]:
    """Create or update every unit of the file, parents before children; all or nothing."""
    actor.require_role([Role.admin])
    errors = RowErrors()
    parsed = [
        unit
        for row, record in await read_records(content=content, filename=filename, columns=COLUMNS, required=REQUIRED)
        if (unit := _parse_row(row, record, errors)) is not None
    ]
    by_code: dict[str, OrgUnitRow] = {}
    for unit in parsed:
        if unit.code in by_code:
            errors.add(
                row=unit.row,
                column="code",
                message=f"{unit.code} appears twice (first on row {by_code[unit.code].row})",
            )
        by_code[unit.code] = unit
    codes = {*by_code, *(unit.parent_code for unit in parsed if unit.parent_code)}
    stored = {row.code: row for row in await scalars_in_chunks(session, select(OrgUnit), OrgUnit.code, codes)}
    order = _parents_first(parsed, by_code=by_code, stored=stored, errors=errors)
    errors.raise_if_any(what=filename)
    return await _write(session, actor=actor, order=order, stored=stored, errors=errors, filename=filename)


def _parents_first(
    parsed: list[OrgUnitRow], *, by_code: dict[str, OrgUnitRow], stored: dict[str, OrgUnit], errors: RowErrors
) -> list[OrgUnitRow]:
    order: list[OrgUnitRow] = []
    placed: set[str] = set()
    for unit in parsed:
        chain: list[OrgUnitRow] = []
        current: OrgUnitRow | None = unit
        while current is not None and current.code not in placed and current not in chain:
            chain.append(current)
            parent = current.parent_code
            if parent and parent not in by_code and parent not in stored:
                errors.add(
                    row=current.row, column="parent_code", message=f"parent {parent} is neither in the file nor stored"
                )
            current = by_code.get(parent) if parent else None
        if current is not None and current in chain:
            errors.add(row=unit.row, column="parent_code", message="the parent chain loops back on itself (a cycle)")
            continue
        for item in reversed(chain):
            if item.code not in placed:
                placed.add(item.code)
                order.append(item)
    return order


async def _write(
    session: AsyncSession,
    *,
    actor: Principal,
    order: list[OrgUnitRow],
    stored: dict[str, OrgUnit],
    errors: RowErrors,
    filename: str,
) -> dict[str, int]:
    counts = {"created": 0, "updated": 0}
    for unit in order:
        parent = stored.get(unit.parent_code) if unit.parent_code else None
        if (parent is None and actor.scope_path is not None) or (parent is not None and not actor.covers(parent.path)):
            errors.add(row=unit.row, column="parent_code", message="outside your org-unit scope")
            continue
        if parent is not None and unit.level <= parent.level:
            errors.add(
                row=unit.row, column="level", message=f"level {unit.level} must lie below its parent's {parent.level}"
            )
            continue
        existing = stored.get(unit.code)
        if existing is not None:
            if existing.parent_id != (parent.id if parent else None):
                errors.add(row=unit.row, column="parent_code", message=f"{unit.code} is stored under another parent")
                continue
            before = snapshot(existing)
            existing.name, existing.opened_on, existing.closed_on = unit.name, unit.opened_on, unit.closed_on
            counts["updated"] += 1
            await record_change(
                session,
                actor=actor,
                action="update",
                entity="org_unit",
                entity_id=existing.id,
                before=before,
                after=snapshot(existing),
            )
            continue
        row = OrgUnit(
            code=unit.code,
            name=unit.name,
            level=unit.level,
            kind=unit.kind,
            path="",
            parent_id=parent.id if parent else None,
            opened_on=unit.opened_on,
            closed_on=unit.closed_on,
        )
        session.add(row)
        await session.flush()
        row.path = f"{parent.path if parent else '/'}{row.id}/"
        stored[unit.code] = row
        counts["created"] += 1
        await record_change(
            session, actor=actor, action="create", entity="org_unit", entity_id=row.id, before=None, after=snapshot(row)
        )
    errors.raise_if_any(what=filename)
    await session.flush()
    return counts
