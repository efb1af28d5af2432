"""Bodies of opening hours, slots and bookings."""

from datetime import UTC, datetime, time

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.bookings.models import BookingStatus
from shared.clock import FIRST_YEAR, LAST_YEAR, in_calendar
from shared.db import StoredId


class DayHours(BaseModel):
    """Opening hours of one weekday (0 Monday … 6 Sunday), local time."""

    model_config = ConfigDict(extra="forbid")

    weekday: int = Field(ge=0, le=6)
    opens: time
    closes: time

    @model_validator(mode="after")
    def _opens_before_closing(self) -> "DayHours":
        if self.closes <= self.opens:
            raise ValueError("closes: must lie after opens")
        return self


class WeekHours(BaseModel):
    """A facility's week; days not listed are closed."""

    model_config = ConfigDict(extra="forbid")

    days: list[DayHours] = Field(max_length=7)


class Slot(BaseModel):
    """A bookable span and whether it is still free."""

    starts_at: datetime
    ends_at: datetime
    free: bool


class BookingCreate(BaseModel):
    """A resident's request for a facility from starts_at to ends_at (with a time zone)."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {
                    "facility_id": 3,
                    "starts_at": "2026-12-05T14:00:00+08:00",
                    "ends_at": "2026-12-05T16:00:00+08:00",
                    "party_size": 12,
                    "purpose": "合唱排练",
                }
            ]
        },
    )

    facility_id: StoredId
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    party_size: int = Field(default=1, ge=1, le=10_000)
    purpose: str = Field(default="", max_length=200)

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _in_utc(cls, value: datetime) -> datetime:
        if not in_calendar(value):
            raise ValueError(f"year {value.year} is outside the years {FIRST_YEAR}–{LAST_YEAR}")
        # Stored and compared in UTC: SQLite keeps a timestamp's wall time only, so every offset must be the same.
        return value.astimezone(UTC)


class BookingPublic(BaseModel):
    """A booking as its holder and the facility's staff see it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    facility_id: int
    user_id: int
    starts_at: datetime
    ends_at: datetime
    status: BookingStatus
    party_size: int
    purpose: str
    checked_in_at: datetime | None
    version: int


class BookingId(BaseModel):
    """Proof that a booking exists (the bench's minimal answer is the full body anyway)."""

    id: StoredId
