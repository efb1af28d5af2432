"""Bodies for tasks, progress updates, occurrences and evidence."""

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from shared.db import StoredId
from shared.tasks.models import DueKind, TaskKind, TaskStatus


class AssigneeIn(BaseModel):
    """A responsible unit as the plan writes it."""

    name: str = Field(min_length=1, max_length=200, examples=["宣传办"])
    is_lead: bool = False
    department_id: StoredId | None = None


class AssigneePublic(BaseModel):
    """A responsible unit of a task."""

    model_config = ConfigDict(from_attributes=True)

    name: str
    is_lead: bool
    department_id: int | None
    collective_kind: str | None


class TaskCreate(BaseModel):
    """A new area, work task or breakdown item; the deadline as a date or as users write it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "kind": "breakdown_item",
                    "parent_id": 3,
                    "title": "完善各级公共文化设施的路牌标识。",
                    "assignees": [{"name": "住建局", "is_lead": True}],
                    "due_text": "2019年10月",
                }
            ]
        }
    )

    kind: TaskKind
    title: str = Field(min_length=1, max_length=5000)
    code: str | None = Field(default=None, max_length=20, pattern=r"^[A-Za-z0-9.]+$")
    parent_id: StoredId | None = None
    assignees: list[AssigneeIn] = Field(default_factory=list, max_length=50)
    due_text: str | None = Field(default=None, max_length=120, examples=["2018 年至 2019 年", "每年"])
    due_date: date | None = None
    indicator_codes: list[str] = Field(default_factory=list, max_length=50)


class TaskUpdate(BaseModel):
    """Changes to a task; send only what changes."""

    title: str | None = Field(default=None, min_length=1, max_length=5000)
    status: TaskStatus | None = None
    assignees: list[AssigneeIn] | None = Field(default=None, max_length=50)
    due_text: str | None = Field(default=None, max_length=120)
    due_date: date | None = None
    indicator_codes: list[str] | None = Field(default=None, max_length=50)


class OccurrencePublic(BaseModel):
    """One year of a yearly task."""

    model_config = ConfigDict(from_attributes=True)

    year: int
    due_date: date
    status: TaskStatus


class TaskPublic(BaseModel):
    """A task as clients see it; overdue is derived from due date and status."""

    id: int
    plan_id: int
    code: str
    kind: TaskKind
    title: str
    parent_id: int | None
    assignees: list[AssigneePublic]
    due_kind: DueKind
    due_text: str
    starts_on: date | None
    due_date: date | None
    recurrence: str | None
    status: TaskStatus
    percent_complete: int
    overdue: bool
    indicator_codes: list[str]
    occurrences: list[OccurrencePublic]
    version: int
    updated_at: datetime


class ProgressCreate(BaseModel):
    """A progress report on a task."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"note": "已召开专题会议，形成会议纪要。", "percent_complete": 60, "status": "in_progress"}]
        }
    )

    note: str = Field(min_length=1, max_length=10000)
    percent_complete: int = Field(ge=0, le=100)
    status: TaskStatus | None = None
    occurrence_year: int | None = Field(default=None, ge=1949, le=2200)
    delay_reason: str = Field(default="", max_length=5000)


class ProgressPublic(BaseModel):
    """A stored progress report."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    task_id: int
    author_id: int | None
    created_at: datetime
    note: str
    percent_complete: int
    status: TaskStatus
    occurrence_year: int | None
    delay_reason: str


class EvidencePublic(BaseModel):
    """A stored evidence file's description."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    task_id: int
    progress_update_id: int | None
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    description: str
    created_at: datetime


class ImportSummary(BaseModel):
    """What an import created."""

    kind: str
    plan_id: int | None = None
    created: dict[str, int]
    departments_created: list[str] = []
