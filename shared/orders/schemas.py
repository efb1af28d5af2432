"""Bodies of orders and proposals."""

from datetime import UTC, date, datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.clock import FIRST_YEAR, LAST_YEAR, in_calendar
from shared.db import StoredId
from shared.orders.models import OrderKind, OrderStatus, ProposalState


class OrderCreate(BaseModel):
    """An order: an item of the catalogue (menu) or a description of what is wanted (custom)."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {"kind": "menu", "item_id": 12, "org_unit_id": 7, "wanted_on": "2026-12-20", "audience": 80},
                {"kind": "custom", "org_unit_id": 7, "wanted_on": "2027-01-10", "description": "豫剧专场演出"},
            ]
        },
    )

    kind: OrderKind = OrderKind.menu
    item_id: StoredId | None = None
    org_unit_id: StoredId = Field(description="the community (or other unit) it is delivered to")
    wanted_on: date
    description: str = Field(default="", max_length=2000)
    audience: int | None = Field(default=None, ge=1, le=1_000_000)

    @model_validator(mode="after")
    def _menu_or_custom(self) -> "OrderCreate":
        if self.kind == OrderKind.menu and self.item_id is None:
            raise ValueError("item_id: a menu order names a catalogue item")
        if self.kind == OrderKind.custom and not self.description:
            raise ValueError("description: a custom order says what is wanted")
        return self


class Rejection(BaseModel):
    """Why the provider refuses."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str = Field(min_length=1, max_length=500)


class Scheduling(BaseModel):
    """When the provider will deliver."""

    model_config = ConfigDict(extra="forbid")

    scheduled_for: AwareDatetime

    @field_validator("scheduled_for")
    @classmethod
    def _in_utc(cls, value: datetime) -> datetime:
        if not in_calendar(value):
            raise ValueError(f"year {value.year} is outside the years {FIRST_YEAR}–{LAST_YEAR}")
        return value.astimezone(UTC)


class Delivery(BaseModel):
    """That it was delivered, when, and to how many people."""

    model_config = ConfigDict(extra="forbid")

    delivered_on: date
    attendance: int | None = Field(default=None, ge=0, le=1_000_000)


class OrderRating(BaseModel):
    """The orderer's score of a delivered order."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    score: int = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=1000)


class OrderPublic(BaseModel):
    """An order as its orderer and the provider see it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: OrderKind
    item_id: int | None
    org_unit_id: int
    orderer_id: int
    status: OrderStatus
    wanted_on: date
    period: str
    description: str
    audience: int | None
    reason: str
    scheduled_for: datetime | None
    delivered_on: date | None
    attendance: int | None
    activity_id: int | None
    version: int


class ProposalCreate(BaseModel):
    """A programme put to the residents' vote."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    org_unit_id: StoredId
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=4000)
    closes_on: date | None = None


class Vote(BaseModel):
    """A resident's vote."""

    model_config = ConfigDict(extra="forbid")

    in_favour: bool = True


class ProposalPublic(BaseModel):
    """A proposal and its public tally."""

    id: int
    org_unit_id: int
    title: str
    description: str
    state: ProposalState
    closes_on: date | None
    votes_for: int
    votes_against: int
