"""Parse a task breakdown table (任务分解表) into areas, work tasks, breakdown items and assignees."""

import re
import unicodedata
from dataclasses import dataclass, field

from shared.tasks.assignee_names import ParsedAssignee, deduplicated, parse_assignees
from shared.tasks.due_rules import (
    NO_DUE,
    DuePhraseError,
    DueRule,
    merge_due_phrases,
    parse_due_rule,
    split_due_phrases,
)

HEADER_SCAN_ROWS = 10
ROLE_KEYWORDS: dict[str, tuple[str, ...]] = {
    "number": ("序号", "编号"),
    "area": ("项目",),
    "task": ("工作任务", "主要任务", "任务"),
    "item": ("具体内容", "任务分解", "工作内容", "主要内容"),
    "assignee": ("责任单位", "责任部门", "牵头单位"),
    "due": ("完成时间", "完成时限", "时间节点", "时限"),
}


@dataclass(frozen=True, slots=True)
class RowError:
    """Why one row (1-based spreadsheet row) or the whole table was refused."""

    row: int | None
    column: str | None
    message: str


class TableRefused(Exception):
    """The table has errors; `errors` lists every one of them."""

    def __init__(self, errors: list[RowError]) -> None:
        self.errors = errors
        super().__init__(f"task table refused: {len(errors)} error(s)")


@dataclass(frozen=True, slots=True)
class ParsedItem:
    """A breakdown item (任务分解 / 具体内容), code "12.3"."""

    code: str
    title: str
    assignees: list[ParsedAssignee]
    due: DueRule
    row: int


@dataclass(frozen=True, slots=True)
class ParsedTask:
    """A work task (工作任务), code "12"; assignees and due only when written on the task itself."""

    code: str
    title: str
    area_code: str | None
    row: int
    items: list[ParsedItem]
    assignees: list[ParsedAssignee] = field(default_factory=list)
    due: DueRule = NO_DUE


@dataclass(frozen=True, slots=True)
class ParsedArea:
    """An area (项目) such as 一、公共文化设施网络建设, code "A1"."""

    code: str
    title: str
    row: int


@dataclass(frozen=True, slots=True)
class ParsedTable:
    """Everything a task table holds, in table order."""

    areas: list[ParsedArea]
    tasks: list[ParsedTask]


@dataclass(frozen=True, slots=True)
class TableHeader:
    """Where the header row is (0-based) and which column plays which role."""

    row_index: int
    columns: dict[str, int]
    labels: dict[str, str]


@dataclass(frozen=True, slots=True)
class _ItemNumber:
    task_number: str | None
    index: int


@dataclass(slots=True)
class _ItemDraft:
    row: int
    number: _ItemNumber | None
    title: str
    assignees: list[ParsedAssignee]
    due: DueRule


@dataclass(slots=True)
class _TaskDraft:
    row: int
    title: str
    area_code: str | None
    number: str | None = None
    items: list[_ItemDraft] = field(default_factory=list)
    assignees: list[ParsedAssignee] = field(default_factory=list)
    due: DueRule = NO_DUE


@dataclass(slots=True)
class _State:
    header: TableHeader
    areas: dict[str, ParsedArea] = field(default_factory=dict)
    tasks: list[_TaskDraft] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    area_code: str | None = None
    area_text: str | None = None
    task_text: str | None = None

    def error(self, row: int | None, role: str | None, message: str) -> None:
        """Record one error against a row and the header text of a column."""
        self.errors.append(RowError(row=row, column=self.header.labels.get(role or ""), message=message))


