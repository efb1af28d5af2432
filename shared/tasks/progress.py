"""Progress updates, yearly occurrences and the roll-up of status to parent tasks."""

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.audit.service import record_change, snapshot
from shared.auth.models import Role
from shared.auth.scope import PLANNERS, Principal
from shared.concurrency import bump_version
from shared.db import utcnow
from shared.errors import InvalidInput, ScopeDenied
from shared.orgunits.models import OrgUnit
from shared.tasks.models import ProgressUpdate, Task, TaskAssignee, TaskOccurrence, TaskStatus
from shared.tasks.schemas import ProgressCreate
from shared.tasks.service import get_task


async def require_reporter(session: AsyncSession, *, actor: Principal, task: Task, unit: OrgUnit) -> None:
    """Planners of the subtree, or a reporter of a department assigned to this task."""
    actor.require_covers(unit.path, what="task's plan")
    if actor.role in PLANNERS:
        return
    if actor.role == Role.department_reporter and actor.department_id is not None:
        assigned = await session.scalar(
            select(TaskAssignee.id).where(
                TaskAssignee.task_id == task.id, TaskAssignee.department_id == actor.department_id
            )
        )
        if assigned:
            return
        raise ScopeDenied("your department is not assigned to this task")
    raise ScopeDenied(f"role {actor.role.value} may not report progress")


def _status_for(data: ProgressCreate, current: TaskStatus) -> TaskStatus:
    if data.status is not None:
        return data.status
    if data.percent_complete == 100:
        return TaskStatus.done
    return TaskStatus.in_progress if data.percent_complete > 0 else current


async def add_progress(
    session: AsyncSession, *, actor: Principal, task_id: int, data: ProgressCreate
) -> ProgressUpdate:
    """Record a progress report and move the task (or one year of a yearly task) along."""
    task, _plan, unit = await get_task(session, actor=actor, task_id=task_id)
    await require_reporter(session, actor=actor, task=task, unit=unit)
    before = snapshot(task)
    status = _status_for(data, task.status)
    if data.status == TaskStatus.done and data.percent_complete != 100:
        raise InvalidInput("a done task is 100 percent complete", field="percent_complete")
    if data.occurrence_year is not None:
        await _update_occurrence(session, task=task, year=data.occurrence_year, status=status)
    else:
        task.status, task.percent_complete = status, data.percent_complete
    update = ProgressUpdate(
        task_id=task.id,
        author_id=actor.user_id,
        note=data.note,
        status=status,
        percent_complete=data.percent_complete,
        occurrence_year=data.occurrence_year,
        delay_reason=data.delay_reason,
    )
    session.add(update)
    bump_version(task)
    await session.flush()
    await roll_up(session, task=task)
    await record_change(
        session, actor=actor, action="update", entity="task", entity_id=task.id, before=before, after=snapshot(task)
    )
    return update


async def _update_occurrence(session: AsyncSession, *, task: Task, year: int, status: TaskStatus) -> None:
    occurrence = await session.scalar(
        select(TaskOccurrence).where(TaskOccurrence.task_id == task.id, TaskOccurrence.year == year)
    )
    if occurrence is None:
        raise InvalidInput(f"task {task.code} has no occurrence in {year}", field="occurrence_year")
    occurrence.status = status
    occurrence.completed_at = utcnow() if status == TaskStatus.done else None
    await session.flush()
    open_due, last_due, total, done = (
        await session.execute(
            select(
                func.min(TaskOccurrence.due_date).filter(TaskOccurrence.status != TaskStatus.done),
                func.max(TaskOccurrence.due_date),
                func.count(),
                func.count().filter(TaskOccurrence.status == TaskStatus.done),
            ).where(TaskOccurrence.task_id == task.id)
        )
    ).one()
    task.due_date = open_due or last_due
    task.percent_complete = round(100 * done / total) if total else 0
    task.status = (
        TaskStatus.done
        if done == total
        else (TaskStatus.blocked if status == TaskStatus.blocked else TaskStatus.in_progress)
    )


async def roll_up(session: AsyncSession, *, task: Task) -> None:
    """Derive each ancestor's status and percentage from its children."""
    parent_id = task.parent_id
    while parent_id is not None:
        parent = await session.get(Task, parent_id)
        if parent is None:
            return
        total, done, started, blocked, percent = (
            await session.execute(
                select(
                    func.count(),
                    func.count().filter(Task.status == TaskStatus.done),
                    func.count().filter(Task.status != TaskStatus.not_started),
                    func.count().filter(Task.status == TaskStatus.blocked),
                    func.avg(Task.percent_complete),
                ).where(Task.parent_id == parent.id)
            )
        ).one()
        parent.status = (
            TaskStatus.done
            if total and done == total
            else TaskStatus.blocked
            if blocked
            else TaskStatus.in_progress
            if started
            else TaskStatus.not_started
        )
        parent.percent_complete = round(float(percent or 0))
        bump_version(parent)
        await session.flush()
        parent_id = parent.parent_id


async def list_progress(session: AsyncSession, *, actor: Principal, task_id: int) -> list[ProgressUpdate]:
    """A task's progress reports, newest first."""
    task, _plan, _unit = await get_task(session, actor=actor, task_id=task_id)
    query = select(ProgressUpdate).where(ProgressUpdate.task_id == task.id).order_by(ProgressUpdate.id.desc())
    return list((await session.scalars(query)).all())
