"""Request and response bodies for activities and their summaries."""

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, WithJsonSchema, field_validator

from shared.activities.models import ActivityType, Provider
from shared.db import StoredId

MAX_BATCH = 5000
FIRST_DAY = date(1949, 1, 1)
MAX_ATTENDANCE = 100_000_000


class ActivityCreate(BaseModel):
    """An activity that happened: at an org unit (by id or code), maybe at a facility of its subtree."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {
                    "type": "film_screening",
                    "org_unit_code": "410105002001",
                    "facility_code": "GC-410105002001",
                    "occurred_on": "2019-03-08",
                    "attendance": 85,
                    "domestic_new_film": True,
                    "title": "《流浪地球》公益放映",
                },
                {
                    "type": "performance",
                    "org_unit_id": 3,
                    "occurred_on": "2019-05-01",
                    "attendance": 400,
                    "provider": "social_force",
                },
            ]
        },
    )

    type: ActivityType
    org_unit_id: StoredId | None = None
    org_unit_code: str | None = Field(default=None, max_length=20)
    facility_id: StoredId | None = None
    facility_code: str | None = Field(default=None, max_length=40)
    occurred_on: date = Field(ge=FIRST_DAY, description="the day it happened; not in the future (Asia/Shanghai)")
    attendance: int | None = Field(default=None, ge=0, le=MAX_ATTENDANCE, description="people who took part")
    provider: Provider = Provider.government
    domestic_new_film: bool | None = Field(
        default=None, description="film screenings only: a domestic film within two years of its release"
    )
    title: str = Field(default="", max_length=300)

    @field_validator("attendance", mode="before")
    @classmethod
    def _a_number_of_people(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("is a number of people, not true or false")
        return value

    @field_validator("domestic_new_film")
    @classmethod
    def _only_for_screenings(cls, value: bool | None, info: ValidationInfo) -> bool | None:
        kind = info.data.get("type")
        if value is not None and kind is not None and kind != ActivityType.film_screening:
            raise ValueError(f"applies only to film screenings, not to a {kind.value}; leave it null")
        return value


class ActivityBatch(BaseModel):
    """Activities recorded together: all of them or none; each item is checked like POST /activities."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "activities": [
                        {
                            "type": "film_screening",
                            "org_unit_code": "410105002001",
                            "occurred_on": "2019-03-08",
                            "attendance": 85,
                            "domestic_new_film": True,
                        },
                        {"type": "lecture", "org_unit_code": "410105001001", "occurred_on": "2019-03-12"},
                    ]
                }
            ]
        }
    )

    activities: list[Annotated[Any, WithJsonSchema({"$ref": "#/components/schemas/ActivityCreate"})]] = Field(
        min_length=1, max_length=MAX_BATCH
    )


class BatchCreated(BaseModel):
    """What a batch created: the new ids in the order of the items."""

    created: int
    ids: list[int]


class ActivityPublic(BaseModel):
    """An activity as clients see it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    type: ActivityType
    org_unit_id: int
    facility_id: int | None
    occurred_on: date
    attendance: int | None
    provider: Provider
    domestic_new_film: bool | None
    title: str
    source: str
    version: int
    created_at: datetime


class ActivityCounts(BaseModel):
    """How many activities, their known attendance, and how many were screenings of new domestic films."""

    count: int = 0
    attendance: int = 0
    domestic_new_films: int = 0


class TypeSummary(ActivityCounts):
    """The counts of one type of activity."""

    type: ActivityType


class MonthSummary(ActivityCounts):
    """The counts of one month, with the number of activities of each type that occurred in it."""

    month: str = Field(examples=["2019-03"])
    by_type: dict[str, int]


class ActivitySummary(BaseModel):
    """Activities in an org unit's subtree over a period: by every type, and by every month of the period."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "org_unit_id": 7,
                    "period": "2019Q1",
                    "start": "2019-01-01",
                    "end": "2019-03-31",
                    "total": {"count": 4, "attendance": 310, "domestic_new_films": 1},
                    "by_type": [
                        {"type": "film_screening", "count": 3, "attendance": 210, "domestic_new_films": 1},
                        {"type": "performance", "count": 1, "attendance": 100, "domestic_new_films": 0},
                    ]
                    + [
                        {"type": kind.value, "count": 0, "attendance": 0, "domestic_new_films": 0}
                        for kind in list(ActivityType)[2:]
                    ],
                    "by_month": [
                        {
                            "month": "2019-01",
                            "count": 2,
                            "attendance": 160,
                            "domestic_new_films": 0,
                            "by_type": {"film_screening": 1, "performance": 1},
                        },
                    ],
                }
            ]
        }
    )

    org_unit_id: int
    period: str
    start: date
    end: date
    total: ActivityCounts
    by_type: list[TypeSummary]
    by_month: list[MonthSummary]
