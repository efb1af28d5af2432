"""Creating, moving, listing and resolving org units and departments."""

from typing import Any

from sqlalchemy import func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.audit.service import record_change, snapshot
from shared.auth.models import Role
from shared.auth.scope import PLANNERS, Principal
from shared.concurrency import bump_version, check_if_match
from shared.errors import Conflict, InvalidInput, NotFound
from shared.orgunits.models import KIND_LEVELS, Department, OrgUnit, OrgUnitKind
from shared.orgunits.schemas import DepartmentCreate, OrgUnitCreate, OrgUnitUpdate
from shared.pagination import decode_cursor, page_of


async def get_org_unit(session: AsyncSession, *, actor: Principal, unit_id: int) -> OrgUnit:
    """One org unit inside the caller's subtree (re-read, as a move rewrites paths in bulk)."""
    unit = await session.get(OrgUnit, unit_id, populate_existing=True)
    if unit is None or not actor.covers(unit.path):
        raise NotFound(f"org unit {unit_id} does not exist")
    return unit


async def get_org_unit_by_code(session: AsyncSession, *, code: str) -> OrgUnit | None:
    """The org unit with a code, if any."""
    return await session.scalar(select(OrgUnit).where(OrgUnit.code == code))


async def _parent_for(session: AsyncSession, *, actor: Principal, parent_id: int | None) -> OrgUnit | None:
    if parent_id is None:
        if actor.scope_path is not None:
            raise InvalidInput("only an admin of the whole tree may add a root unit", field="parent_id")
        return None
    parent = await session.get(OrgUnit, parent_id)
    if parent is None:
        raise InvalidInput(f"parent org unit {parent_id} does not exist", field="parent_id")
    actor.require_covers(parent.path, what="parent org unit")
    return parent


def _check_level(*, level: int, kind: OrgUnitKind, parent: OrgUnit | None) -> None:
    if KIND_LEVELS[kind] != level:
        raise InvalidInput(f"a {kind.value} sits at level {KIND_LEVELS[kind]}, not {level}", field="level")
    if parent is not None and level <= parent.level:
        raise InvalidInput(f"level {level} must lie below its parent's level {parent.level}", field="level")


async def create_org_unit(session: AsyncSession, *, actor: Principal, data: OrgUnitCreate) -> OrgUnit:
    """Add an org unit under a parent the caller administers."""
    actor.require_role([Role.admin])
    parent = await _parent_for(session, actor=actor, parent_id=data.parent_id)
    _check_level(level=data.level, kind=data.kind, parent=parent)
    if await get_org_unit_by_code(session, code=data.code) is not None:
        raise Conflict(f"org unit code {data.code} is already used", errors=[{"field": "code", "message": "duplicate"}])
    unit = OrgUnit(**data.model_dump(), path="")
    session.add(unit)
    await session.flush()
    unit.path = f"{parent.path if parent else '/'}{unit.id}/"
    await session.flush()
    await record_change(
        session, actor=actor, action="create", entity="org_unit", entity_id=unit.id, before=None, after=snapshot(unit)
    )
    return unit


async def update_org_unit(
    session: AsyncSession,
    *,
    actor: Principal,
    unit_id: int,
    data: OrgUnitUpdate,
    if_match: str | None,
) -> OrgUnit:
    """Rename, re-date or move an org unit (with its whole subtree)."""
    actor.require_role([Role.admin])
    unit = await get_org_unit(session, actor=actor, unit_id=unit_id)
    await check_if_match(session, unit, if_match)
    before = snapshot(unit)
    changes = data.model_dump(exclude_unset=True)
    if "parent_id" in changes and changes["parent_id"] != unit.parent_id:
        await _move(session, actor=actor, unit=unit, parent_id=changes.pop("parent_id"))
    changes.pop("parent_id", None)
    for key, value in changes.items():
        setattr(unit, key, value)
    if unit.opened_on and unit.closed_on and unit.closed_on < unit.opened_on:
        raise InvalidInput("closed_on is before opened_on", field="closed_on")
    bump_version(unit)
    await session.flush()
    await record_change(
        session, actor=actor, action="update", entity="org_unit", entity_id=unit.id, before=before, after=snapshot(unit)
    )
    return unit


