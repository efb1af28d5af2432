"""Milestone verdicts and plan targets."""

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.audit.service import record_change, snapshot
from shared.auth.scope import PLANNERS, Principal
from shared.errors import InvalidInput
from shared.indicators.catalogue import MilestoneIndicator
from shared.indicators.engine.run import catalogue
from shared.indicators.models import MilestoneAssessment, PlanTarget
from shared.indicators.schemas import AssessmentCreate, TargetIn
from shared.indicators.service import indicator_by_code
from shared.orgunits.models import OrgUnit
from shared.orgunits.service import get_org_unit
from shared.plans.models import Plan
from shared.plans.service import get_plan
from shared.tasks.models import Evidence, Task, TaskIndicator


async def assess_milestone(
    session: AsyncSession,
    *,
    actor: Principal,
    unit_id: int,
    code: str,
    data: AssessmentCreate,
) -> MilestoneAssessment:
    """Record whether a qualitative requirement is met; 'met' needs evidence from tasks linked to it."""
    actor.require_role(PLANNERS)
    unit = await get_org_unit(session, actor=actor, unit_id=unit_id)
    if not isinstance(indicator_by_code(code), MilestoneIndicator):
        raise InvalidInput(f"{code} is computed from data, not assessed", field="code")
    if data.met and not data.evidence_ids:
        raise InvalidInput("a requirement is marked met only with evidence", field="evidence_ids")
    linked = set(
        (
            await session.scalars(
                select(Evidence.id)
                .join(TaskIndicator, TaskIndicator.task_id == Evidence.task_id)
                .join(Task, Task.id == Evidence.task_id)
                .join(Plan, Plan.id == Task.plan_id)
                .join(OrgUnit, OrgUnit.id == Plan.org_unit_id)
                .where(
                    Evidence.id.in_(data.evidence_ids),
                    TaskIndicator.indicator_code == code,
                    OrgUnit.path.startswith(unit.path),
                )
            )
        ).all()
    )
    if stray := sorted(set(data.evidence_ids) - linked):
        raise InvalidInput(
            f"evidence {stray} is not from a task of {unit.name}'s plans linked to {code}", field="evidence_ids"
        )
    row = await session.scalar(
        select(MilestoneAssessment).where(
            MilestoneAssessment.indicator_code == code,
            MilestoneAssessment.org_unit_id == unit.id,
            MilestoneAssessment.period == data.period,
        )
    )
    before = snapshot(row)
    if row is None:
        row = MilestoneAssessment(indicator_code=code, org_unit_id=unit.id, period=data.period, met=data.met)
        session.add(row)
    row.met, row.note, row.evidence_ids, row.assessor_id = data.met, data.note, data.evidence_ids, actor.user_id
    await session.flush()
    await record_change(
        session,
        actor=actor,
        action="update" if before else "create",
        entity="milestone_assessment",
        entity_id=row.id,
        before=before,
        after=snapshot(row),
    )
    return row


async def set_plan_targets(
    session: AsyncSession, *, actor: Principal, plan_id: int, targets: list[TargetIn]
) -> list[PlanTarget]:
    """Replace a plan's own targets."""
    actor.require_role(PLANNERS)
    plan, _unit = await get_plan(session, actor=actor, plan_id=plan_id)
    for position, target in enumerate(targets):
        try:
            catalogue().by_code(target.indicator_code)
        except KeyError as exc:
            raise InvalidInput(
                f"unknown indicator {target.indicator_code}", field=f"targets.{position}.indicator_code"
            ) from exc
    before = [snapshot(row) for row in await list_plan_targets(session, actor=actor, plan_id=plan_id)]
    await session.execute(delete(PlanTarget).where(PlanTarget.plan_id == plan.id))
    rows = [PlanTarget(plan_id=plan.id, **target.model_dump()) for target in targets]
    session.add_all(rows)
    await session.flush()
    await record_change(
        session,
        actor=actor,
        action="update",
        entity="plan_targets",
        entity_id=plan.id,
        before={"targets": before},
        after={"targets": [snapshot(row) for row in rows]},
    )
    return rows


async def targets_from_catalogue(
    session: AsyncSession, *, actor: Principal, plan_id: int, target_set: str
) -> list[PlanTarget]:
    """Set a plan's targets to those the catalogue records for a named plan (e.g. zhongshan_xiqu)."""
    targets = [
        TargetIn(indicator_code=indicator.code, op=target.op, value=target.value)
        for indicator in catalogue().indicators
        for target in indicator.targets
        if target.plan == target_set
    ]
    if not targets:
        raise InvalidInput(f"the catalogue has no targets for {target_set}", field="target_set")
    return await set_plan_targets(session, actor=actor, plan_id=plan_id, targets=targets)


async def list_plan_targets(session: AsyncSession, *, actor: Principal, plan_id: int) -> list[PlanTarget]:
    """A plan's own targets."""
    plan, _unit = await get_plan(session, actor=actor, plan_id=plan_id)
    query = select(PlanTarget).where(PlanTarget.plan_id == plan.id).order_by(PlanTarget.indicator_code)
    return list((await session.scalars(query)).all())
