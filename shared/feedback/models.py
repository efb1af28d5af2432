"""Ratings and free feedback."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from shared.db import TimestampedTable, UTCDateTime, created_field, enum_type, fk_field, id_field


class TargetKind(StrEnum):
    """What a rating is about."""

    order = "order"
    booking = "booking"
    activity = "activity"


class Rating(SQLModel, table=True):
    """One rater's score (1–5) of one order, booking or activity, counted at the target's org unit."""

    __tablename__ = "rating"
    __table_args__ = (
        UniqueConstraint("target_kind", "target_id", "rater_id"),
        CheckConstraint("score >= 1 AND score <= 5", name="score_range"),
        Index("ix_rating_org_unit_id_rated_at", "org_unit_id", "rated_at"),
    )

    id: int | None = id_field()
    target_kind: TargetKind = Field(sa_type=enum_type(TargetKind))
    target_id: int
    rater_id: int = fk_field("user_account.id", ondelete="CASCADE")
    org_unit_id: int = fk_field("org_unit.id", ondelete="RESTRICT")
    item_id: int | None = fk_field("service_item.id", nullable=True, ondelete="SET NULL")
    score: int
    comment: str = Field(default="", sa_type=String(1000))
    rated_at: datetime = created_field()


class Feedback(TimestampedTable, table=True):
    """A resident's free feedback to an org unit and the unit's reply."""

    __tablename__ = "feedback"

    id: int | None = id_field()
    author_id: int = fk_field("user_account.id", ondelete="CASCADE")
    org_unit_id: int = fk_field("org_unit.id", ondelete="RESTRICT")
    text: str = Field(sa_type=String(2000))
    reply: str = Field(default="", sa_type=String(2000))
    replied_by: int | None = fk_field("user_account.id", nullable=True, ondelete="SET NULL")
    replied_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
