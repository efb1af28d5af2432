"""Bodies of the service catalogue."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from shared.activities.models import ActivityType, Provider
from shared.catalogue.models import ItemState, PriceKind
from shared.db import StoredId

MAX_CAPACITY = 100_000
MAX_PRICE_CENTS = 10_000_000


class ServiceItemCreate(BaseModel):
    """A catalogue item of an org unit (published or kept as a draft)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    org_unit_id: StoredId
    title: str = Field(min_length=1, max_length=200)
    category: ActivityType = Field(description="the kind of activity a delivery counts as")
    content: str = Field(default="", max_length=4000)
    provider_name: str = Field(default="", max_length=200)
    provider_kind: Provider = Provider.government
    schedule_text: str = Field(default="", max_length=500, description="when it is offered, as people write it")
    rules: str = Field(default="", max_length=2000)
    process: str = Field(default="", max_length=2000)
    capacity_per_month: int | None = Field(default=None, ge=1, le=MAX_CAPACITY, description="orders per month")
    price_kind: PriceKind = PriceKind.free
    price_cents: int = Field(default=0, ge=0, le=MAX_PRICE_CENTS)
    state: ItemState = ItemState.draft


class ServiceItemUpdate(BaseModel):
    """Fields to change (publish by setting state)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str | None = Field(default=None, min_length=1, max_length=200)
    content: str | None = Field(default=None, max_length=4000)
    provider_name: str | None = Field(default=None, max_length=200)
    schedule_text: str | None = Field(default=None, max_length=500)
    rules: str | None = Field(default=None, max_length=2000)
    process: str | None = Field(default=None, max_length=2000)
    capacity_per_month: int | None = Field(default=None, ge=1, le=MAX_CAPACITY)
    price_kind: PriceKind | None = None
    price_cents: int | None = Field(default=None, ge=0, le=MAX_PRICE_CENTS)
    state: ItemState | None = None


class ServiceItemPublic(BaseModel):
    """A catalogue item as everyone sees it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    org_unit_id: int
    title: str
    category: ActivityType
    content: str
    provider_name: str
    provider_kind: Provider
    schedule_text: str
    rules: str
    process: str
    capacity_per_month: int | None
    price_kind: PriceKind
    price_cents: int
    state: ItemState
    published_at: datetime | None
    version: int


class MonthStats(BaseModel):
    """Orders and ratings of an item in one month."""

    period: str
    orders: int
    delivered: int
    ratings: int
    mean_score: float | None


class ItemStats(BaseModel):
    """How often an item is ordered and how it is rated, month by month (to drop or adjust items)."""

    item_id: int
    months: list[MonthStats]
    orders: int
    mean_score: float | None
