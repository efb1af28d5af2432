"""Which periods each kind of report has, when each opens and when it is due (每月20日前; 3/15, 6/15, 9/15, 12/15)."""

from dataclasses import dataclass
from datetime import date

from shared.errors import InvalidInput
from shared.reports.models import ReportKind
from shared.statistics.periods import Period, parse_period

PERIOD_KIND = {
    ReportKind.monthly_update: "month",
    ReportKind.quarterly: "quarter",
    ReportKind.annual: "year",
    ReportKind.self_assessment: "year",
}
EXAMPLE = {"month": "2026-03", "quarter": "2026Q1", "year": "2026"}
# Kinds the calendar opens by itself; a self-assessment is opened by the creation office.
SCHEDULED = (ReportKind.monthly_update, ReportKind.quarterly, ReportKind.annual)


@dataclass(frozen=True, slots=True)
class ReportPeriod:
    """A kind's period with the day it opens and the day it is due."""

    kind: ReportKind
    period: Period
    opens_on: date
    due_on: date

    @property
    def code(self) -> str:
        """The period code (2026-03, 2026Q1, 2026)."""
        return self.period.code


def report_period(kind: ReportKind, code: str, *, field: str = "period") -> ReportPeriod:
    """The period of a report kind; 422 naming the field when the code is no period of that kind."""
    period = parse_period(code.strip(), field=field)
    wanted = PERIOD_KIND[kind]
    if period.kind != wanted:
        raise InvalidInput(
            f"{code!r} is not a period of a {kind.value} report (use a {wanted} such as {EXAMPLE[wanted]})",
            field=field,
        )
    start = period.start
    if kind == ReportKind.monthly_update:
        due = date(start.year, start.month, 20)
    elif kind == ReportKind.quarterly:
        due = date(start.year, start.month + 2, 15)
    elif kind == ReportKind.annual:
        # The annual report and public notice of fund use: prepared in December, due by the end of January.
        return ReportPeriod(kind, period, date(start.year, 12, 1), date(start.year + 1, 1, 31))
    else:
        due = date(start.year, 11, 30)
    return ReportPeriod(kind, period, start, due)


def periods_opening(kind: ReportKind, *, first: date, last: date) -> list[ReportPeriod]:
    """Every period of a kind that opens on a day between first and last (both included)."""
    found: list[ReportPeriod] = []
    for year in range(first.year - 1, last.year + 1):
        if kind == ReportKind.monthly_update:
            codes = [f"{year}-{month:02d}" for month in range(1, 13)]
        elif kind == ReportKind.quarterly:
            codes = [f"{year}Q{quarter}" for quarter in range(1, 5)]
        else:
            codes = [str(year)]
        found += [rp for code in codes if first <= (rp := report_period(kind, code)).opens_on <= last]
    return found
