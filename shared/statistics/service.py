"""Entering data values (one, a batch or a file's worth) in bulk, reading them and summing them over subtrees."""

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.audit.models import AuditEntry
from shared.auth.models import Role
from shared.auth.scope import STAFF_ROLES, Principal
from shared.db import utcnow
from shared.errors import InvalidInput, NotFound, ScopeDenied
from shared.facilities.models import Facility
from shared.indicators.refresh import MovedFigure, refresh_results
from shared.orgunits.models import OrgUnit
from shared.orgunits.service import get_org_unit
from shared.pagination import decode_cursor, page_of
from shared.statistics.elements import (
    Entry,
    Figure,
    Key,
    check_entries,
    check_period,
    check_value,
    dialect_insert,
    get_element,
)
from shared.statistics.models import DataElement, DataValue
from shared.statistics.periods import Period, parse_period
from shared.statistics.schemas import (
    DataValueIn,
    DataValuePublic,
    FigureChange,
    FigureHistory,
    UnitFigure,
    WriteSummary,
)

WRITERS = (Role.admin, Role.plan_manager, Role.unit_clerk)
DV = DataValue.__table__
AUDIT = AuditEntry.__table__
KEY_CHUNK = 300  # three IN lists a query: at most 900 variables


def _key_of(row: Row[Any]) -> Key:
    unit_id = None if row.facility_id is not None else row.org_unit_id
    return (row.element_id, unit_id, row.facility_id, row.period)


async def _stored(session: AsyncSession, figures: list[Figure]) -> dict[Key, Row[Any]]:
    """The stored rows of these figures by key, one query per chunk of keys (sorted, so a chunk spans few places)."""
    wanted = {f.key for f in figures}
    found: dict[Key, Row[Any]] = {}
    for at_facility in (False, True):
        column = DV.c.facility_id if at_facility else DV.c.org_unit_id
        keys = sorted(
            ((f.facility_id or f.org_unit_id), f.element.id, f.period.code) for f in figures if _at(f, at_facility)
        )
        for start in range(0, len(keys), KEY_CHUNK):
            chunk = keys[start : start + KEY_CHUNK]
            query = select(DV).where(
                DV.c.facility_id.is_not(None) if at_facility else DV.c.facility_id.is_(None),
                DV.c.element_id.in_({element_id for _place, element_id, _period in chunk}),
                column.in_({place for place, _element_id, _period in chunk}),
                DV.c.period.in_({period for _place, _element_id, period in chunk}),
            )
            rows = (await session.execute(query)).all()
            found |= {key: row for row in rows if (key := _key_of(row)) in wanted}
    return found


def _at(figure: Figure, at_facility: bool) -> bool:
    return (figure.facility_id is not None) == at_facility


def _state(row: dict[str, Any]) -> dict[str, Any]:
    """A figure's columns as the history keeps them."""
    names = ("id", "element_id", "org_unit_id", "facility_id", "period", "source", "entered_by_id", "version")
    state = {name: row[name] for name in names}
    return state | {"value": float(row["value"]), "entered_at": row["entered_at"].isoformat()}


def _columns(figure: Figure, *, actor: Principal, source: str, now: datetime) -> dict[str, Any]:
    """The row a figure is inserted as."""
    period = figure.period
    return {
        "element_id": figure.element.id,
        "org_unit_id": figure.org_unit_id,
        "facility_id": figure.facility_id,
        "period": period.code,
        "period_type": period.kind,
        "period_start": period.start,
        "period_end": period.end,
        "value": figure.value,
        "source": source,
        "entered_by_id": actor.user_id,
        "entered_at": now,
        "created_at": now,
        "updated_at": now,
        "version": 1,
    }


async def _upsert(session: AsyncSession, *, rows: list[dict[str, Any]]) -> dict[Key, int]:
    """INSERT … ON CONFLICT DO UPDATE against the partial unique index of each kind of figure; ids by key."""
    ids: dict[Key, int] = {}
    for at_facility in (False, True):
        part = [row for row in rows if (row["facility_id"] is not None) == at_facility]
        if not part:
            continue
        # The same order in every write, so that concurrent batches lock rows in the same order.
        part.sort(key=lambda row: (row["element_id"], row["facility_id"] or row["org_unit_id"], row["period"]))
        statement = dialect_insert(session, DV)
        changes = ("org_unit_id", "value", "source", "entered_by_id", "entered_at", "updated_at")
        statement = statement.on_conflict_do_update(
            index_elements=["element_id", "facility_id" if at_facility else "org_unit_id", "period"],
            index_where=DV.c.facility_id.is_not(None) if at_facility else DV.c.facility_id.is_(None),
            set_={name: statement.excluded[name] for name in changes} | {"version": DV.c.version + 1},
        ).returning(DV.c.id, DV.c.element_id, DV.c.org_unit_id, DV.c.facility_id, DV.c.period)
        ids |= {_key_of(row): row.id for row in (await session.execute(statement, part)).all()}
    return ids