_CHINESE_DIGITS = dict(zip("零〇一二两三四五六七八九", (0, 0, 1, 2, 2, 3, 4, 5, 6, 7, 8, 9), strict=True))
_AREA_HEADING = re.compile(r"\(?([一二三四五六七八九十〇零两]+|\d+)\)?\s*[、.]\s*(.*)", re.DOTALL)
_CHINESE_HEADING = re.compile(r"\(?[一二三四五六七八九十]+\)?\s*[、.].+", re.DOTALL)
_AREA_NUMERAL_ONLY = re.compile(r"\(?([一二三四五六七八九十〇零两]+)\)?")
_TASK_NUMBER = re.compile(r"(\d+)\s*[.、](?!\d)\s*(.*)", re.DOTALL)
_NUMBER_CELL = re.compile(r"\(?(\d+)\)?[.、]?")
_ITEM_NUMBER = re.compile(
    r"(?:【\s*(\d+)\s*\.\s*(\d+)\s*】|\[\s*(\d+)\s*\.\s*(\d+)\s*\]|(\d+)\.(\d+)(?!\d)\.?|\(\s*(\d+)\s*\)|(\d+)[、)])\s*"
)
_BOUNDARY = r"(?:^|(?<=\s)|(?<=[。;!?:]))"


def _text(value: object) -> str:
    return unicodedata.normalize("NFKC", str(value)).strip() if value is not None else ""


