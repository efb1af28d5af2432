"""Recording activities (one, a batch or a file's worth in bulk), reading, deleting and summing them over subtrees."""

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Row, extract, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.activities.models import Activity, ActivityType, Provider
from shared.activities.schemas import (
    ActivityCounts,
    ActivityCreate,
    ActivitySummary,
    BatchCreated,
    MonthSummary,
    TypeSummary,
)
from shared.audit.models import AuditEntry
from shared.audit.service import record_change, snapshot
from shared.auth.models import Role
from shared.auth.scope import STAFF_ROLES, Principal
from shared.clock import today_in
from shared.errors import InvalidInput, ScopeDenied
from shared.facilities.models import Facility
from shared.lookups import lookup_in_chunks, named_place
from shared.orgunits.models import OrgUnit
from shared.orgunits.scoped import get_in_scope
from shared.orgunits.service import get_org_unit
from shared.pagination import decode_cursor, page_of
from shared.statistics.periods import parse_period

WRITERS = (Role.admin, Role.plan_manager, Role.unit_clerk)
Note = Callable[[str, str], None]


@dataclass(frozen=True, slots=True)
class ActivityFilters:
    """What a client may filter the activities by."""

    type: ActivityType | None = None
    provider: Provider | None = None
    within: int | None = None
    facility_id: int | None = None
    from_date: date | None = None
    to_date: date | None = None


@dataclass(slots=True)
class Checked:
    """The rows ready to store, every problem by row and field, and the rows outside the caller's scope."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    denied: list[dict[str, Any]] = field(default_factory=list)

    def raise_if_any(self, *, what: str) -> None:
        """403 when any item lies outside the caller's scope, else 422; either lists every problem by row."""
        problems = sorted(self.denied + self.errors, key=lambda problem: problem["row"])
        if self.denied:
            message = f"{len(self.denied)} {what} lie outside your org-unit scope; nothing was written"
            raise ScopeDenied(message, errors=problems)
        if problems:
            raise InvalidInput(f"{len(problems)} problem(s) found; nothing was written", errors=problems)


async def _places(session: AsyncSession, items: Sequence[ActivityCreate]) -> dict[str, dict[Any, Row[Any]]]:
    """The org units and facilities the items name, one query per kind of name (id or code)."""
    units = select(OrgUnit.id, OrgUnit.code, OrgUnit.path)
    facilities = select(Facility.id, Facility.code, OrgUnit.path).join(OrgUnit, OrgUnit.id == Facility.org_unit_id)
    wanted = {
        "org_unit_id": (units, OrgUnit.id, {i.org_unit_id for i in items if i.org_unit_id is not None}),
        "org_unit_code": (units, OrgUnit.code, {i.org_unit_code for i in items if i.org_unit_code}),
        "facility_id": (facilities, Facility.id, {i.facility_id for i in items if i.facility_id is not None}),
        "facility_code": (facilities, Facility.code, {i.facility_code for i in items if i.facility_code}),
    }
    found: dict[str, dict[Any, Row[Any]]] = {}
    for name, (query, column, values) in wanted.items():
        rows = await lookup_in_chunks(session, query, column, values) if values else []
        found[name] = {getattr(row, name.rsplit("_", 1)[1]): row for row in rows}
    return found


