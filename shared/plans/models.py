"""Plan and phase tables."""

from datetime import date
from enum import StrEnum

from sqlalchemy import String, Text
from sqlmodel import Field

from shared.db import TimestampedTable, enum_type, fk_field, id_field


class PhaseKind(StrEnum):
    """The seeds' phases of a creation plan."""

    mobilisation = "mobilisation"
    full_creation = "full_creation"
    self_check = "self_check"
    inspection = "inspection"
    follow_up = "follow_up"


class Plan(TimestampedTable, table=True):
    """A creation plan owned by an org unit's creation office."""

    __tablename__ = "plan"

    id: int | None = id_field()
    org_unit_id: int = fk_field("org_unit.id", ondelete="RESTRICT")
    name: str = Field(sa_type=String(300))
    standard_code: str = Field(default="batch4_east", sa_type=String(60))
    starts_on: date
    ends_on: date
    timezone: str = Field(default="Asia/Shanghai", sa_type=String(60))
    description: str = Field(default="", sa_type=Text)


class PlanPhase(TimestampedTable, table=True):
    """A dated phase of a plan (动员部署, 全面创建, 巩固自查, 总结迎检, 创建后续)."""

    __tablename__ = "plan_phase"

    id: int | None = id_field()
    plan_id: int = fk_field("plan.id", ondelete="CASCADE")
    kind: PhaseKind = Field(sa_type=enum_type(PhaseKind))
    name: str = Field(sa_type=String(120))
    starts_on: date
    ends_on: date
