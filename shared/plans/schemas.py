"""Bodies for plans and phases."""

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.db import StoredId
from shared.plans.models import PhaseKind


class PhaseIn(BaseModel):
    """A phase of a plan with its dates."""

    kind: PhaseKind
    name: str = Field(min_length=1, max_length=120)
    starts_on: date
    ends_on: date

    @model_validator(mode="after")
    def _ordered(self) -> "PhaseIn":
        if self.ends_on < self.starts_on:
            raise ValueError("ends_on is before starts_on")
        return self


class PlanCreate(BaseModel):
    """A new creation plan."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "西区创建国家公共文化服务体系示范区工作方案（2018—2020年）",
                    "org_unit_id": 2,
                    "starts_on": "2018-01-01",
                    "ends_on": "2020-12-31",
                }
            ]
        }
    )

    name: str = Field(min_length=1, max_length=300)
    org_unit_id: StoredId
    starts_on: date
    ends_on: date
    standard_code: str = Field(default="batch4_east", max_length=60)
    timezone: str = Field(default="Asia/Shanghai", max_length=60)
    description: str = Field(default="", max_length=20000)
    phases: list[PhaseIn] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _ordered(self) -> "PlanCreate":
        if self.ends_on < self.starts_on:
            raise ValueError("ends_on is before starts_on")
        for phase in self.phases:
            if phase.starts_on < self.starts_on or phase.ends_on > self.ends_on:
                raise ValueError(f"phase {phase.name} lies outside the plan's period")
        return self


class PlanUpdate(BaseModel):
    """Changes to a plan."""

    name: str | None = Field(default=None, min_length=1, max_length=300)
    starts_on: date | None = None
    ends_on: date | None = None
    description: str | None = Field(default=None, max_length=20000)
    phases: list[PhaseIn] | None = Field(default=None, max_length=20)


class PhasePublic(PhaseIn):
    """A stored phase."""

    model_config = ConfigDict(from_attributes=True)

    id: int


class PlanPublic(BaseModel):
    """A plan as clients see it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    org_unit_id: int
    starts_on: date
    ends_on: date
    standard_code: str
    timezone: str
    description: str
    phases: list[PhasePublic] = []
    version: int
    updated_at: datetime
