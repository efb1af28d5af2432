"""Report, report comment and scheduler job-run tables."""

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, Index, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from shared.db import TimestampedTable, UTCDateTime, created_field, enum_type, fk_field, id_field
from shared.db_types import JsonType


class ReportKind(StrEnum):
    """What a report is: 工作动态, 深度工作进展, 年报, 自查自评."""

    monthly_update = "monthly_update"
    quarterly = "quarterly"
    annual = "annual"
    self_assessment = "self_assessment"


class ReportStatus(StrEnum):
    """Where a report stands in its workflow."""

    draft = "draft"
    submitted = "submitted"
    returned = "returned"
    accepted = "accepted"


class Report(TimestampedTable, table=True):
    """One unit's report for one period: content assembled from live data plus the unit's own text."""

    __tablename__ = "report"
    __table_args__ = (
        UniqueConstraint("org_unit_id", "kind", "period"),
        Index("ix_report_kind_period", "kind", "period"),
    )

    id: int | None = id_field()
    org_unit_id: int = fk_field("org_unit.id", ondelete="RESTRICT")
    kind: ReportKind = Field(sa_type=enum_type(ReportKind))
    period: str = Field(sa_type=String(10))
    opens_on: date
    due_on: date = Field(index=True)
    status: ReportStatus = Field(default=ReportStatus.draft, sa_type=enum_type(ReportStatus), index=True)
    text: str = Field(default="", sa_type=Text)
    content: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JsonType, nullable=False))
    aggregate: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JsonType, nullable=False))
    submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    submitted_by_id: int | None = fk_field("user_account.id", nullable=True, ondelete="SET NULL")
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    late: bool = Field(default=False)


class ReportComment(SQLModel, table=True):
    """A comment on a report, or the note that came with submitting, returning or accepting it."""

    __tablename__ = "report_comment"

    id: int | None = id_field()
    report_id: int = fk_field("report.id", ondelete="CASCADE")
    author_id: int | None = fk_field("user_account.id", nullable=True, ondelete="SET NULL")
    author: str = Field(default="", sa_type=String(80))
    action: str = Field(sa_type=String(20))
    body: str = Field(default="", sa_type=Text)
    created_at: datetime = created_field()


class JobRun(SQLModel, table=True):
    """The last completed run of each scheduler job, so that a restart runs what it missed, once."""

    __tablename__ = "job_run"

    name: str = Field(sa_type=String(60), primary_key=True)
    last_started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    runs: int = Field(default=0)
