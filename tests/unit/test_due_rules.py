"""Deadline phrases as users write them in task tables."""

from datetime import date

import pytest

from shared.tasks.due_rules import (
    DuePhraseError,
    merge_due_phrases,
    parse_due_rule,
    split_due_phrases,
    yearly_occurrences,
)


@pytest.mark.parametrize(
    ("text", "kind", "starts_on", "due_on"),
    [
        ("2018 年", "year", None, date(2018, 12, 31)),
        ("2018年底", "year", None, date(2018, 12, 31)),
        ("2018年末", "year", None, date(2018, 12, 31)),
        ("2019年10月", "month", None, date(2019, 10, 31)),
        ("2019年6月底", "month", None, date(2019, 6, 30)),
        ("2020年2月", "month", None, date(2020, 2, 29)),
        ("2017.06", "month", None, date(2017, 6, 30)),
        ("2017-06", "month", None, date(2017, 6, 30)),
        ("2017/6", "month", None, date(2017, 6, 30)),
        ("2020年12月31日", "date", None, date(2020, 12, 31)),
        ("2020.12.31", "date", None, date(2020, 12, 31)),
        ("2020-12-31", "date", None, date(2020, 12, 31)),
        ("2018 年至 2019 年", "span", date(2018, 1, 1), date(2019, 12, 31)),
        ("2018-2020年", "span", date(2018, 1, 1), date(2020, 12, 31)),
        ("2018—2020年", "span", date(2018, 1, 1), date(2020, 12, 31)),
        ("2019年至2020年6月", "span", date(2019, 1, 1), date(2020, 6, 30)),
        ("2019年上半年", "span", date(2019, 1, 1), date(2019, 6, 30)),
        ("2019年下半年", "span", date(2019, 7, 1), date(2019, 12, 31)),
        ("2019年10月前完成", "month", None, date(2019, 10, 31)),
        ("２０１９年１０月", "month", None, date(2019, 10, 31)),
        ("２０１８年－２０２０年", "span", date(2018, 1, 1), date(2020, 12, 31)),
    ],
)
def test_dated_phrases(text: str, kind: str, starts_on: date | None, due_on: date) -> None:
    rule = parse_due_rule(text)
    assert (rule.kind, rule.starts_on, rule.due_on) == (kind, starts_on, due_on)
    assert not rule.whole_plan


@pytest.mark.parametrize("text", ["", "  ", None])
def test_empty_phrase_is_no_deadline(text: str | None) -> None:
    assert parse_due_rule(text).kind == "none"


@pytest.mark.parametrize(
    ("text", "month", "day"),
    [("每年", 12, 31), ("每年度", 12, 31), ("每年12月", 12, 31), ("每年6月", 6, 30), ("每年3月15日", 3, 15)],
)
def test_yearly_phrases(text: str, month: int, day: int) -> None:
    rule = parse_due_rule(text)
    assert (rule.kind, rule.due_on, rule.yearly_month, rule.yearly_day) == ("yearly", None, month, day)


@pytest.mark.parametrize("text", ["长期", "持续", "长期坚持"])
def test_long_term_phrases_span_the_whole_plan(text: str) -> None:
    rule = parse_due_rule(text)
    assert (rule.kind, rule.starts_on, rule.due_on, rule.whole_plan) == ("span", None, None, True)


@pytest.mark.parametrize("text", ["尽快", "每月", "2019年13月", "2019.2.30", "2020年至2018年", "2019年10月 2020年"])
def test_unknown_phrase_is_refused(text: str) -> None:
    with pytest.raises(DuePhraseError) as caught:
        parse_due_rule(text)
    assert caught.value.text == text


@pytest.mark.parametrize(
    ("text", "phrases"),
    [
        ("2019 年 2020 年", ["2019年", "2020年"]),
        ("2018 年至 2020 年 2019 年至 2020 年 2019 年", ["2018年至2020年", "2019年至2020年", "2019年"]),
        ("2019年至2020年", ["2019年至2020年"]),
        ("2018 年至 2019 年 2019 年", ["2018年至2019年", "2019年"]),
        ("2017.6 2018.6", ["2017.6", "2018.6"]),
        ("2019年12月2020年6月", ["2019年12月", "2020年6月"]),
        ("每年", ["每年"]),
        ("", []),
        ("尽快", ["尽快"]),
    ],
)
def test_split_phrases_side_by_side(text: str, phrases: list[str]) -> None:
    assert split_due_phrases(text) == phrases


def test_several_phrases_for_one_piece_of_work_merge_into_a_span() -> None:
    rule = merge_due_phrases(["2018年", "2019年"])
    assert (rule.kind, rule.starts_on, rule.due_on) == ("span", date(2018, 1, 1), date(2019, 12, 31))
    with pytest.raises(DuePhraseError):
        merge_due_phrases(["2018年", "每年"])


def test_yearly_occurrences_one_per_plan_year() -> None:
    plan = {"plan_starts_on": date(2018, 1, 1), "plan_ends_on": date(2020, 12, 31)}
    assert yearly_occurrences(parse_due_rule("每年"), **plan) == [
        (2018, date(2018, 12, 31)),
        (2019, date(2019, 12, 31)),
        (2020, date(2020, 12, 31)),
    ]
    assert [day for _, day in yearly_occurrences(parse_due_rule("每年6月"), **plan)] == [
        date(2018, 6, 30),
        date(2019, 6, 30),
        date(2020, 6, 30),
    ]


def test_yearly_occurrences_stay_inside_the_plan() -> None:
    occurrences = yearly_occurrences(
        parse_due_rule("每年3月"),
        plan_starts_on=date(2018, 4, 1),
        plan_ends_on=date(2020, 2, 15),
    )
    assert occurrences == [(2019, date(2019, 3, 31)), (2020, date(2020, 2, 15))]
    with pytest.raises(ValueError):
        yearly_occurrences(parse_due_rule("2019年"), plan_starts_on=date(2018, 1, 1), plan_ends_on=date(2020, 1, 1))
