"""Import a plan's task table (xlsx or csv, as users keep it) in one transaction."""

from dataclasses import asdict
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.audit.service import record_change
from shared.auth.scope import PLANNERS, Principal
from shared.errors import ImportRefused
from shared.imports.interchange import RowErrors, parse_off_loop, unreadable
from shared.orgunits.models import Department, OrgUnit
from shared.plans.models import Plan
from shared.plans.service import get_plan
from shared.tasks.assignee_names import ParsedAssignee, display_text
from shared.tasks.assignees import departments_by_name
from shared.tasks.deadlines import Deadline, deadline_from_rule, outside_plan
from shared.tasks.due_rules import DueRule
from shared.tasks.models import DueKind, Task, TaskAssignee, TaskKind, TaskOccurrence
from shared.tasks.schemas import ImportSummary
from shared.tasks.service import apply_deadline
from shared.tasks.table_parser import ParsedTable, TableRefused, parse_task_table
from shared.tasks.table_reader import TableUnreadable, read_table

DUE_COLUMN = "完成时间"


def _parse(content: bytes, filename: str) -> ParsedTable:
    try:
        return parse_task_table(read_table(content=content, filename=filename))
    except TableUnreadable as exc:
        raise unreadable(exc) from exc
    except TableRefused as exc:
        raise ImportRefused(
            f"{filename}: {len(exc.errors)} row problem(s), nothing was imported",
            errors=[asdict(error) for error in exc.errors],
        ) from exc


def _deadlines(table: ParsedTable, *, plan: Plan, errors: RowErrors) -> dict[tuple[str, int], Deadline]:
    """Every item's (and item-less task's) deadline placed in the plan; rows outside it are errors."""
    deadlines: dict[tuple[str, int], Deadline] = {}
    rules: list[tuple[str, int, DueRule]] = [(task.code, task.row, task.due) for task in table.tasks if not task.items]
    rules += [(item.code, item.row, item.due) for task in table.tasks for item in task.items]
    for code, row, rule in rules:
        deadline = deadline_from_rule(rule, plan=plan)
        if problem := outside_plan(deadline, plan=plan):
            errors.add(row=row, column=DUE_COLUMN, message=f"{code}: {problem}")
        deadlines[(code, row)] = deadline
    return deadlines


async def import_task_table(
    session: AsyncSession,
    *,
    actor: Principal,
    plan_id: int,
    content: bytes,
    filename: str,
) -> ImportSummary:
    """Create the areas, work tasks and breakdown items of a table under a plan; all or nothing."""
    actor.require_role(PLANNERS)
    plan, unit = await get_plan(session, actor=actor, plan_id=plan_id)
    table = await parse_off_loop(_parse, content, filename)
    errors = RowErrors()
    deadlines = _deadlines(table, plan=plan, errors=errors)
    taken = set((await session.scalars(select(Task.code).where(Task.plan_id == plan.id))).all())
    for code, row in (
        [(a.code, a.row) for a in table.areas]
        + [(t.code, t.row) for t in table.tasks]
        + [(i.code, i.row) for t in table.tasks for i in t.items]
    ):
        if code in taken:
            errors.add(row=row, column=None, message=f"task {code} already exists in this plan")
    errors.raise_if_any(what=filename)
    writer = _Writer(
        session=session, plan=plan, unit=unit, departments=await departments_by_name(session, org_unit=unit)
    )
    await writer.position_after_existing()
    summary = await writer.write(table, deadlines)
    await record_change(
        session,
        actor=actor,
        action="import",
        entity="plan",
        entity_id=plan.id,
        before=None,
        after={"file": filename, **summary.created},
    )
    return summary


class _Writer:
    """Writes a parsed table level by level, with one flush per level."""

    def __init__(self, *, session: AsyncSession, plan: Plan, unit: OrgUnit, departments: dict[str, Department]) -> None:
        self.session, self.plan, self.unit, self.departments = session, plan, unit, departments
        self.position = 0
        self.new_departments: list[str] = []

    async def position_after_existing(self) -> None:
        """Put imported rows after whatever the plan already holds."""
        self.position = (
            await self.session.scalar(select(func.max(Task.position)).where(Task.plan_id == self.plan.id)) or 0
        )

    def _task(self, **fields: object) -> Task:
        self.position += 1
        task = Task(plan_id=self.plan.id, position=self.position, **fields)
        self.session.add(task)
        return task

    async def write(self, table: ParsedTable, deadlines: dict[tuple[str, int], Deadline]) -> ImportSummary:
        """Insert everything and report the counts."""
        areas = {
            area.code: self._task(kind=TaskKind.area, code=area.code, title=display_text(area.title))
            for area in table.areas
        }
        await self.session.flush()
        work_tasks = {}
        for parsed in table.tasks:
            area = areas.get(parsed.area_code) if parsed.area_code else None
            task = self._task(
                kind=TaskKind.work_task,
                code=parsed.code,
                title=display_text(parsed.title),
                parent_id=area.id if area else None,
            )
            if not parsed.items:
                apply_deadline(task, deadlines[(parsed.code, parsed.row)])
            work_tasks[parsed.code] = task
        await self.session.flush()
        items: list[tuple[Task, list[ParsedAssignee], Deadline]] = []
        for parsed in table.tasks:
            parent = work_tasks[parsed.code]
            if not parsed.items:
                items.append((parent, parsed.assignees, deadlines[(parsed.code, parsed.row)]))
            for item in parsed.items:
                task = self._task(
                    kind=TaskKind.breakdown_item, code=item.code, title=display_text(item.title), parent_id=parent.id
                )
                deadline = deadlines[(item.code, item.row)]
                apply_deadline(task, deadline)
                items.append((task, item.assignees, deadline))
            _due_from_children(parent, [deadlines[(i.code, i.row)] for i in parsed.items])
        await self.session.flush()
        for task, assignees, deadline in items:
            await self._assign(task, assignees)
            for year, due in deadline.occurrences:
                self.session.add(TaskOccurrence(task_id=task.id, year=year, due_date=due))
        await self.session.flush()
        return ImportSummary(
            kind="tasks",
            plan_id=self.plan.id,
            departments_created=self.new_departments,
            created={
                "areas": len(areas),
                "work_tasks": len(work_tasks),
                "breakdown_items": sum(len(t.items) for t in table.tasks),
            },
        )

    async def _assign(self, task: Task, assignees: list[ParsedAssignee]) -> None:
        for position, assignee in enumerate(assignees):
            department = None if assignee.collective_kind else await self._department(assignee.name)
            self.session.add(
                TaskAssignee(
                    task_id=task.id,
                    position=position,
                    name=assignee.name,
                    is_lead=assignee.is_lead,
                    collective_kind=assignee.collective_kind,
                    department_id=department.id if department else None,
                )
            )

    async def _department(self, name: str) -> Department:
        if name not in self.departments:
            department = Department(org_unit_id=self.unit.id, name=name)
            self.session.add(department)
            await self.session.flush()
            self.departments[name] = department
            self.new_departments.append(name)
        return self.departments[name]


def _due_from_children(task: Task, deadlines: list[Deadline]) -> None:
    """A work task is due when its last item is due and starts with its first."""
    dues = [d.due_date for d in deadlines if d.due_date]
    starts: list[date] = [d.starts_on or d.due_date for d in deadlines if d.starts_on or d.due_date]  # type: ignore[misc]
    if dues and len(dues) == len(deadlines):
        task.due_kind, task.due_date = DueKind.span, max(dues)
        task.starts_on = min(starts) if starts else None
