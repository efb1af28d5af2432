"""Request and response bodies for org units and departments."""

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.db import StoredId
from shared.orgunits.models import OrgUnitKind


class OrgUnitCreate(BaseModel):
    """A new org unit."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"code": "410105001000", "name": "经八路街道", "level": 3, "kind": "street", "parent_id": 2}]
        }
    )

    code: str = Field(min_length=2, max_length=20, pattern=r"^[0-9A-Za-z_-]+$")
    name: str = Field(min_length=1, max_length=200)
    level: int = Field(ge=0, le=5)
    kind: OrgUnitKind
    parent_id: StoredId | None = None
    opened_on: date | None = None
    closed_on: date | None = None

    @model_validator(mode="after")
    def _dates_in_order(self) -> "OrgUnitCreate":
        if self.opened_on and self.closed_on and self.closed_on < self.opened_on:
            raise ValueError("closed_on is before opened_on")
        return self


class OrgUnitUpdate(BaseModel):
    """Changes to an org unit; moving it means a new parent_id."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    parent_id: StoredId | None = None
    opened_on: date | None = None
    closed_on: date | None = None


class OrgUnitPublic(BaseModel):
    """An org unit as clients see it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    level: int
    kind: OrgUnitKind
    parent_id: int | None
    path: str
    opened_on: date | None
    closed_on: date | None
    version: int
    updated_at: datetime


class DepartmentCreate(BaseModel):
    """A new responsible unit of an org unit."""

    name: str = Field(min_length=1, max_length=200, examples=["宣传办"])


class DepartmentPublic(BaseModel):
    """A department as clients see it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    org_unit_id: int
    name: str


class PopulationPublic(BaseModel):
    """The resident population (常住人口) of a unit in a year, summed over its subtree."""

    org_unit_id: int
    year: int
    entered: float | None
    subtree_total: float | None


class PopulationSet(BaseModel):
    """The resident population entered at one unit for one year."""

    value: float = Field(ge=0, examples=[52000])


class CollectiveKind(StrEnum):
    """The collective assignees the seeds use."""

    community = "community"
    village = "village"
    street = "street"
    town = "town"
    district_or_county = "district_or_county"
    member_departments = "member_departments"
    departments = "departments"


class CollectiveUnit(BaseModel):
    """One concrete unit behind a collective assignee."""

    kind: str
    id: int
    name: str


class CollectivePublic(BaseModel):
    """A collective assignee resolved under an org unit."""

    collective_kind: str
    units: list[CollectiveUnit]
