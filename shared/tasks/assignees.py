"""Assignees of a task: written names, lead marks, collective units, matched to departments."""

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import InvalidInput
from shared.orgunits.models import Department, OrgUnit
from shared.tasks.assignee_names import collective_kind_of
from shared.tasks.models import Task, TaskAssignee
from shared.tasks.schemas import AssigneeIn


async def departments_by_name(session: AsyncSession, *, org_unit: OrgUnit) -> dict[str, Department]:
    """The departments of an org unit keyed by name."""
    rows = (await session.scalars(select(Department).where(Department.org_unit_id == org_unit.id))).all()
    return {row.name: row for row in rows}


async def replace_assignees(
    session: AsyncSession,
    *,
    task: Task,
    plan_unit: OrgUnit,
    assignees: list[AssigneeIn],
) -> None:
    """Set a task's assignees; a name matching a department of the plan's org unit is linked to it."""
    known = await departments_by_name(session, org_unit=plan_unit)
    by_id = {department.id: department for department in known.values()}
    await session.execute(delete(TaskAssignee).where(TaskAssignee.task_id == task.id))
    for position, assignee in enumerate(assignees):
        department_id = assignee.department_id
        if department_id is not None and department_id not in by_id:
            raise InvalidInput(
                f"department {department_id} does not belong to the plan's org unit",
                field=f"assignees.{position}.department_id",
            )
        collective = collective_kind_of(assignee.name)
        if department_id is None and collective is None and assignee.name in known:
            department_id = known[assignee.name].id
        session.add(
            TaskAssignee(
                task_id=task.id,
                position=position,
                name=assignee.name,
                is_lead=assignee.is_lead,
                collective_kind=collective,
                department_id=department_id,
            )
        )
    await session.flush()
