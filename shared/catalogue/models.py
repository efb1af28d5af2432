"""Service catalogue items."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, String
from sqlmodel import Field

from shared.activities.models import ActivityType, Provider
from shared.db import TimestampedTable, UTCDateTime, enum_type, fk_field, id_field


class ItemState(StrEnum):
    """Whether residents can see and order an item."""

    draft = "draft"
    published = "published"
    withdrawn = "withdrawn"


class PriceKind(StrEnum):
    """Free, or at a discounted price."""

    free = "free"
    discounted = "discounted"


class ServiceItem(TimestampedTable, table=True):
    """One entry of an org unit's service catalogue: what, by whom, when, under which rules, how many per month."""

    __tablename__ = "service_item"
    __table_args__ = (Index("ix_service_item_state_org_unit_id", "state", "org_unit_id"),)

    id: int | None = id_field()
    org_unit_id: int = fk_field("org_unit.id", ondelete="RESTRICT")
    title: str = Field(sa_type=String(200))
    category: ActivityType = Field(sa_type=enum_type(ActivityType))
    content: str = Field(default="", sa_type=String(4000))
    provider_name: str = Field(default="", sa_type=String(200))
    provider_kind: Provider = Field(default=Provider.government, sa_type=enum_type(Provider))
    schedule_text: str = Field(default="", sa_type=String(500))
    rules: str = Field(default="", sa_type=String(2000))
    process: str = Field(default="", sa_type=String(2000))
    capacity_per_month: int | None = None
    price_kind: PriceKind = Field(default=PriceKind.free, sa_type=enum_type(PriceKind))
    price_cents: int = Field(default=0)
    state: ItemState = Field(default=ItemState.draft, sa_type=enum_type(ItemState))
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