def _joined(text: str) -> str:
    """One line: wrapped lines joined without the line breaks (Chinese text has no spaces between words)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    joined = ""
    for line in lines:
        gap = " " if joined and joined[-1].isascii() and joined[-1].isalnum() and line[0].isascii() else ""
        joined += gap + line
    return joined


def _header_key(value: object) -> str:
    return re.sub(r"[(\[【].*$", "", re.sub(r"\s+", "", _text(value)))


def _header_roles(row: list[str | None]) -> dict[str, int]:
    roles: dict[str, int] = {}
    for column, value in enumerate(row):
        key = _header_key(value)
        role = next((role for role, words in ROLE_KEYWORDS.items() if key in words), None)
        if role is not None and role not in roles:
            roles[role] = column
    return roles


def find_header(rows: list[list[str | None]]) -> TableHeader | None:
    """The first of the first ten rows that names a work task column and an assignee column."""
    for index, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        roles = _header_roles(row)
        if "task" in roles and "assignee" in roles:
            labels = {role: _joined(_text(row[column])) for role, column in roles.items()}
            return TableHeader(row_index=index, columns=roles, labels=labels)
    return None


def parse_task_table(rows: list[list[str | None]]) -> ParsedTable:
    """Areas, work tasks and breakdown items of a task table; TableRefused lists every bad row."""
    header = find_header(rows)
    if header is None:
        message = "no recognisable header row (工作任务 and 责任单位 columns) in the first 10 rows"
        raise TableRefused([RowError(row=None, column=None, message=message)])
    state = _State(header=header)
    for index in range(header.row_index + 1, len(rows)):
        _read_row(state, rows[index], index + 1)
    tasks = _finish_tasks(state)
    if not tasks and not state.errors:
        state.error(None, None, "the table has no work tasks")
    if state.errors:
        raise TableRefused(sorted(state.errors, key=lambda error: error.row or 0))
    return ParsedTable(areas=list(state.areas.values()), tasks=tasks)


def _read_row(state: _State, row: list[str | None], row_number: int) -> None:
    texts = [_text(value) for value in row]
    filled = [text for text in texts if text]
    if not filled or _header_roles(row).keys() == state.header.columns.keys():
        return
    cells = {role: texts[column] if column < len(texts) else "" for role, column in state.header.columns.items()}
    if len(set(filled)) == 1 and _is_banner(filled, cells):
        if _CHINESE_HEADING.fullmatch(filled[0]):
            _read_area(state, filled[0], row_number)
        return
    if cells.get("area"):
        _read_area(state, cells["area"], row_number)
    task = _read_task(state, cells, row_number)
    if task is not None:
        _read_work(state, task, cells, row_number)


def _is_banner(filled: list[str], cells: dict[str, str]) -> bool:
    """A row of one text only: merged across the row, or a lone heading such as 一、组织保障."""
    if len(filled) > 1:
        return True
    work = [cells.get(role) for role in ("item", "assignee", "due")]
    return not any(work) and bool(_CHINESE_HEADING.fullmatch(filled[0]))


def _read_area(state: _State, text: str, row_number: int) -> None:
    if text == state.area_text:
        return
    state.area_text = text
    number, title = None, _joined(text)
    if heading := _AREA_HEADING.fullmatch(text):
        number, title = _area_number(heading.group(1)), _joined(heading.group(2))
    elif numeral := _AREA_NUMERAL_ONLY.fullmatch(text):
        number, title = _area_number(numeral.group(1)), ""
    code = f"A{number or len(state.areas) + 1}"
    if code not in state.areas:
        state.areas[code] = ParsedArea(code=code, title=title, row=row_number)
        if not title:
            state.error(row_number, "area", f"area {code} has no title")
    state.area_code = code


def _area_number(numeral: str) -> int | None:
    if numeral.isdigit():
        return int(numeral)
    tens, ten, units = numeral.partition("十")
    if not ten:
        return _CHINESE_DIGITS.get(numeral)
    if len(tens) > 1 or len(units) > 1:
        return None
    return (_CHINESE_DIGITS.get(tens, 0) if tens else 1) * 10 + (_CHINESE_DIGITS.get(units, 0) if units else 0)


def _read_task(state: _State, cells: dict[str, str], row_number: int) -> _TaskDraft | None:
    """The work task a row belongs to: a new one, or the current one continued (merged, copied or blank)."""
    text = cells.get("task", "")
    number = _number_cell(cells.get("number", ""))
    current = state.tasks[-1] if state.tasks else None
    if text and text != state.task_text:
        state.task_text = text
        title_match = _TASK_NUMBER.fullmatch(text)
        title = _joined(title_match.group(2) if title_match else text)
        number = number or (str(int(title_match.group(1))) if title_match else None)
        if current is not None and not current.title and number is not None and current.number == number:
            current.title = title  # number and title sit mid-block, as vertically centred merged cells export
            return current
        return _new_task(state, row_number, title, number)
    number = number or (None if text else _item_task_number(cells.get("item", "")))
    if current is not None and number and current.number not in (None, number):
        state.task_text = None
        return _new_task(state, row_number, "", number)
    if current is None and not any(cells.get(role) for role in ("item", "assignee", "due")):
        return None
    if current is None:
        return _new_task(state, row_number, "", number)
    current.number = current.number or number
    return current


def _number_cell(text: str) -> str | None:
    match = _NUMBER_CELL.fullmatch(text)
    return str(int(match.group(1))) if match else None


def _item_task_number(text: str) -> str | None:
    match = _ITEM_NUMBER.match(text)
    return _item_number(match).task_number if match else None


def _new_task(state: _State, row_number: int, title: str, number: str | None) -> _TaskDraft:
    task = _TaskDraft(row=row_number, title=title, area_code=state.area_code, number=number)
    state.tasks.append(task)
    return task


def _read_work(state: _State, task: _TaskDraft, cells: dict[str, str], row_number: int) -> None:
    assignees = parse_assignees(cells.get("assignee"))
    phrases = split_due_phrases(cells.get("due"))
    item_text = cells.get("item", "")
    if not item_text:
        if assignees or phrases:
            _read_task_work(state, task, assignees, phrases, row_number)
        return
    pieces = _split_items(item_text)
    for number, title in pieces:
        if not title:
            state.error(row_number, "item", f"breakdown item {_shown_number(number)} has no text")
    dues = _row_dues(state, phrases, len(pieces), row_number)
    for (number, title), due in zip(pieces, dues, strict=True):
        if title:
            task.items.append(_ItemDraft(row_number, number, title, assignees, due))


def _read_task_work(
    state: _State,
    task: _TaskDraft,
    assignees: list[ParsedAssignee],
    phrases: list[str],
    row_number: int,
) -> None:
    task.assignees = deduplicated([*task.assignees, *assignees])
    due = _row_dues(state, phrases, 1, row_number)[0]
    if due.kind == "none":
        return
    if task.due.kind != "none" and task.due != due:
        state.error(row_number, "due", f"work task has two deadlines: {task.due.text!r} and {due.text!r}")
    task.due = due


def _row_dues(state: _State, phrases: list[str], count: int, row_number: int) -> list[DueRule]:
    """Deadlines for the items of one row: one for all, one each in order, or several merged for one item."""
    rules: list[DueRule] = []
    for phrase in phrases:
        try:
            rules.append(parse_due_rule(phrase))
        except DuePhraseError as error:
            state.error(row_number, "due", error.message)
    if len(rules) < len(phrases) or not rules:
        return [NO_DUE] * count
    if len(rules) == 1:
        return rules * count
    if len(rules) == count:
        return rules
    if count == 1:
        try:
            return [merge_due_phrases(phrases)]
        except DuePhraseError:
            state.error(row_number, "due", f"deadlines {' '.join(phrases)!r} cannot be combined for one breakdown item")
            return [NO_DUE]
    state.error(row_number, "due", f"{len(rules)} deadlines for {count} breakdown items; give one, or one for each")
    return [NO_DUE] * count


def _split_items(text: str) -> list[tuple[_ItemNumber | None, str]]:
    """Split a cell holding several numbered items, only at the next numbers of the same series."""
    text = _text(text)
    match = _ITEM_NUMBER.match(text)
    if match is None:
        return [(None, _joined(text))]
    number = _item_number(match)
    rest, pieces = text[match.end() :], []
    while True:
        following = _ItemNumber(number.task_number, number.index + 1)
        split = _next_number_pattern(following).search(rest)
        if split is None:
            pieces.append((number, _joined(rest)))
            return pieces
        pieces.append((number, _joined(rest[: split.start()])))
        number, rest = following, rest[split.end() :]


def _item_number(match: re.Match[str]) -> _ItemNumber:
    groups = match.groups()
    for task_group in (0, 2, 4):
        if groups[task_group] is not None:
            return _ItemNumber(str(int(groups[task_group])), int(groups[task_group + 1]))
    return _ItemNumber(None, int(groups[6] or groups[7]))


def _next_number_pattern(number: _ItemNumber) -> re.Pattern[str]:
    index = number.index
    if number.task_number is None:
        return re.compile(rf"{_BOUNDARY}(?:\(\s*{index}\s*\)|{index}[、)])\s*")
    task = number.task_number
    bracketed = rf"【\s*{task}\s*\.\s*{index}\s*】|\[\s*{task}\s*\.\s*{index}\s*\]"
    return re.compile(rf"(?:{bracketed}|{_BOUNDARY}(?<![\d.]){task}\.{index}(?!\d)\.?)\s*")


def _shown_number(number: _ItemNumber | None) -> str:
    if number is None:
        return ""
    return f"{number.task_number}.{number.index}" if number.task_number else f"({number.index})"


def _finish_tasks(state: _State) -> list[ParsedTask]:
    tasks: list[ParsedTask] = []
    seen: set[str] = set()
    last_number = 0
    for draft in state.tasks:
        from_items = next((item.number.task_number for item in draft.items if item.number), None)
        code = draft.number or from_items or str(last_number + 1)
        last_number = int(code)
        if not draft.title:
            state.error(draft.row, "task", f"work task {code} has no title")
        if code in seen:
            state.error(draft.row, "task", f"work task {code} appears twice")
        seen.add(code)
        items = _finish_items(state, draft, code)
        if not items and not draft.assignees:
            state.error(draft.row, "assignee", f"work task {code} has no breakdown items and no assignee")
        tasks.append(
            ParsedTask(
                code=code,
                title=draft.title,
                area_code=draft.area_code,
                row=draft.row,
                items=items,
                assignees=draft.assignees,
                due=draft.due,
            )
        )
    return tasks


def _finish_items(state: _State, draft: _TaskDraft, task_code: str) -> list[ParsedItem]:
    items: list[ParsedItem] = []
    seen: set[str] = set()
    last_index = 0
    for item in draft.items:
        if item.number and item.number.task_number not in (None, task_code):
            shown = _shown_number(item.number)
            state.error(item.row, "item", f"breakdown item {shown} does not belong to work task {task_code}")
        last_index = item.number.index if item.number else last_index + 1
        code = f"{task_code}.{last_index}"
        if code in seen:
            state.error(item.row, "item", f"breakdown item {code} appears twice")
        seen.add(code)
        if not item.assignees and not draft.assignees:
            state.error(item.row, "assignee", f"breakdown item {code} has no assignee")
        items.append(ParsedItem(code=code, title=item.title, assignees=item.assignees, due=item.due, row=item.row))
    return items
