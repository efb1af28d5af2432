"""The facility registry: create, read, list, change, delete, and construction steps checked against the standard."""

from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import and_, case, exists, func, not_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from shared.activities.models import Activity
from shared.audit.service import record_change
from shared.auth.models import Role
from shared.auth.scope import STAFF_ROLES, Principal
from shared.clock import today_in
from shared.concurrency import bump_version, check_if_match
from shared.errors import Conflict, InvalidInput, NotFound
from shared.facilities.models import Facility, FacilityStatus, FacilityType
from shared.facilities.schemas import (
    ConstructionSummary,
    FacilityCreate,
    FacilityFilters,
    FacilityPublic,
    FacilityUpdate,
    LevelProgress,
    OverdueFacility,
    StandardCheck,
    StatusChange,
)
from shared.facilities.standard import centre_standard, check_centre, missing_errors
from shared.orgunits.models import OrgUnit
from shared.orgunits.service import get_org_unit
from shared.pagination import decode_cursor, page_of
from shared.statistics.models import DataValue

WRITERS = (Role.admin, Role.plan_manager, Role.unit_clerk)
UNDER_CONSTRUCTION = (FacilityStatus.planned, FacilityStatus.building)
NEXT_STATUS: dict[FacilityStatus, tuple[FacilityStatus, ...]] = {
    FacilityStatus.planned: (FacilityStatus.building,),
    FacilityStatus.building: (FacilityStatus.open,),
    FacilityStatus.open: (FacilityStatus.closed,),
    FacilityStatus.closed: (),
}


def facility_columns(facility: Facility) -> dict[str, Any]:
    """The stored columns of a facility (model_dump would warn about the Decimals of its numeric columns)."""
    return {name: getattr(facility, name) for name in Facility.model_fields}


def audit_snapshot(facility: Facility) -> dict[str, Any]:
    """A JSON-safe copy of a facility's columns for the audit log."""
    return {name: _json_safe(value) for name, value in facility_columns(facility).items()}