async def record_figures(
    session: AsyncSession, *, actor: Principal, figures: list[Figure], source: str
) -> dict[str, int]:
    """The one way figures are written: store them, keep each change's history and bring the stored indicator
    results that read them up to date in the same transaction."""
    moved: list[MovedFigure] = []
    counts = await _store_figures(session, actor=actor, figures=figures, source=source, moved=moved)
    await refresh_results(session, changes=moved)
    return counts


async def _store_figures(
    session: AsyncSession, *, actor: Principal, figures: list[Figure], source: str, moved: list[MovedFigure]
) -> dict[str, int]:
    """Store checked figures with one bulk upsert per kind, skip unchanged ones, keep each change's before/after;
    `moved` collects what changed and by how much."""
    stored = await _stored(session, figures)
    changed = [f for f in figures if f.key not in stored or Decimal(stored[f.key].value) != f.value]
    moved += [
        MovedFigure(f.element.code, f.org_unit_id, f.period.code, float(f.value - _old_value(stored.get(f.key))))
        for f in changed
    ]
    now = utcnow()
    rows = [_columns(f, actor=actor, source=source, now=now) for f in changed]
    ids = await _upsert(session, rows=rows)
    history = []
    for figure, row in zip(changed, rows, strict=True):
        old = stored.get(figure.key)
        after = row | {"id": ids[figure.key], "version": old.version + 1 if old is not None else 1}
        history.append(
            {
                "at": now,
                "user_id": actor.user_id,
                "username": actor.username,
                "action": "create" if old is None else "update",
                "entity": "data_value",
                "entity_id": str(after["id"]),
                "before": _state(old._asdict()) if old is not None else None,
                "after": _state(after),
            }
        )
    if history:
        await session.execute(insert(AUDIT), history)
    created = sum(1 for f in changed if f.key not in stored)
    return {"created": created, "updated": len(changed) - created, "unchanged": len(figures) - len(changed)}


def _old_value(row: Row[Any] | None) -> Decimal:
    return Decimal(row.value) if row is not None else Decimal(0)


async def write_values(session: AsyncSession, *, actor: Principal, values: list[DataValueIn]) -> WriteSummary:
    """Create or update every figure of a batch; all or nothing, every bad item named."""
    actor.require_role(WRITERS)
    entries = [Entry(row=index, **item.model_dump()) for index, item in enumerate(values)]
    checked = await check_entries(session, actor=actor, entries=entries)
    if checked.denied:
        message = f"{len(checked.denied)} value(s) lie outside your org-unit scope; nothing was written"
        raise ScopeDenied(message, errors=checked.denied)
    if checked.errors:
        message = f"{len(checked.errors)} problem(s) found; nothing was written"
        raise InvalidInput(message, errors=checked.errors)
    summary = await record_figures(session, actor=actor, figures=checked.figures, source="manual")
    return WriteSummary(**summary)


async def set_unit_value(
    session: AsyncSession,
    *,
    actor: Principal,
    element_code: str,
    org_unit: OrgUnit,
    period: Period,
    value: float,
    source: str = "manual",
) -> DataValue:
    """Insert or replace the figure entered at an org unit itself for a period (the caller checked the scope)."""
    element = await get_element(session, code=element_code)
    assert org_unit.id is not None
    figure = Figure(0, element, org_unit.id, None, check_period(element, period.code), check_value(element, value))
    await record_figures(session, actor=actor, figures=[figure], source=source)
    row = await session.scalar(
        select(DataValue)
        .where(*_figure_clause(element=element, period=figure.period.code, org_unit_id=org_unit.id, facility_id=None))
        .execution_options(populate_existing=True)
    )
    assert row is not None
    return row


def _figure_clause(*, element: DataElement, period: str, org_unit_id: int | None, facility_id: int | None) -> list[Any]:
    clauses = [DV.c.element_id == element.id, DV.c.period == period]
    if facility_id is not None:
        return [*clauses, DV.c.facility_id == facility_id]
    return [*clauses, DV.c.org_unit_id == org_unit_id, DV.c.facility_id.is_(None)]


async def unit_and_subtree_value(
    session: AsyncSession,
    *,
    element_code: str,
    org_unit: OrgUnit,
    period: str,
) -> tuple[float | None, float | None]:
    """The figure entered at the unit itself, and the sum over its whole subtree with facilities (None: nothing)."""
    base = (
        select(DataValue.org_unit_id, DataValue.facility_id, DataValue.value)
        .join(DataElement, DataElement.id == DataValue.element_id)
        .join(OrgUnit, OrgUnit.id == DataValue.org_unit_id)
        .where(DataElement.code == element_code, DataValue.period == period, OrgUnit.path.startswith(org_unit.path))
        .subquery()
    )
    own = func.sum(base.c.value).filter(base.c.org_unit_id == org_unit.id, base.c.facility_id.is_(None))
    entered, total = (await session.execute(select(own, func.sum(base.c.value)))).one()
    return (float(entered) if entered is not None else None, float(total) if total is not None else None)