def _check_item(
    row: int, item: ActivityCreate, *, actor: Principal, places: dict[str, Any], today: date, checked: Checked
) -> dict[str, Any] | None:
    before = len(checked.errors)

    def note(name: str, message: str) -> None:
        checked.errors.append({"row": row, "field": name, "message": message})

    unit = named_place(item, places, what="org_unit", note=note)
    if item.org_unit_id is None and not item.org_unit_code:
        note("org_unit_code", "name the org unit (org_unit_id or org_unit_code)")
    facility = named_place(item, places, what="facility", note=note)
    if item.occurred_on > today:
        note("occurred_on", f"{item.occurred_on} lies in the future (today is {today})")
    if unit is not None and not actor.covers(unit.path):
        unit_field = "org_unit_code" if item.org_unit_id is None else "org_unit_id"
        message = f"org unit {unit.code} lies outside your org-unit scope"
        checked.denied.append({"row": row, "field": unit_field, "message": message})
        return None
    if unit is not None and facility is not None and not facility.path.startswith(unit.path):
        facility_field = "facility_code" if item.facility_id is None else "facility_id"
        note(facility_field, f"facility {facility.code} is neither at org unit {unit.code} nor inside its subtree")
    if len(checked.errors) > before or unit is None:
        return None
    values = item.model_dump(exclude={"org_unit_id", "org_unit_code", "facility_id", "facility_code"})
    return values | {"org_unit_id": unit.id, "facility_id": facility.id if facility is not None else None}


async def check_activities(
    session: AsyncSession, *, actor: Principal, items: Sequence[tuple[int, ActivityCreate]], source: str
) -> Checked:
    """Resolve every name with one query per kind and check every item; problems by row and field."""
    places = await _places(session, [item for _row, item in items])
    checked, today = Checked(), today_in()
    for row, item in items:
        values = _check_item(row, item, actor=actor, places=places, today=today, checked=checked)
        if values is not None:
            checked.rows.append(values | {"source": source})
    return checked


def parse_items(items: Sequence[Any]) -> tuple[list[tuple[int, ActivityCreate]], list[dict[str, Any]]]:
    """Each raw JSON item validated exactly as POST /activities would; the valid ones by index, every problem by row."""
    parsed: list[tuple[int, ActivityCreate]] = []
    problems: list[dict[str, Any]] = []
    for row, raw in enumerate(items):
        try:
            parsed.append((row, ActivityCreate.model_validate_json(json.dumps(raw))))
        except ValidationError as exc:
            problems += [
                {
                    "row": row,
                    "field": ".".join(str(part) for part in error["loc"]) or None,
                    "message": error["msg"].removeprefix("Value error, "),
                }
                for error in exc.errors()
            ]
    return parsed, problems


async def create_activity(session: AsyncSession, *, actor: Principal, data: ActivityCreate) -> Activity:
    """Record one activity at an org unit the caller covers."""
    actor.require_role(WRITERS)
    checked = await check_activities(session, actor=actor, items=[(0, data)], source="manual")
    if checked.denied or checked.errors:
        error = ScopeDenied if checked.denied else InvalidInput
        problems = [
            {"field": problem["field"], "message": problem["message"]} for problem in checked.denied or checked.errors
        ]
        raise error(problems[0]["message"], errors=problems)
    activity = Activity(**checked.rows[0])
    session.add(activity)
    await session.flush()
    await record_change(
        session,
        actor=actor,
        action="create",
        entity="activity",
        entity_id=activity.id,
        before=None,
        after=snapshot(activity),
    )
    return activity


async def create_batch(session: AsyncSession, *, actor: Principal, items: Sequence[Any]) -> BatchCreated:
    """Record up to 5,000 activities in one bulk insert: all or nothing, every bad item named by its index."""
    actor.require_role(WRITERS)
    parsed, problems = parse_items(items)
    checked = await check_activities(session, actor=actor, items=parsed, source="manual")
    checked.errors += problems
    checked.raise_if_any(what="activities")
    statement = insert(Activity).returning(Activity.id, sort_by_parameter_order=True)
    ids = list((await session.scalars(statement, checked.rows)).all())
    history = [
        {
            "user_id": actor.user_id,
            "username": actor.username,
            "action": "create",
            "entity": "activity",
            "entity_id": str(activity_id),
            "after": _json_row(values | {"id": activity_id}),
        }
        for activity_id, values in zip(ids, checked.rows, strict=True)
    ]
    await session.execute(insert(AuditEntry), history)
    return BatchCreated(created=len(ids), ids=ids)


def _json_row(values: dict[str, Any]) -> dict[str, Any]:
    return {
        key: value.isoformat() if isinstance(value, date) else value.value if isinstance(value, Enum) else value
        for key, value in values.items()
    }