def _json_safe(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value.value if isinstance(value, Enum) else value


def overdue_clause(today: date) -> ColumnElement[bool]:
    """SQL for 'past its construction deadline and not yet open'."""
    return and_(Facility.due_on.is_not(None), Facility.due_on < today, Facility.status.in_(UNDER_CONSTRUCTION))


def is_overdue(facility: Facility, *, today: date) -> bool:
    """The same rule for one loaded facility."""
    return bool(facility.due_on and facility.due_on < today and facility.status in UNDER_CONSTRUCTION)


async def get_facility(session: AsyncSession, *, actor: Principal, facility_id: int) -> tuple[Facility, OrgUnit]:
    """A facility inside the caller's subtree, with its org unit."""
    actor.require_role(STAFF_ROLES)
    row = (
        await session.execute(
            select(Facility, OrgUnit)
            .join(OrgUnit, OrgUnit.id == Facility.org_unit_id)
            .where(Facility.id == facility_id)
        )
    ).first()
    if row is None or not actor.covers(row[1].path):
        raise NotFound(f"facility {facility_id} does not exist")
    return row[0], row[1]


def standard_checks(facility: Facility, *, unit: OrgUnit) -> list[StandardCheck] | None:
    """A grassroots centre's measured values against the construction standard of its unit's level."""
    if facility.type != FacilityType.grassroots_centre:
        return None
    return [
        StandardCheck(
            field=result.rule.field,
            required=result.rule.required,
            actual=result.actual,
            met=result.met,
            text=result.rule.text,
        )
        for result in check_centre(facility, kind=unit.kind)
    ]


def facility_view(facility: Facility, *, unit: OrgUnit | None = None, today: date | None = None) -> FacilityPublic:
    """A facility as clients see it; with its unit, a grassroots centre carries its standard check."""
    return FacilityPublic.model_validate(
        facility_columns(facility)
        | {
            "overdue": is_overdue(facility, today=today or today_in()),
            "standard_check": standard_checks(facility, unit=unit) if unit is not None else None,
        }
    )


async def list_facilities(
    session: AsyncSession, *, actor: Principal, filters: FacilityFilters, limit: int, cursor: str | None
) -> tuple[list[Facility], str | None, date]:
    """Facilities inside the caller's subtree, filtered, ordered by id, one page at a time."""
    actor.require_role(STAFF_ROLES)
    today = today_in()
    query = select(Facility).join(OrgUnit, OrgUnit.id == Facility.org_unit_id).order_by(Facility.id).limit(limit + 1)
    if actor.scope_path is not None:
        query = query.where(OrgUnit.path.startswith(actor.scope_path))
    if filters.within is not None:
        root = await get_org_unit(session, actor=actor, unit_id=filters.within)
        query = query.where(OrgUnit.path.startswith(root.path))
    for column, value in {"type": filters.type, "status": filters.status, "pilot": filters.pilot}.items():
        if value is not None:
            query = query.where(getattr(Facility, column) == value)
    if filters.overdue is not None:
        query = query.where(overdue_clause(today) if filters.overdue else not_(overdue_clause(today)))
    if filters.q:
        query = query.where(or_(Facility.name.contains(filters.q, autoescape=True), Facility.code == filters.q))
    if (after := decode_cursor(cursor, size=1)) is not None:
        query = query.where(Facility.id > after[0])
    rows = list((await session.scalars(query)).all())
    page, next_cursor = page_of(rows, limit=limit, key=lambda facility: [facility.id])
    return page, next_cursor, today


async def _unit_for(session: AsyncSession, *, actor: Principal, unit_id: int) -> OrgUnit:
    unit = await session.get(OrgUnit, unit_id)
    if unit is None:
        raise InvalidInput(f"org unit {unit_id} does not exist", field="org_unit_id")
    actor.require_covers(unit.path)
    return unit


def check_placement(*, facility_type: FacilityType, unit: OrgUnit) -> None:
    """A grassroots centre stands at a street, town, community or village (the standard's three levels)."""
    if facility_type == FacilityType.grassroots_centre and centre_standard().level_for(unit.kind) is None:
        kinds = ", ".join(kind for level in centre_standard().levels.values() for kind in level.unit_kinds)
        raise InvalidInput(f"a grassroots centre belongs to a {kinds}, not a {unit.kind.value}", field="org_unit_id")


def require_measured(facility: Facility, *, unit: OrgUnit) -> None:
    """An open grassroots centre needs every value the standard checks: 422 naming each missing one."""
    if facility.type != FacilityType.grassroots_centre or facility.status != FacilityStatus.open:
        return
    if errors := missing_errors(check_centre(facility, kind=unit.kind)):
        names = ", ".join(sorted({str(error["field"]) for error in errors}))
        raise InvalidInput(f"{facility.code} cannot be open without its measured {names}", errors=errors)


async def create_facility(session: AsyncSession, *, actor: Principal, data: FacilityCreate) -> tuple[Facility, OrgUnit]:
    """Register a facility at an org unit the caller covers; a centre created open is checked."""
    actor.require_role(WRITERS)
    unit = await _unit_for(session, actor=actor, unit_id=data.org_unit_id)
    check_placement(facility_type=data.type, unit=unit)
    if await session.scalar(select(Facility.id).where(Facility.code == data.code)) is not None:
        raise Conflict(f"facility code {data.code} is already used", errors=[{"field": "code", "message": "duplicate"}])
    facility = Facility(**data.model_dump())
    require_measured(facility, unit=unit)
    session.add(facility)
    await session.flush()
    await record_change(
        session,
        actor=actor,
        action="create",
        entity="facility",
        entity_id=facility.id,
        before=None,
        after=audit_snapshot(facility),
    )
    return facility, unit


async def update_facility(
    session: AsyncSession, *, actor: Principal, facility_id: int, data: FacilityUpdate, if_match: str | None
) -> tuple[Facility, OrgUnit]:
    """Change a facility's attributes (not its status); needs If-Match."""
    actor.require_role(WRITERS)
    facility, unit = await get_facility(session, actor=actor, facility_id=facility_id)
    await check_if_match(session, facility, if_match)
    before = audit_snapshot(facility)
    changes: dict[str, Any] = data.model_dump(exclude_unset=True)
    if changes.get("org_unit_id", facility.org_unit_id) != facility.org_unit_id:
        unit = await _unit_for(session, actor=actor, unit_id=changes["org_unit_id"])
    for key, value in changes.items():
        setattr(facility, key, value)
    if facility.opened_on and facility.closed_on and facility.closed_on < facility.opened_on:
        raise InvalidInput("closed_on is before opened_on", field="closed_on")
    check_placement(facility_type=facility.type, unit=unit)
    require_measured(facility, unit=unit)
    bump_version(facility)
    await session.flush()
    await record_change(
        session,
        actor=actor,
        action="update",
        entity="facility",
        entity_id=facility.id,
        before=before,
        after=audit_snapshot(facility),
    )
    return facility, unit


async def change_status(
    session: AsyncSession, *, actor: Principal, facility_id: int, data: StatusChange, if_match: str | None
) -> tuple[Facility, OrgUnit]:
    """One construction or service step (planned → building → open → closed); opening checks the standard."""
    actor.require_role(WRITERS)
    facility, unit = await get_facility(session, actor=actor, facility_id=facility_id)
    await check_if_match(session, facility, if_match)
    allowed = NEXT_STATUS[facility.status]
    if data.status not in allowed:
        after = ", ".join(allowed) or "nothing (closed is final)"
        message = f"{facility.status.value} → {data.status.value} is not allowed; from {facility.status.value}: {after}"
        raise Conflict(message, errors=[{"field": "status", "message": message}])
    if data.on is not None and data.status == FacilityStatus.building:
        raise InvalidInput("a date is kept only for opening and closing", field="on")
    if data.on is not None and data.on > today_in():
        raise InvalidInput("the date lies in the future", field="on")
    before = audit_snapshot(facility)
    facility.status = data.status
    if data.status == FacilityStatus.open:
        facility.opened_on, facility.closed_on = data.on or today_in(), None
    elif data.status == FacilityStatus.closed:
        facility.closed_on = data.on or today_in()
        if facility.opened_on and facility.closed_on < facility.opened_on:
            raise InvalidInput(f"it opened on {facility.opened_on}, after that date", field="on")
    require_measured(facility, unit=unit)
    bump_version(facility)
    await session.flush()
    await record_change(
        session,
        actor=actor,
        action="update",
        entity="facility",
        entity_id=facility.id,
        before=before,
        after=audit_snapshot(facility),
    )
    return facility, unit


async def delete_facility(session: AsyncSession, *, actor: Principal, facility_id: int) -> None:
    """Remove a facility registered by mistake; one with statistics or activities is closed instead."""
    actor.require_role(WRITERS)
    facility, _unit = await get_facility(session, actor=actor, facility_id=facility_id)
    in_use = await session.scalar(
        select(
            or_(
                exists().where(DataValue.facility_id == facility.id),
                exists().where(Activity.facility_id == facility.id),
            )
        )
    )
    if in_use:
        raise Conflict(f"{facility.code} has statistics or activities; close it (status closed) instead of deleting")
    before = audit_snapshot(facility)
    await session.delete(facility)
    await session.flush()
    await record_change(
        session, actor=actor, action="delete", entity="facility", entity_id=facility_id, before=before, after=None
    )


async def construction_summary(
    session: AsyncSession, *, actor: Principal, unit_id: int, facility_type: FacilityType
) -> ConstructionSummary:
    """Counts by status and level, and every facility past its deadline, in a unit's subtree."""
    actor.require_role(STAFF_ROLES)
    root = await get_org_unit(session, actor=actor, unit_id=unit_id)
    today = today_in()
    in_subtree = (Facility.type == facility_type, OrgUnit.path.startswith(root.path))
    levels, by_status = await _progress(session, in_subtree=in_subtree, today=today)
    late = await session.execute(
        select(
            Facility.id,
            Facility.code,
            Facility.name,
            Facility.org_unit_id,
            OrgUnit.name.label("org_unit_name"),
            Facility.status,
            Facility.due_on,
            Facility.pilot,
        )
        .join(OrgUnit, OrgUnit.id == Facility.org_unit_id)
        .where(*in_subtree, overdue_clause(today))
        .order_by(Facility.due_on, Facility.code)
    )
    return ConstructionSummary(
        org_unit_id=unit_id,
        type=facility_type,
        as_of=today,
        total=sum(by_status.values()),
        by_status=by_status,
        by_level=levels,
        overdue=[OverdueFacility(**row._mapping, days_late=(today - row.due_on).days) for row in late.all()],
    )


async def _progress(
    session: AsyncSession, *, in_subtree: tuple[ColumnElement[bool], ...], today: date
) -> tuple[list[LevelProgress], dict[str, int]]:
    counts = await session.execute(
        select(
            OrgUnit.kind,
            Facility.status,
            func.count(),
            func.sum(case((overdue_clause(today), 1), else_=0)),
            func.sum(case((Facility.pilot.is_(True), 1), else_=0)),
        )
        .join(OrgUnit, OrgUnit.id == Facility.org_unit_id)
        .where(*in_subtree)
        .group_by(OrgUnit.kind, Facility.status)
    )
    level_of_kind = {kind: name for name, spec in centre_standard().levels.items() for kind in spec.unit_kinds}
    levels = {name: LevelProgress(level=name, total=0) for name in centre_standard().levels}
    by_status = {status.value: 0 for status in FacilityStatus}
    for kind, status, number, overdue, pilots in counts.all():
        name = level_of_kind.get(kind, "other")
        level = levels.setdefault(name, LevelProgress(level=name, total=0))
        setattr(level, status, getattr(level, status) + number)
        level.total, level.overdue, level.pilots = (
            level.total + number,
            level.overdue + int(overdue),
            level.pilots + int(pilots),
        )
        by_status[status] += number
    return list(levels.values()), by_status
