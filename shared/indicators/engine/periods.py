"""Sub-periods of a period (months of a year, quarters …) for frequency indicators."""

from datetime import date

from shared.statistics.periods import Period, parse_period


def sub_periods(period: Period, *, per: str) -> list[tuple[date, date]]:
    """The (first day, last day) of each month, quarter or year inside the period."""
    if per == "year" or period.kind == per or (per == "quarter" and period.kind == "month"):
        return [(period.start, period.end)]
    year = period.start.year
    if per == "quarter":
        codes = [f"{year}Q{q}" for q in range(1, 5)]
    else:
        first = period.start.month
        codes = [f"{year}-{month:02d}" for month in range(first, period.end.month + 1)]
    return [(parsed.start, parsed.end) for parsed in map(parse_period, codes)]
