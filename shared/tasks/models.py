"""Task tree, assignees, yearly occurrences, progress updates, evidence and indicator links."""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from shared.db import TimestampedTable, UTCDateTime, created_field, enum_type, fk_field, id_field


class TaskKind(StrEnum):
    """The three levels of a task table."""

    area = "area"
    work_task = "work_task"
    breakdown_item = "breakdown_item"


class TaskStatus(StrEnum):
    """Where a task stands; overdue is derived, never stored."""

    not_started = "not_started"
    in_progress = "in_progress"
    done = "done"
    blocked = "blocked"


class DueKind(StrEnum):
    """How the deadline was written."""

    none = "none"
    date = "date"
    month = "month"
    year = "year"
    span = "span"
    yearly = "yearly"


class Task(TimestampedTable, table=True):
    """An area, work task or breakdown item of a plan."""

    __tablename__ = "task"
    __table_args__ = (UniqueConstraint("plan_id", "code"),)

    id: int | None = id_field()
    plan_id: int = fk_field("plan.id", ondelete="CASCADE")
    parent_id: int | None = fk_field("task.id", nullable=True, ondelete="CASCADE")
    kind: TaskKind = Field(sa_type=enum_type(TaskKind))
    code: str = Field(sa_type=String(20))
    position: int = Field(default=0)
    title: str = Field(sa_type=Text)
    due_kind: DueKind = Field(default=DueKind.none, sa_type=enum_type(DueKind))
    due_text: str = Field(default="", sa_type=String(120))
    starts_on: date | None = None
    due_date: date | None = Field(default=None, index=True)
    recurrence: str | None = Field(default=None, sa_type=String(10))
    status: TaskStatus = Field(default=TaskStatus.not_started, sa_type=enum_type(TaskStatus), index=True)
    percent_complete: int = Field(default=0)


class TaskAssignee(SQLModel, table=True):
    """A responsible unit of a task as written, resolved to a department when one matches."""

    __tablename__ = "task_assignee"

    id: int | None = id_field()
    task_id: int = fk_field("task.id", ondelete="CASCADE")
    position: int = Field(default=0)
    name: str = Field(sa_type=String(200))
    is_lead: bool = Field(default=False)
    collective_kind: str | None = Field(default=None, sa_type=String(30))
    department_id: int | None = fk_field("department.id", nullable=True, ondelete="SET NULL")


class TaskOccurrence(SQLModel, table=True):
    """One year's instance of a yearly (每年) task."""

    __tablename__ = "task_occurrence"
    __table_args__ = (UniqueConstraint("task_id", "year"),)

    id: int | None = id_field()
    task_id: int = fk_field("task.id", ondelete="CASCADE")
    year: int
    due_date: date
    status: TaskStatus = Field(default=TaskStatus.not_started, sa_type=enum_type(TaskStatus))
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ProgressUpdate(SQLModel, table=True):
    """A dated report on a task: what was done, how far along, and why late if it is."""

    __tablename__ = "progress_update"

    id: int | None = id_field()
    task_id: int = fk_field("task.id", ondelete="CASCADE")
    author_id: int | None = fk_field("user_account.id", nullable=True, ondelete="SET NULL")
    created_at: datetime = created_field()
    note: str = Field(sa_type=Text)
    percent_complete: int
    status: TaskStatus = Field(sa_type=enum_type(TaskStatus))
    occurrence_year: int | None = None
    delay_reason: str = Field(default="", sa_type=Text)


class Evidence(SQLModel, table=True):
    """A file (佐证材料) proving work on a task, stored under DATA_DIR by its sha256."""

    __tablename__ = "evidence"

    id: int | None = id_field()
    task_id: int = fk_field("task.id", ondelete="CASCADE")
    progress_update_id: int | None = fk_field("progress_update.id", nullable=True, ondelete="SET NULL")
    filename: str = Field(sa_type=String(255))
    content_type: str = Field(sa_type=String(120))
    size_bytes: int
    sha256: str = Field(sa_type=String(64), index=True)
    uploaded_by_id: int | None = fk_field("user_account.id", nullable=True, ondelete="SET NULL")
    created_at: datetime = created_field()
    description: str = Field(default="", sa_type=String(500))


class TaskIndicator(SQLModel, table=True):
    """A link from a task to an indicator code it serves."""

    __tablename__ = "task_indicator"
    __table_args__ = (UniqueConstraint("task_id", "indicator_code"),)

    id: int | None = id_field()
    task_id: int = fk_field("task.id", ondelete="CASCADE")
    indicator_code: str = Field(sa_type=String(20))
