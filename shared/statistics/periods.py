"""Reporting periods: `2019`, `2019Q1`, `2019-03`."""

import calendar
import re
from dataclasses import dataclass
from datetime import date

from shared.errors import InvalidInput

_YEAR = re.compile(r"^([1-9]\d{3})$")
_QUARTER = re.compile(r"^([1-9]\d{3})Q([1-4])$")
_MONTH = re.compile(r"^([1-9]\d{3})-(0[1-9]|1[0-2])$")


@dataclass(frozen=True, slots=True)
class Period:
    """A parsed period with its first and last day."""

    code: str
    kind: str
    start: date
    end: date


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def parse_period(code: str, *, field: str = "period") -> Period:
    """Parse a period code; a 422 naming the field when it is not one."""
    if match := _YEAR.match(code):
        year = int(match[1])
        return Period(code, "year", date(year, 1, 1), date(year, 12, 31))
    if match := _QUARTER.match(code):
        year, quarter = int(match[1]), int(match[2])
        return Period(code, "quarter", date(year, 3 * quarter - 2, 1), _month_end(year, 3 * quarter))
    if match := _MONTH.match(code):
        year, month = int(match[1]), int(match[2])
        return Period(code, "month", date(year, month, 1), _month_end(year, month))
    raise InvalidInput(f"{code!r} is not a period (use 2019, 2019Q1 or 2019-03)", field=field)
