"""Orders, the per-(item, month) capacity counter, proposals and votes."""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from shared.db import IdType, TimestampedTable, UTCDateTime, created_field, enum_type, fk_field, id_field


class OrderKind(StrEnum):
    """菜单式 (an item of the catalogue) or 订单式 (a custom request)."""

    menu = "menu"
    custom = "custom"


class OrderStatus(StrEnum):
    """Where an order stands."""

    requested = "requested"
    accepted = "accepted"
    rejected = "rejected"
    scheduled = "scheduled"
    delivered = "delivered"
    rated = "rated"
    cancelled = "cancelled"


# The states that hold one place of the item's monthly capacity.
HOLDING = (OrderStatus.requested, OrderStatus.accepted, OrderStatus.scheduled, OrderStatus.delivered, OrderStatus.rated)


class ServiceOrder(TimestampedTable, table=True):
    """An order for a community (org unit), placed by a resident or a clerk."""

    __tablename__ = "service_order"
    __table_args__ = (Index("ix_service_order_item_id_period", "item_id", "period"),)

    id: int | None = id_field()
    kind: OrderKind = Field(sa_type=enum_type(OrderKind))
    item_id: int | None = fk_field("service_item.id", nullable=True, ondelete="RESTRICT")
    org_unit_id: int = fk_field("org_unit.id", ondelete="RESTRICT")
    orderer_id: int = fk_field("user_account.id", ondelete="RESTRICT")
    status: OrderStatus = Field(default=OrderStatus.requested, sa_type=enum_type(OrderStatus), index=True)
    wanted_on: date
    period: str = Field(sa_type=String(7))
    description: str = Field(default="", sa_type=String(2000))
    audience: int | None = None
    reason: str = Field(default="", sa_type=String(500))
    scheduled_for: datetime | None = Field(default=None, sa_type=UTCDateTime)
    delivered_on: date | None = None
    attendance: int | None = None
    activity_id: int | None = fk_field("activity.id", nullable=True, ondelete="SET NULL")


class OrderCapacity(SQLModel, table=True):
    """How many places of an item's month are taken: raised by one conditional UPDATE, never past capacity."""

    __tablename__ = "order_capacity"
    __table_args__ = (CheckConstraint("taken >= 0 AND taken <= capacity", name="within_capacity"),)

    item_id: int = Field(primary_key=True, sa_type=IdType, foreign_key="service_item.id", ondelete="CASCADE")
    period: str = Field(primary_key=True, sa_type=String(7))
    capacity: int
    taken: int = Field(default=0)


class ProposalState(StrEnum):
    """Open for votes or closed."""

    open = "open"
    closed = "closed"


class Proposal(TimestampedTable, table=True):
    """A programme the office may buy; residents vote before it does (the tally is public)."""

    __tablename__ = "proposal"

    id: int | None = id_field()
    org_unit_id: int = fk_field("org_unit.id", ondelete="RESTRICT")
    title: str = Field(sa_type=String(200))
    description: str = Field(default="", sa_type=String(4000))
    state: ProposalState = Field(default=ProposalState.open, sa_type=enum_type(ProposalState))
    closes_on: date | None = None


class ProposalVote(SQLModel, table=True):
    """One resident's vote on a proposal (one each)."""

    __tablename__ = "proposal_vote"
    __table_args__ = (UniqueConstraint("proposal_id", "voter_id"),)

    id: int | None = id_field()
    proposal_id: int = fk_field("proposal.id", ondelete="CASCADE")
    voter_id: int = fk_field("user_account.id", ondelete="CASCADE")
    in_favour: bool = Field(default=True)
    cast_at: datetime = created_field()
