"""Today's date in a plan's time zone; one place so that tests and the scheduler can move the clock."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from shared.config import get_settings
from shared.db import utcnow


def now() -> datetime:
    """The current instant (UTC)."""
    return utcnow()


def today_in(timezone: str | None = None) -> date:
    """The calendar date now in a time zone (default: the settings' zone, Asia/Shanghai)."""
    return now().astimezone(ZoneInfo(timezone or get_settings().default_timezone)).date()


FIRST_YEAR, LAST_YEAR = 2, 9998  # a year's margin at both ends of Python's calendar, for time zones and day sums


def in_calendar(value: date | datetime) -> bool:
    """Whether a date or time lies far enough inside the calendar for any zone or a few days' arithmetic."""
    return FIRST_YEAR <= value.year <= LAST_YEAR