async def get_activity(session: AsyncSession, *, actor: Principal, activity_id: int) -> Activity:
    """One activity at an org unit inside the caller's subtree."""
    actor.require_role(STAFF_ROLES)
    return await get_in_scope(session, actor=actor, model=Activity, row_id=activity_id, what="activity")


async def delete_activity(session: AsyncSession, *, actor: Principal, activity_id: int) -> None:
    """Remove an activity recorded by mistake."""
    actor.require_role(WRITERS)
    activity = await get_activity(session, actor=actor, activity_id=activity_id)
    before = snapshot(activity)
    await session.delete(activity)
    await session.flush()
    await record_change(
        session, actor=actor, action="delete", entity="activity", entity_id=activity_id, before=before, after=None
    )


async def list_activities(
    session: AsyncSession, *, actor: Principal, filters: ActivityFilters, limit: int, cursor: str | None
) -> tuple[list[Activity], str | None]:
    """Activities inside the caller's subtree, filtered, ordered by id, one page at a time."""
    actor.require_role(STAFF_ROLES)
    if filters.from_date and filters.to_date and filters.to_date < filters.from_date:
        raise InvalidInput("to lies before from", field="to")
    query = select(Activity).join(OrgUnit, OrgUnit.id == Activity.org_unit_id).order_by(Activity.id).limit(limit + 1)
    if actor.scope_path is not None:
        query = query.where(OrgUnit.path.startswith(actor.scope_path))
    if filters.within is not None:
        root = await get_org_unit(session, actor=actor, unit_id=filters.within)
        query = query.where(OrgUnit.path.startswith(root.path))
    for column, value in {
        "type": filters.type,
        "provider": filters.provider,
        "facility_id": filters.facility_id,
    }.items():
        if value is not None:
            query = query.where(getattr(Activity, column) == value)
    if filters.from_date is not None:
        query = query.where(Activity.occurred_on >= filters.from_date)
    if filters.to_date is not None:
        query = query.where(Activity.occurred_on <= filters.to_date)
    if (after := decode_cursor(cursor, size=1)) is not None:
        query = query.where(Activity.id > after[0])
    rows = list((await session.scalars(query)).all())
    return page_of(rows, limit=limit, key=lambda activity: [activity.id])


async def activity_summary(session: AsyncSession, *, actor: Principal, unit_id: int, period: str) -> ActivitySummary:
    """Counts and attendance of the activities in a unit's subtree over a period, by type and by month."""
    actor.require_role(STAFF_ROLES)
    root = await get_org_unit(session, actor=actor, unit_id=unit_id)
    span = parse_period(period.strip())
    month = extract("month", Activity.occurred_on)
    grouped = await session.execute(
        select(
            Activity.type,
            month,
            func.count(),
            func.coalesce(func.sum(Activity.attendance), 0),
            func.count().filter(Activity.domestic_new_film.is_(True)),
        )
        .join(OrgUnit, OrgUnit.id == Activity.org_unit_id)
        .where(OrgUnit.path.startswith(root.path), Activity.occurred_on.between(span.start, span.end))
        .group_by(Activity.type, month)
    )
    total = ActivityCounts()
    by_type = {kind: TypeSummary(type=kind) for kind in ActivityType}
    by_month = {
        number: MonthSummary(month=f"{span.start.year}-{number:02d}", by_type={})
        for number in range(span.start.month, span.end.month + 1)
    }
    for kind, number, count, attendance, films in grouped.all():
        for bucket in (total, by_type[kind], by_month[int(number)]):
            bucket.count, bucket.attendance = bucket.count + count, bucket.attendance + int(attendance)
            bucket.domestic_new_films += films
        by_month[int(number)].by_type[kind.value] = count
    assert root.id is not None
    return ActivitySummary(
        org_unit_id=root.id,
        period=span.code,
        start=span.start,
        end=span.end,
        total=total,
        by_type=list(by_type.values()),
        by_month=list(by_month.values()),
    )
