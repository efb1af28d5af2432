"""Request and response bodies of the facility registry and its construction tracking."""

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.db import StoredId
from shared.facilities.models import FacilityStatus, FacilityType

Area = Annotated[float, Field(ge=0, le=1_000_000_000)]
Hours = Annotated[float, Field(ge=0, le=168)]
Headcount = Annotated[int, Field(ge=0, le=100_000)]
NOT_NULL = ("name", "type", "org_unit_id", "pilot")


class FacilityFields(BaseModel):
    """The attributes a client may set on create and change on update."""

    grade: str | None = Field(default=None, max_length=40, examples=["部颁一级"])
    floor_area_m2: Area | None = None
    outdoor_area_m2: Area | None = None
    weekly_open_hours: Hours | None = None
    staff_established: Headcount | None = None
    staff_purchased: Headcount | None = None
    staff_professional: Headcount | None = None
    wifi: bool | None = None
    digital_terminals: bool | None = None
    accessible: bool | None = None
    opened_on: date | None = None
    closed_on: date | None = None
    due_on: date | None = Field(default=None, description="construction deadline (完成时限)")

    @model_validator(mode="after")
    def _dates_in_order(self) -> "FacilityFields":
        if self.opened_on and self.closed_on and self.closed_on < self.opened_on:
            raise ValueError("closed_on is before opened_on")
        return self


class FacilityCreate(FacilityFields):
    """A new facility; a grassroots centre created as open is checked against the construction standard."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "GC-410105001001",
                    "name": "四月天社区综合性文化服务中心",
                    "type": "grassroots_centre",
                    "org_unit_id": 4,
                    "status": "planned",
                    "due_on": "2017-06-30",
                    "pilot": True,
                },
                {
                    "code": "ST-410105001000",
                    "name": "丰庆路街道综合文化站",
                    "type": "station",
                    "org_unit_id": 3,
                    "floor_area_m2": 1200,
                    "outdoor_area_m2": 800,
                    "weekly_open_hours": 56,
                    "staff_established": 3,
                    "wifi": True,
                    "opened_on": "2016-05-01",
                },
            ]
        }
    )

    code: str = Field(min_length=1, max_length=40, pattern=r"^[0-9A-Za-z_.-]+$")
    name: str = Field(min_length=1, max_length=200)
    type: FacilityType
    org_unit_id: StoredId
    status: FacilityStatus = FacilityStatus.open
    pilot: bool = False


class FacilityUpdate(FacilityFields):
    """Changes to a facility; send only what changes (status changes go through /status)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"floor_area_m2": 320, "outdoor_area_m2": 1200, "staff_established": 2}]}
    )

    name: str | None = Field(default=None, min_length=1, max_length=200)
    type: FacilityType | None = None
    org_unit_id: StoredId | None = None
    pilot: bool | None = None

    @model_validator(mode="after")
    def _required_stay_set(self) -> "FacilityUpdate":
        nulled = [name for name in NOT_NULL if name in self.model_fields_set and getattr(self, name) is None]
        if nulled:
            raise ValueError(f"{', '.join(nulled)} cannot be null")
        return self


class StatusChange(BaseModel):
    """A step of construction or service: planned → building → open → closed."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "open", "on": "2017-06-28"}]})

    status: FacilityStatus
    on: date | None = Field(default=None, description="opening or closing date; today (Asia/Shanghai) if omitted")


class StandardCheck(BaseModel):
    """One requirement of the construction standard against the centre's measured value."""

    field: str = Field(examples=["floor_area_m2"])
    required: float = Field(examples=[100])
    actual: float | None = Field(examples=[85])
    met: bool
    text: str = Field(description="the standard's wording", examples=["建筑不低于100平方米。"])


class FacilityPublic(BaseModel):
    """A facility as clients see it; standard_check is filled for grassroots centres on single reads and writes."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    type: FacilityType
    org_unit_id: int
    grade: str | None
    floor_area_m2: float | None
    outdoor_area_m2: float | None
    weekly_open_hours: float | None
    staff_established: int | None
    staff_purchased: int | None
    staff_professional: int | None
    wifi: bool | None
    digital_terminals: bool | None
    accessible: bool | None
    status: FacilityStatus
    opened_on: date | None
    closed_on: date | None
    due_on: date | None
    pilot: bool
    overdue: bool = Field(description="due_on has passed (Asia/Shanghai) and it is still planned or building")
    standard_check: list[StandardCheck] | None = None
    version: int
    updated_at: datetime


class LevelProgress(BaseModel):
    """Construction counts of one level (street, community, village, or other)."""

    level: str = Field(examples=["community"])
    total: int
    planned: int = 0
    building: int = 0
    open: int = 0
    closed: int = 0
    overdue: int = 0
    pilots: int = 0


class OverdueFacility(BaseModel):
    """A facility past its construction deadline."""

    id: int
    code: str
    name: str
    org_unit_id: int
    org_unit_name: str
    status: FacilityStatus
    due_on: date
    days_late: int
    pilot: bool


class ConstructionSummary(BaseModel):
    """Construction progress of a facility type in an org unit's subtree, as of today in Asia/Shanghai."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "org_unit_id": 2,
                    "type": "grassroots_centre",
                    "as_of": "2017-07-01",
                    "total": 105,
                    "by_status": {"planned": 100, "building": 0, "open": 5, "closed": 0},
                    "by_level": [
                        {"level": "street", "total": 17, "planned": 15, "open": 2, "overdue": 0, "pilots": 2},
                        {"level": "community", "total": 77, "planned": 75, "open": 2, "overdue": 0, "pilots": 2},
                        {"level": "village", "total": 11, "planned": 10, "open": 1, "overdue": 0, "pilots": 1},
                    ],
                    "overdue": [],
                }
            ]
        }
    )

    org_unit_id: int
    type: FacilityType
    as_of: date
    total: int
    by_status: dict[str, int]
    by_level: list[LevelProgress]
    overdue: list[OverdueFacility]


@dataclass(frozen=True, slots=True)
class FacilityFilters:
    """What a client may filter the registry by."""

    type: FacilityType | None = None
    status: FacilityStatus | None = None
    within: int | None = None
    q: str | None = None
    overdue: bool | None = None
    pilot: bool | None = None
