"""The filters of a task list, turned into SQL."""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import not_, or_
from sqlalchemy.sql.elements import ColumnElement

from shared.tasks.models import Task, TaskAssignee, TaskKind, TaskStatus


@dataclass(frozen=True, slots=True)
class TaskFilters:
    """What a client may filter tasks by."""

    plan_id: int | None = None
    org_unit_id: int | None = None
    kind: TaskKind | None = None
    status: TaskStatus | None = None
    parent_id: int | None = None
    overdue: bool | None = None
    due_from: date | None = None
    due_to: date | None = None
    q: str | None = None
    department_id: int | None = None
    assignee: str | None = None
    lead_only: bool = False

    def clauses(self, *, today: date, overdue: ColumnElement[bool]) -> list[ColumnElement[bool]]:
        """Conditions on the task row itself."""
        clauses: list[ColumnElement[bool]] = []
        if self.kind is not None:
            clauses.append(Task.kind == self.kind)
        if self.status is not None:
            clauses.append(Task.status == self.status)
        if self.parent_id is not None:
            clauses.append(Task.parent_id == self.parent_id)
        if self.overdue is not None:
            clauses.append(overdue if self.overdue else not_(overdue))
        if self.due_from is not None:
            clauses.append(Task.due_date >= self.due_from)
        if self.due_to is not None:
            clauses.append(Task.due_date <= self.due_to)
        if self.q:
            clauses.append(or_(Task.title.contains(self.q, autoescape=True), Task.code == self.q))
        return clauses

    def assignee_clauses(self) -> list[ColumnElement[bool]]:
        """Conditions on an assignee row of the task (used inside EXISTS)."""
        clauses: list[ColumnElement[bool]] = [TaskAssignee.task_id == Task.id]
        if self.department_id is not None:
            clauses.append(TaskAssignee.department_id == self.department_id)
        if self.assignee:
            clauses.append(TaskAssignee.name.contains(self.assignee, autoescape=True))
        if self.lead_only:
            clauses.append(TaskAssignee.is_lead.is_(True))
        return clauses