async def _move(session: AsyncSession, *, actor: Principal, unit: OrgUnit, parent_id: int | None) -> None:
    parent = await _parent_for(session, actor=actor, parent_id=parent_id)
    if parent is not None and parent.path.startswith(unit.path):
        raise Conflict(
            "the new parent lies inside this unit's own subtree (a cycle)",
            errors=[{"field": "parent_id", "message": "cycle"}],
        )
    _check_level(level=unit.level, kind=unit.kind, parent=parent)
    old_path = unit.path
    new_path = f"{parent.path if parent else '/'}{unit.id}/"
    await session.execute(
        update(OrgUnit)
        .where(OrgUnit.path.startswith(old_path))
        .values(path=literal(new_path).op("||")(func.substr(OrgUnit.path, len(old_path) + 1)))
        .execution_options(synchronize_session="fetch")
    )
    await session.refresh(unit)
    unit.parent_id = parent.id if parent else None


async def delete_org_unit(session: AsyncSession, *, actor: Principal, unit_id: int) -> None:
    """Remove a leaf org unit that nothing refers to."""
    actor.require_role([Role.admin])
    unit = await get_org_unit(session, actor=actor, unit_id=unit_id)
    if await session.scalar(select(func.count()).where(OrgUnit.parent_id == unit.id)):
        raise Conflict("the org unit still has child units; close it (closed_on) or remove them first")
    before = snapshot(unit)
    await session.delete(unit)
    await session.flush()
    await record_change(
        session, actor=actor, action="delete", entity="org_unit", entity_id=unit_id, before=before, after=None
    )


async def list_org_units(
    session: AsyncSession,
    *,
    actor: Principal,
    code: str | None = None,
    parent_id: int | None = None,
    level: int | None = None,
    kind: OrgUnitKind | None = None,
    within: int | None = None,
    name_contains: str | None = None,
    limit: int,
    cursor: str | None,
) -> tuple[list[OrgUnit], str | None]:
    """Org units inside the caller's subtree, filtered, ordered by id."""
    query = select(OrgUnit).order_by(OrgUnit.id).limit(limit + 1)
    if actor.scope_path is not None:
        query = query.where(OrgUnit.path.startswith(actor.scope_path))
    filters: dict[str, Any] = {"code": code, "parent_id": parent_id, "level": level, "kind": kind}
    for column, value in filters.items():
        if value is not None:
            query = query.where(getattr(OrgUnit, column) == value)
    if within is not None:
        root = await get_org_unit(session, actor=actor, unit_id=within)
        query = query.where(OrgUnit.path.startswith(root.path))
    if name_contains:
        query = query.where(OrgUnit.name.contains(name_contains, autoescape=True))
    if (after := decode_cursor(cursor, size=1)) is not None:
        query = query.where(OrgUnit.id > after[0])
    rows = list((await session.scalars(query)).all())
    return page_of(rows, limit=limit, key=lambda unit: [unit.id])


async def create_department(
    session: AsyncSession,
    *,
    actor: Principal,
    org_unit_id: int,
    data: DepartmentCreate,
) -> Department:
    """Add a responsible unit to an org unit."""
    actor.require_role(PLANNERS)
    unit = await get_org_unit(session, actor=actor, unit_id=org_unit_id)
    department = await find_department(session, org_unit_id=unit.id, name=data.name)
    if department is not None:
        raise Conflict(f"{data.name} already exists in {unit.name}", errors=[{"field": "name", "message": "duplicate"}])
    department = Department(org_unit_id=unit.id, name=data.name.strip())
    session.add(department)
    await session.flush()
    await record_change(
        session,
        actor=actor,
        action="create",
        entity="department",
        entity_id=department.id,
        before=None,
        after=snapshot(department),
    )
    return department


async def find_department(session: AsyncSession, *, org_unit_id: int, name: str) -> Department | None:
    """A department of an org unit by name."""
    return await session.scalar(
        select(Department).where(Department.org_unit_id == org_unit_id, Department.name == name.strip())
    )


async def list_departments(session: AsyncSession, *, actor: Principal, org_unit_id: int) -> list[Department]:
    """The departments of an org unit."""
    unit = await get_org_unit(session, actor=actor, unit_id=org_unit_id)
    query = select(Department).where(Department.org_unit_id == unit.id).order_by(Department.id)
    return list((await session.scalars(query)).all())
