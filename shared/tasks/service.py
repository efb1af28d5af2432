"""Creating, changing, deleting and reading tasks of a plan."""

from collections import defaultdict
from datetime import date

from sqlalchemy import and_, delete, exists, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from shared.audit.service import record_change, snapshot
from shared.auth.scope import PLANNERS, Principal
from shared.clock import today_in
from shared.concurrency import bump_version, check_if_match
from shared.errors import InvalidInput, NotFound
from shared.orgunits.models import OrgUnit
from shared.orgunits.service import get_org_unit
from shared.pagination import BIGINT, INTEGER, decode_cursor, page_of
from shared.plans.models import Plan
from shared.plans.service import get_plan
from shared.tasks.assignees import replace_assignees
from shared.tasks.deadlines import Deadline, deadline_for
from shared.tasks.filters import TaskFilters
from shared.tasks.models import Task, TaskAssignee, TaskIndicator, TaskKind, TaskOccurrence, TaskStatus
from shared.tasks.schemas import AssigneePublic, OccurrencePublic, TaskCreate, TaskPublic, TaskUpdate

PARENT_KIND = {TaskKind.work_task: TaskKind.area, TaskKind.breakdown_item: TaskKind.work_task}


def overdue_clause(today: date) -> ColumnElement[bool]:
    """SQL for 'past its due date and not done'."""
    return and_(Task.due_date.is_not(None), Task.due_date < today, Task.status != TaskStatus.done)


async def get_task(session: AsyncSession, *, actor: Principal, task_id: int) -> tuple[Task, Plan, OrgUnit]:
    """A task the caller can see, with its plan and the plan's org unit."""
    task = await session.get(Task, task_id)
    if task is None:
        raise NotFound(f"task {task_id} does not exist")
    try:
        plan, unit = await get_plan(session, actor=actor, plan_id=task.plan_id)
    except NotFound as exc:
        raise NotFound(f"task {task_id} does not exist") from exc
    return task, plan, unit


async def tasks_public(session: AsyncSession, *, tasks: list[Task], today: date) -> list[TaskPublic]:
    """Tasks with their assignees, indicator links and yearly occurrences, loaded in three queries."""
    ids = [task.id for task in tasks]
    assignees: dict[int, list[AssigneePublic]] = defaultdict(list)
    for row in (
        await session.scalars(select(TaskAssignee).where(TaskAssignee.task_id.in_(ids)).order_by(TaskAssignee.position))
    ).all():
        assignees[row.task_id].append(AssigneePublic.model_validate(row))
    indicators: dict[int, list[str]] = defaultdict(list)
    for row in (await session.scalars(select(TaskIndicator).where(TaskIndicator.task_id.in_(ids)))).all():
        indicators[row.task_id].append(row.indicator_code)
    occurrences: dict[int, list[OccurrencePublic]] = defaultdict(list)
    for row in (
        await session.scalars(
            select(TaskOccurrence).where(TaskOccurrence.task_id.in_(ids)).order_by(TaskOccurrence.year)
        )
    ).all():
        occurrences[row.task_id].append(OccurrencePublic.model_validate(row))
    return [
        TaskPublic(
            **task.model_dump(exclude={"position", "created_at"}),
            assignees=assignees[task.id],
            indicator_codes=sorted(indicators[task.id]),
            occurrences=occurrences[task.id],
            overdue=bool(task.due_date and task.due_date < today and task.status != TaskStatus.done),
        )
        for task in tasks
    ]


async def task_view(session: AsyncSession, *, task: Task) -> TaskPublic:
    """One task as clients see it, overdue judged in its plan's time zone."""
    plan = await session.get(Plan, task.plan_id)
    return (await tasks_public(session, tasks=[task], today=today_in(plan.timezone if plan else None)))[0]


async def list_tasks(
    session: AsyncSession,
    *,
    actor: Principal,
    filters: TaskFilters,
    limit: int,
    cursor: str | None,
) -> tuple[list[Task], str | None, date]:
    """Tasks the caller can see, filtered, in table order, one page at a time."""
    today = today_in()
    query = (
        select(Task)
        .join(Plan, Plan.id == Task.plan_id)
        .join(OrgUnit, OrgUnit.id == Plan.org_unit_id)
        .order_by(Task.plan_id, Task.position, Task.id)
        .limit(limit + 1)
    )
    if actor.scope_path is not None:
        query = query.where(OrgUnit.path.startswith(actor.scope_path))
    if filters.plan_id is not None:
        plan, _unit = await get_plan(session, actor=actor, plan_id=filters.plan_id)
        today = today_in(plan.timezone)
        query = query.where(Task.plan_id == plan.id)
    if filters.org_unit_id is not None:
        unit = await get_org_unit(session, actor=actor, unit_id=filters.org_unit_id)
        query = query.where(OrgUnit.path.startswith(unit.path))
    query = query.where(*filters.clauses(today=today, overdue=overdue_clause(today)))
    if filters.department_id is not None or filters.assignee:
        query = query.where(exists().where(*filters.assignee_clauses()))
    if (after := decode_cursor(cursor, size=3, bounds=(BIGINT, INTEGER, BIGINT))) is not None:
        query = query.where(tuple_(Task.plan_id, Task.position, Task.id) > tuple_(*after))
    rows = list((await session.scalars(query)).all())
    page, next_cursor = page_of(rows, limit=limit, key=lambda task: [task.plan_id, task.position, task.id])
    return page, next_cursor, today


