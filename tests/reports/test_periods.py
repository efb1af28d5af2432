"""Periods and due dates of each kind of report, as the seeds set them (每月20日前; 3/15, 6/15, 9/15, 12/15)."""

from datetime import date

import pytest

from shared.errors import InvalidInput
from shared.reports.models import ReportKind
from shared.reports.periods import periods_opening, report_period


def test_a_monthly_update_is_due_on_the_20th_of_its_month() -> None:
    period = report_period(ReportKind.monthly_update, "2026-03")
    assert (period.opens_on, period.due_on) == (date(2026, 3, 1), date(2026, 3, 20))


@pytest.mark.parametrize(
    ("code", "due"),
    [
        ("2026Q1", date(2026, 3, 15)),
        ("2026Q2", date(2026, 6, 15)),
        ("2026Q3", date(2026, 9, 15)),
        ("2026Q4", date(2026, 12, 15)),
    ],
)
def test_quarterly_reports_fall_due_inside_their_quarter(code: str, due: date) -> None:
    period = report_period(ReportKind.quarterly, code)
    assert period.due_on == due
    assert period.period.start <= period.due_on <= period.period.end


@pytest.mark.parametrize(
    ("kind", "code"),
    [
        (ReportKind.monthly_update, "2026Q1"),
        (ReportKind.quarterly, "2026-03"),
        (ReportKind.annual, "2026-13"),
        (ReportKind.quarterly, "2026Q5"),
        (ReportKind.monthly_update, "March"),
    ],
)
def test_a_period_that_does_not_exist_for_the_kind_is_refused_naming_the_field(kind: ReportKind, code: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        report_period(kind, code)
    assert refused.value.errors[0]["field"] == "period"


def test_a_year_opens_twelve_monthly_updates_and_four_quarterly_reports() -> None:
    year = (date(2026, 1, 1), date(2026, 12, 31))
    assert len(periods_opening(ReportKind.monthly_update, first=year[0], last=year[1])) == 12
    assert [p.code for p in periods_opening(ReportKind.quarterly, first=year[0], last=year[1])] == [
        "2026Q1",
        "2026Q2",
        "2026Q3",
        "2026Q4",
    ]
