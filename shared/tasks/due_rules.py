"""Deadline phrases of task tables (完成时间 / 完成时限) turned into due rules."""

import calendar
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Literal

DueKind = Literal["none", "date", "month", "year", "span", "yearly"]


@dataclass(frozen=True, slots=True)
class DueRule:
    """When a task or breakdown item is due, as its deadline phrase says."""

    kind: DueKind
    starts_on: date | None = None
    due_on: date | None = None
    text: str = ""
    yearly_month: int | None = None
    yearly_day: int | None = None
    whole_plan: bool = False


NO_DUE = DueRule(kind="none")


class DuePhraseError(ValueError):
    """A deadline phrase that is not understood."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.message = f"unknown deadline phrase {text!r}"
        super().__init__(self.message)


@dataclass(frozen=True, slots=True)
class _Period:
    kind: DueKind
    starts_on: date
    due_on: date


_DATE = r"(\d{4})(?:年(\d{1,2})月(\d{1,2})(?!\d)[日号]?|[./-](\d{1,2})[./-](\d{1,2})(?!\d))"
_HALF = r"(\d{4})年?([上下])半年"
_QUARTER = r"(\d{4})年?第?([一二三四1-4])季度"
_MONTH = r"(\d{4})(?:年(\d{1,2})月(?:份|底|末)?|[./-](\d{1,2})(?!\d))"
_YEAR = r"(\d{4})(?!\d)(?:年(?:度|底|末)?)?"
_MONTH_ONLY = r"(\d{1,2})月(?:份|底|末)?"
_POINT = f"(?:{_DATE}|{_HALF}|{_QUARTER}|{_MONTH}|{_YEAR})"
_SEP = r"(?:至|到|-|~|〜|—|–|―|─)"
_YEARLY = r"每年度?(?:(\d{1,2})月(?:份|底|末)?(?:(\d{1,2})(?!\d)[日号]?)?|年底|年末)?"
_WHOLE_PLAN = ("长期坚持", "长期推进", "持续推进", "长期", "持续", "常年", "常态化")
_PREFIX = r"(?:截至|截止|到|于|在)?"
_SUFFIX = r"(?:之前|以前|前)?(?:完成)?"
_CORE = f"(?:{_YEARLY}|{'|'.join(_WHOLE_PLAN)}|{_POINT}{_SEP}(?:{_POINT}|{_MONTH_ONLY})|{_POINT})"

_PHRASE = re.compile(f"{_PREFIX}{_CORE}{_SUFFIX}")
_AFFIXES = re.compile(f"{_PREFIX}(.+?){_SUFFIX}")
_SPAN = re.compile(f"(?P<first>{_POINT}){_SEP}(?P<last>{_POINT}|{_MONTH_ONLY})")
_YEARLY_FORM = re.compile(_YEARLY)
_FORMS = {
    name: re.compile(form)
    for name, form in (
        ("date", _DATE),
        ("half", _HALF),
        ("quarter", _QUARTER),
        ("month", _MONTH),
        ("year", _YEAR),
    )
}
_MONTH_ONLY_FORM = re.compile(_MONTH_ONLY)
_GAPS = " 、,;/和及"
_QUARTERS = {"一": 1, "二": 2, "三": 3, "四": 4}


def _shown(text: str | None) -> str:
    return unicodedata.normalize("NFKC", text or "").strip()


def _compact(text: str) -> str:
    """Drop whitespace, keeping one space where it is the only thing between two numbers."""
    return re.sub(r"\s+", lambda m: " " if _between_digits(m) else "", text)


def _between_digits(match: re.Match[str]) -> bool:
    text, start, end = match.string, match.start(), match.end()
    return start > 0 and end < len(text) and text[start - 1].isdigit() and text[end].isdigit()


def split_due_phrases(text: str | None) -> list[str]:
    """Split a time cell holding several deadline phrases side by side ("2019 年 2020 年")."""
    shown = _shown(text)
    compact = _compact(shown)
    phrases: list[str] = []
    position = 0
    while position < len(compact):
        if compact[position] in _GAPS:
            position += 1
            continue
        match = _PHRASE.match(compact, position)
        if match is None:
            return [shown]
        phrases.append(match.group())
        position = match.end()
    return phrases


def parse_due_rule(text: str | None) -> DueRule:
    """Parse one deadline phrase; an empty one gives kind "none"."""
    shown = _shown(text)
    core = _core(shown)
    if not core:
        return DueRule(kind="none", text=shown)
    if core in _WHOLE_PLAN:
        return DueRule(kind="span", text=shown, whole_plan=True)
    if match := _YEARLY_FORM.fullmatch(core):
        month, day = _yearly_month_day(match, shown)
        return DueRule(kind="yearly", text=shown, yearly_month=month, yearly_day=day)
    period = _period(core, shown)
    if period is None:
        raise DuePhraseError(shown)
    starts_on = period.starts_on if period.kind == "span" else None
    return DueRule(kind=period.kind, starts_on=starts_on, due_on=period.due_on, text=shown)


def merge_due_phrases(phrases: list[str]) -> DueRule:
    """One piece of work with several dated phrases: a span from the first start to the last end."""
    text = " ".join(_shown(phrase) for phrase in phrases)
    periods = [_period(_core(_shown(phrase)), text) for phrase in phrases]
    if not periods or any(period is None for period in periods):
        raise DuePhraseError(text)
    starts_on = min(period.starts_on for period in periods if period)
    due_on = max(period.due_on for period in periods if period)
    return DueRule(kind="span", starts_on=starts_on, due_on=due_on, text=text)


def yearly_occurrences(rule: DueRule, *, plan_starts_on: date, plan_ends_on: date) -> list[tuple[int, date]]:
    """One due date per plan year for a yearly rule; none before the plan starts, none after it ends."""
    if rule.kind != "yearly":
        raise ValueError(f"not a yearly rule: {rule.kind}")
    month, day = rule.yearly_month or 12, rule.yearly_day
    occurrences: list[tuple[int, date]] = []
    for year in range(plan_starts_on.year, plan_ends_on.year + 1):
        due_on = date(year, month, min(day or 31, calendar.monthrange(year, month)[1]))
        if due_on >= plan_starts_on:
            occurrences.append((year, min(due_on, plan_ends_on)))
    return occurrences


def _core(shown: str) -> str:
    compact = _compact(shown)
    match = _AFFIXES.fullmatch(compact)
    return match.group(1) if match else compact


def _yearly_month_day(match: re.Match[str], shown: str) -> tuple[int, int]:
    month = int(match.group(1)) if match.group(1) else 12
    if not 1 <= month <= 12:
        raise DuePhraseError(shown)
    last_day = calendar.monthrange(2000, month)[1]
    day = int(match.group(2)) if match.group(2) else last_day
    if not 1 <= day <= last_day:
        raise DuePhraseError(shown)
    return month, day


def _period(core: str, shown: str) -> _Period | None:
    """The period a point or span phrase covers, None when it is neither."""
    try:
        if span := _SPAN.fullmatch(core):
            first = _point(span.group("first"))
            if first is None:
                return None
            last = _point(span.group("last"), year=first.starts_on.year)
            if last is None or last.due_on < first.starts_on:
                raise DuePhraseError(shown)
            return _Period("span", first.starts_on, last.due_on)
        return _point(core)
    except ValueError as error:
        raise DuePhraseError(shown) from error


def _point(text: str, *, year: int | None = None) -> _Period | None:
    """One dated point: a day, a month, a quarter, a half year or a year."""
    if m := _FORMS["date"].fullmatch(text):
        _checked_year(int(m[1]), 1)
        day = date(int(m[1]), int(m[2] or m[4]), int(m[3] or m[5]))
        return _Period("date", day, day)
    if m := _FORMS["half"].fullmatch(text):
        first_month = 1 if m[2] == "上" else 7
        return _Period("span", date(int(m[1]), first_month, 1), _month_end(int(m[1]), first_month + 5))
    if m := _FORMS["quarter"].fullmatch(text):
        quarter = _QUARTERS.get(m[2]) or int(m[2])
        return _Period("span", date(int(m[1]), quarter * 3 - 2, 1), _month_end(int(m[1]), quarter * 3))
    if m := _FORMS["month"].fullmatch(text):
        return _month(int(m[1]), int(m[2] or m[3]))
    if m := _FORMS["year"].fullmatch(text):
        return _Period("year", _checked_year(int(m[1]), 1), date(int(m[1]), 12, 31))
    if year is not None and (m := _MONTH_ONLY_FORM.fullmatch(text)):
        return _month(year, int(m[1]))
    return None


def _month(year: int, month: int) -> _Period:
    return _Period("month", _checked_year(year, month), _month_end(year, month))


def _checked_year(year: int, month: int) -> date:
    if not 1900 <= year <= 2199:
        raise ValueError(f"year {year} out of range")
    return date(year, month, 1)


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])
