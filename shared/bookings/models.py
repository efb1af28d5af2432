"""Opening hours and bookings.

On PostgreSQL the migration adds an exclusion constraint `ex_booking_no_overlap`
(btree_gist: facility_id WITH =, tstzrange(starts_at, ends_at) WITH &&, for active bookings), so two active bookings
of one facility can never overlap whatever the application does; SQLite relies on the guarded transaction in the
service (BEGIN IMMEDIATE, overlap check, insert).
"""

from datetime import datetime, time
from enum import StrEnum

from sqlalchemy import CheckConstraint, Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from shared.db import TimestampedTable, UTCDateTime, enum_type, fk_field, id_field


class OpeningHours(SQLModel, table=True):
    """When a facility opens on one weekday (0 Monday … 6 Sunday), local time."""

    __tablename__ = "opening_hours"
    __table_args__ = (
        UniqueConstraint("facility_id", "weekday"),
        CheckConstraint("weekday >= 0 AND weekday <= 6", name="weekday"),
        CheckConstraint("closes > opens", name="opens_before_closing"),
    )

    id: int | None = id_field()
    facility_id: int = fk_field("facility.id", ondelete="CASCADE")
    weekday: int
    opens: time
    closes: time


class BookingStatus(StrEnum):
    """A booking's state; booked and checked_in hold the slot."""

    booked = "booked"
    checked_in = "checked_in"
    no_show = "no_show"
    cancelled = "cancelled"


ACTIVE = (BookingStatus.booked, BookingStatus.checked_in)


class Booking(TimestampedTable, table=True):
    """A resident's hold on a facility from starts_at to ends_at."""

    __tablename__ = "booking"
    __table_args__ = (
        Index("ix_booking_facility_id_starts_at", "facility_id", "starts_at"),
        CheckConstraint("ends_at > starts_at", name="positive_length"),
    )

    id: int | None = id_field()
    facility_id: int = fk_field("facility.id", ondelete="RESTRICT")
    user_id: int = fk_field("user_account.id", ondelete="RESTRICT")
    starts_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    status: BookingStatus = Field(default=BookingStatus.booked, sa_type=enum_type(BookingStatus))
    party_size: int = Field(default=1)
    purpose: str = Field(default="", sa_type=String(200))
    checked_in_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
