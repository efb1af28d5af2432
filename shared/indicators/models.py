"""Stored indicator results, milestone assessments and plan targets."""

from datetime import datetime

from sqlalchemy import Column, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from shared.db import TimestampedTable, UTCDateTime, fk_field, id_field, utcnow
from shared.db_types import JsonType


class IndicatorResult(SQLModel, table=True):
    """The value of one indicator for one org unit and period, against standard and target."""

    __tablename__ = "indicator_result"
    __table_args__ = (UniqueConstraint("indicator_code", "org_unit_id", "period"),)

    id: int | None = id_field()
    indicator_code: str = Field(sa_type=String(20))
    org_unit_id: int = fk_field("org_unit.id", ondelete="CASCADE")
    period: str = Field(sa_type=String(10), index=True)
    value: float | None = None
    numerator: float | None = None
    denominator: float | None = None
    threshold_op: str | None = Field(default=None, sa_type=String(2))
    threshold: float | None = None
    target_op: str | None = Field(default=None, sa_type=String(2))
    target: float | None = None
    passed: bool | None = None
    target_passed: bool | None = None
    missing: list[str] = Field(default_factory=list, sa_column=Column(JsonType, nullable=False))
    computed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class MilestoneAssessment(TimestampedTable, table=True):
    """An assessor's verdict on a qualitative (milestone) indicator for a unit and year."""

    __tablename__ = "milestone_assessment"
    __table_args__ = (UniqueConstraint("indicator_code", "org_unit_id", "period"),)

    id: int | None = id_field()
    indicator_code: str = Field(sa_type=String(20))
    org_unit_id: int = fk_field("org_unit.id", ondelete="CASCADE")
    period: str = Field(sa_type=String(10))
    met: bool
    note: str = Field(default="", sa_type=Text)
    evidence_ids: list[int] = Field(default_factory=list, sa_column=Column(JsonType, nullable=False))
    assessor_id: int | None = fk_field("user_account.id", nullable=True, ondelete="SET NULL")


class PlanTarget(TimestampedTable, table=True):
    """A plan's own target for an indicator, above the standard's threshold."""

    __tablename__ = "plan_target"
    __table_args__ = (UniqueConstraint("plan_id", "indicator_code"),)

    id: int | None = id_field()
    plan_id: int = fk_field("plan.id", ondelete="CASCADE")
    indicator_code: str = Field(sa_type=String(20))
    op: str = Field(sa_type=String(2))
    value: float