async def unit_figure(
    session: AsyncSession, *, actor: Principal, unit_id: int, element: str, period: str
) -> UnitFigure:
    """What was entered at a unit itself for an element and period, and the sum over its subtree."""
    actor.require_role(STAFF_ROLES)
    unit = await get_org_unit(session, actor=actor, unit_id=unit_id)
    data_element = await get_element(session, code=element)
    parsed = check_period(data_element, period)
    entered, total = await unit_and_subtree_value(
        session, element_code=data_element.code, org_unit=unit, period=parsed.code
    )
    assert unit.id is not None
    return UnitFigure(
        org_unit_id=unit.id, element=data_element.code, period=parsed.code, entered=entered, subtree_total=total
    )


async def list_values(
    session: AsyncSession,
    *,
    actor: Principal,
    element: str | None,
    within: int | None,
    period: str | None,
    facility_id: int | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[DataValuePublic], str | None]:
    """Stored figures inside the caller's subtree, filtered, ordered by id, one page at a time."""
    actor.require_role(STAFF_ROLES)
    query = (
        select(*[column for column in DV.c if column.name in DataValuePublic.model_fields], DataElement.code)
        .join(DataElement, DataElement.id == DV.c.element_id)
        .join(OrgUnit, OrgUnit.id == DV.c.org_unit_id)
        .order_by(DV.c.id)
        .limit(limit + 1)
    )
    if actor.scope_path is not None:
        query = query.where(OrgUnit.path.startswith(actor.scope_path))
    if within is not None:
        root = await get_org_unit(session, actor=actor, unit_id=within)
        query = query.where(OrgUnit.path.startswith(root.path))
    if element is not None:
        query = query.where(DV.c.element_id == (await get_element(session, code=element)).id)
    if period is not None:
        query = query.where(DV.c.period == parse_period(period.strip()).code)
    if facility_id is not None:
        query = query.where(DV.c.facility_id == facility_id)
    if (after := decode_cursor(cursor, size=1)) is not None:
        query = query.where(DV.c.id > after[0])
    rows = (await session.execute(query)).all()
    page, next_cursor = page_of(list(rows), limit=limit, key=lambda row: [row.id])
    return [DataValuePublic.model_validate(row._asdict() | {"element": row.code}) for row in page], next_cursor


async def _figure_place(
    session: AsyncSession, *, actor: Principal, org_unit_id: int | None, facility_id: int | None
) -> None:
    """Refuse a figure whose unit or facility the caller cannot see, or a facility outside the unit."""
    if org_unit_id is None and facility_id is None:
        raise InvalidInput("name the figure's org_unit_id or facility_id", field="org_unit_id")
    unit = await get_org_unit(session, actor=actor, unit_id=org_unit_id) if org_unit_id is not None else None
    if facility_id is not None:
        query = select(Facility.id, OrgUnit.path).join(OrgUnit, OrgUnit.id == Facility.org_unit_id)
        facility = (await session.execute(query.where(Facility.id == facility_id))).first()
        if facility is None or not actor.covers(facility.path):
            raise NotFound(f"facility {facility_id} does not exist")
        if unit is not None and not facility.path.startswith(unit.path):
            raise InvalidInput(f"facility {facility_id} is not inside org unit {unit.code}", field="facility_id")


async def figure_history(
    session: AsyncSession,
    *,
    actor: Principal,
    element: str,
    period: str,
    org_unit_id: int | None,
    facility_id: int | None,
) -> FigureHistory:
    """Every change of one figure, newest first, from the audit log."""
    actor.require_role(STAFF_ROLES)
    await _figure_place(session, actor=actor, org_unit_id=org_unit_id, facility_id=facility_id)
    data_element = await get_element(session, code=element)
    parsed = check_period(data_element, period)
    clause = _figure_clause(element=data_element, period=parsed.code, org_unit_id=org_unit_id, facility_id=facility_id)
    figure_id = await session.scalar(select(DV.c.id).where(*clause))
    entries: Sequence[AuditEntry] = []
    if figure_id is not None:
        query = select(AuditEntry).where(AuditEntry.entity == "data_value", AuditEntry.entity_id == str(figure_id))
        entries = (await session.scalars(query.order_by(AuditEntry.id.desc()))).all()
    items = [
        FigureChange(
            at=entry.at,
            user_id=entry.user_id,
            username=entry.username,
            action=entry.action,
            before=(entry.before or {}).get("value"),
            after=(entry.after or {}).get("value"),
            source=(entry.after or entry.before or {}).get("source"),
        )
        for entry in entries
    ]
    return FigureHistory(
        element=data_element.code, org_unit_id=org_unit_id, facility_id=facility_id, period=parsed.code, items=items
    )
