"""Creating, changing and reading plans."""

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.audit.service import record_change, snapshot
from shared.auth.scope import PLANNERS, Principal
from shared.concurrency import bump_version, check_if_match
from shared.errors import InvalidInput, NotFound
from shared.orgunits.models import OrgUnit
from shared.plans.models import Plan, PlanPhase
from shared.plans.schemas import PhaseIn, PhasePublic, PlanCreate, PlanPublic, PlanUpdate
from shared.tasks.models import Task


async def get_plan(session: AsyncSession, *, actor: Principal, plan_id: int) -> tuple[Plan, OrgUnit]:
    """A plan the caller can see, with its org unit."""
    row = (
        await session.execute(
            select(Plan, OrgUnit).join(OrgUnit, OrgUnit.id == Plan.org_unit_id).where(Plan.id == plan_id)
        )
    ).first()
    if row is None or not actor.covers(row[1].path):
        raise NotFound(f"plan {plan_id} does not exist")
    return row[0], row[1]


async def plan_public(session: AsyncSession, *, plan: Plan) -> PlanPublic:
    """A plan with its phases."""
    phases = (
        await session.scalars(
            select(PlanPhase).where(PlanPhase.plan_id == plan.id).order_by(PlanPhase.starts_on, PlanPhase.id)
        )
    ).all()
    return PlanPublic.model_validate(
        plan.model_dump() | {"phases": [PhasePublic.model_validate(phase) for phase in phases]}
    )


async def create_plan(session: AsyncSession, *, actor: Principal, data: PlanCreate) -> Plan:
    """A new plan for an org unit in the caller's subtree."""
    actor.require_role(PLANNERS)
    unit = await session.get(OrgUnit, data.org_unit_id)
    if unit is None:
        raise InvalidInput(f"org unit {data.org_unit_id} does not exist", field="org_unit_id")
    actor.require_covers(unit.path)
    plan = Plan(**data.model_dump(exclude={"phases"}))
    session.add(plan)
    await session.flush()
    await _replace_phases(session, plan=plan, phases=data.phases)
    await record_change(
        session, actor=actor, action="create", entity="plan", entity_id=plan.id, before=None, after=snapshot(plan)
    )
    return plan


async def _replace_phases(session: AsyncSession, *, plan: Plan, phases: list[PhaseIn]) -> None:
    await session.execute(delete(PlanPhase).where(PlanPhase.plan_id == plan.id))
    for phase in phases:
        if phase.starts_on < plan.starts_on or phase.ends_on > plan.ends_on:
            raise InvalidInput(f"phase {phase.name} lies outside the plan's period", field="phases")
        session.add(PlanPhase(plan_id=plan.id, **phase.model_dump()))
    await session.flush()


async def update_plan(
    session: AsyncSession,
    *,
    actor: Principal,
    plan_id: int,
    data: PlanUpdate,
    if_match: str | None,
) -> Plan:
    """Change a plan; its period must still hold every task's deadline."""
    actor.require_role(PLANNERS)
    plan, _unit = await get_plan(session, actor=actor, plan_id=plan_id)
    await check_if_match(session, plan, if_match)
    before = snapshot(plan)
    for key, value in data.model_dump(exclude_unset=True, exclude={"phases"}).items():
        setattr(plan, key, value)
    if plan.ends_on < plan.starts_on:
        raise InvalidInput("ends_on is before starts_on", field="ends_on")
    earliest, latest = (
        await session.execute(select(func.min(Task.due_date), func.max(Task.due_date)).where(Task.plan_id == plan.id))
    ).one()
    if (earliest and earliest < plan.starts_on) or (latest and latest > plan.ends_on):
        raise InvalidInput("the new period would leave task deadlines outside the plan", field="ends_on")
    if data.phases is not None:
        await _replace_phases(session, plan=plan, phases=data.phases)
    bump_version(plan)
    await session.flush()
    await record_change(
        session, actor=actor, action="update", entity="plan", entity_id=plan.id, before=before, after=snapshot(plan)
    )
    return plan


async def list_plans(session: AsyncSession, *, actor: Principal, org_unit_id: int | None) -> list[Plan]:
    """Plans of org units inside the caller's subtree (or inside one unit's subtree)."""
    query = select(Plan).join(OrgUnit, OrgUnit.id == Plan.org_unit_id).order_by(Plan.id)
    if actor.scope_path is not None:
        query = query.where(OrgUnit.path.startswith(actor.scope_path))
    if org_unit_id is not None:
        unit = await session.get(OrgUnit, org_unit_id)
        if unit is None or not actor.covers(unit.path):
            raise NotFound(f"org unit {org_unit_id} does not exist")
        query = query.where(OrgUnit.path.startswith(unit.path))
    return list((await session.scalars(query)).all())