async def _check_parent(session: AsyncSession, *, plan: Plan, kind: TaskKind, parent_id: int | None) -> Task | None:
    if kind == TaskKind.area:
        if parent_id is not None:
            raise InvalidInput("an area has no parent", field="parent_id")
        return None
    if parent_id is None:
        if kind == TaskKind.breakdown_item:
            raise InvalidInput("a breakdown item needs its work task as parent", field="parent_id")
        return None
    parent = await session.get(Task, parent_id)
    if parent is None or parent.plan_id != plan.id:
        raise InvalidInput(f"task {parent_id} is not a task of plan {plan.id}", field="parent_id")
    if parent.kind != PARENT_KIND[kind]:
        raise InvalidInput(f"a {kind.value} belongs under a {PARENT_KIND[kind].value}", field="parent_id")
    return parent


async def _next_code(session: AsyncSession, *, plan: Plan, kind: TaskKind, parent: Task | None) -> str:
    siblings = select(func.count()).where(Task.plan_id == plan.id, Task.kind == kind)
    if kind == TaskKind.breakdown_item:
        assert parent is not None
        siblings = siblings.where(Task.parent_id == parent.id)
    number = (await session.scalar(siblings) or 0) + 1
    if kind == TaskKind.area:
        return f"A{number}"
    return str(number) if kind == TaskKind.work_task else f"{parent.code}.{number}"  # type: ignore[union-attr]


def apply_deadline(task: Task, deadline: Deadline) -> None:
    """Copy a deadline's fields onto a task."""
    task.due_kind, task.due_text = deadline.kind, deadline.text
    task.starts_on, task.due_date, task.recurrence = deadline.starts_on, deadline.due_date, deadline.recurrence


async def replace_occurrences(session: AsyncSession, *, task: Task, deadline: Deadline) -> None:
    """One occurrence row per plan year for a yearly task, none otherwise."""
    await session.execute(delete(TaskOccurrence).where(TaskOccurrence.task_id == task.id))
    for year, due in deadline.occurrences:
        session.add(TaskOccurrence(task_id=task.id, year=year, due_date=due))


async def replace_indicator_links(session: AsyncSession, *, task: Task, codes: list[str]) -> None:
    """Set the indicator codes a task serves."""
    await session.execute(delete(TaskIndicator).where(TaskIndicator.task_id == task.id))
    for code in sorted({code.strip().upper() for code in codes if code.strip()}):
        session.add(TaskIndicator(task_id=task.id, indicator_code=code))


async def create_task(session: AsyncSession, *, actor: Principal, plan_id: int, data: TaskCreate) -> Task:
    """Add a task to a plan the caller manages."""
    actor.require_role(PLANNERS)
    plan, unit = await get_plan(session, actor=actor, plan_id=plan_id)
    parent = await _check_parent(session, plan=plan, kind=data.kind, parent_id=data.parent_id)
    code = data.code or await _next_code(session, plan=plan, kind=data.kind, parent=parent)
    if await session.scalar(select(Task.id).where(Task.plan_id == plan.id, Task.code == code)):
        raise InvalidInput(f"task code {code} is already used in this plan", field="code")
    deadline = deadline_for(plan=plan, due_text=data.due_text, due_date=data.due_date)
    last = await session.scalar(select(func.max(Task.position)).where(Task.plan_id == plan.id))
    task = Task(
        plan_id=plan.id, parent_id=data.parent_id, kind=data.kind, code=code, title=data.title, position=(last or 0) + 1
    )
    apply_deadline(task, deadline)
    session.add(task)
    await session.flush()
    await replace_occurrences(session, task=task, deadline=deadline)
    await replace_assignees(session, task=task, plan_unit=unit, assignees=data.assignees)
    await replace_indicator_links(session, task=task, codes=data.indicator_codes)
    await session.flush()
    await record_change(
        session, actor=actor, action="create", entity="task", entity_id=task.id, before=None, after=snapshot(task)
    )
    return task


async def update_task(
    session: AsyncSession,
    *,
    actor: Principal,
    task_id: int,
    data: TaskUpdate,
    if_match: str | None,
) -> Task:
    """Change a task's text, status, deadline, assignees or indicator links."""
    actor.require_role(PLANNERS)
    task, plan, unit = await get_task(session, actor=actor, task_id=task_id)
    await check_if_match(session, task, if_match)
    before = snapshot(task)
    changes = data.model_dump(exclude_unset=True)
    if "title" in changes and data.title is not None:
        task.title = data.title
    if data.status is not None:
        task.status = data.status
    if "due_text" in changes or "due_date" in changes:
        deadline = deadline_for(plan=plan, due_text=data.due_text, due_date=data.due_date)
        apply_deadline(task, deadline)
        await replace_occurrences(session, task=task, deadline=deadline)
    if data.assignees is not None:
        await replace_assignees(session, task=task, plan_unit=unit, assignees=data.assignees)
    if data.indicator_codes is not None:
        await replace_indicator_links(session, task=task, codes=data.indicator_codes)
    bump_version(task)
    await session.flush()
    await record_change(
        session, actor=actor, action="update", entity="task", entity_id=task.id, before=before, after=snapshot(task)
    )
    return task


async def delete_task(session: AsyncSession, *, actor: Principal, task_id: int) -> None:
    """Remove a task and everything under it."""
    actor.require_role(PLANNERS)
    task, _plan, _unit = await get_task(session, actor=actor, task_id=task_id)
    before = snapshot(task)
    await session.delete(task)
    await session.flush()
    await record_change(
        session, actor=actor, action="delete", entity="task", entity_id=task_id, before=before, after=None
    )
