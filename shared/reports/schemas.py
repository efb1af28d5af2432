"""Report schemas: opening, editing, workflow actions, what clients read, timeliness and the calendar."""

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.db import StoredId
from shared.reports.models import ReportKind, ReportStatus


class ReportCreate(BaseModel):
    """Open a report by hand (a self-assessment, or a period the calendar has not reached)."""

    model_config = ConfigDict(extra="forbid")

    org_unit_id: StoredId
    kind: ReportKind
    period: str = Field(max_length=10, description="2026-03 (monthly), 2026Q1 (quarterly), 2026 (annual, self)")


class ReportUpdate(BaseModel):
    """The unit's own text (only while the report is a draft or was returned)."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(max_length=50_000)


class ReportAction(BaseModel):
    """The note that comes with submitting, returning or accepting."""

    model_config = ConfigDict(extra="forbid")

    comment: str = Field(default="", max_length=5_000)


class CommentPublic(BaseModel):
    """A comment on a report."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    author: str
    action: str
    body: str
    created_at: datetime


class ReportPublic(BaseModel):
    """A report as clients read it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    org_unit_id: int
    kind: ReportKind
    period: str
    opens_on: date
    due_on: date
    status: ReportStatus
    text: str
    content: dict[str, Any]
    aggregate: dict[str, Any]
    submitted_at: datetime | None
    decided_at: datetime | None
    late: bool
    timeliness: Literal["on_time", "late", "missing", "pending"]
    version: int
    comments: list[CommentPublic] = []


class UnitTimeliness(BaseModel):
    """Whether one unit reported, and in time."""

    org_unit_id: int
    code: str
    name: str
    report_id: int | None
    status: ReportStatus | None
    submitted_at: datetime | None
    timeliness: Literal["on_time", "late", "missing", "pending"]


class Timeliness(BaseModel):
    """Who reported in a subtree for a kind and period: expected counts only units open during the period."""

    org_unit_id: int
    kind: ReportKind
    period: str
    due_on: date
    expected: int
    on_time: int
    late: int
    missing: int
    pending: int
    reporting_rate: float | None
    on_time_rate: float | None
    units: list[UnitTimeliness]


class DueItem(BaseModel):
    """Something a unit has to deliver: a report (open or still to open) or a task."""

    what: Literal["report", "task"]
    kind: str
    period: str | None = None
    title: str
    due_on: date
    report_id: int | None = None
    task_id: int | None = None
    status: str
    overdue: bool
