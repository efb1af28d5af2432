"""Responsible units as task tables write them: ▲ leads, separators, glued collective names (宣传办各社区)."""

import re
import unicodedata
from dataclasses import dataclass, replace

COLLECTIVE_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("community", re.compile(r"各(?:城市)?社区(?:居委会)?|各居委会?")),
    ("village", re.compile(r"各(?:行政)?村(?:\(社区\)|居)?(?:委会)?")),
    ("street", re.compile(r"各街道(?:办事处)?")),
    ("town", re.compile(r"各乡?镇(?:区)?(?:\(街道\)|街)?(?:人民)?(?:政府)?")),
    (
        "district_or_county",
        re.compile(r"各(?:县\(市、区\)|县\(市\)|区\(县\)|县\(区\)|县市区|区县|县区|县|区)(?:人民)?(?:政府)?"),
    ),
    ("member_departments", re.compile(r"各(?:创建|领导小组)?成员单位")),
    ("departments", re.compile(r"各(?:有关|相关)?(?:部门|单位)")),
)
_UNIT_SEPARATORS = "、,;/"
_OPENING, _CLOSING = "([【《", ")]】》"


@dataclass(frozen=True, slots=True)
class ParsedAssignee:
    """A responsible unit (责任单位); a lead (▲) or a collective such as 各社区."""

    name: str
    is_lead: bool = False
    collective: bool = False
    collective_kind: str | None = None


def _text(value: object) -> str:
    return unicodedata.normalize("NFKC", str(value)).strip() if value is not None else ""


def parse_assignees(text: str | None) -> list[ParsedAssignee]:
    """Responsible units of a cell: split, ▲ leads marked, collectives (各社区 …) recognised."""
    assignees: list[ParsedAssignee] = []
    lead_next = False
    for token in _unit_tokens(_text(text)):
        if token == "▲":
            lead_next = True
            continue
        for position, name in enumerate(_split_glued(token)):
            assignee = _assignee(name, is_lead=lead_next and position == 0)
            if assignee is not None:
                assignees.append(assignee)
        lead_next = False
    return deduplicated(assignees)


def _unit_tokens(text: str) -> list[str]:
    """Unit names and ▲ marks, split on separators outside parentheses."""
    tokens: list[str] = []
    current, depth = "", 0
    for char in text:
        if char in _OPENING:
            depth += 1
        elif char in _CLOSING:
            depth = max(depth - 1, 0)
        if depth == 0 and (char.isspace() or char in _UNIT_SEPARATORS or char == "▲"):
            tokens.extend(filter(None, [current, "▲" if char == "▲" else ""]))
            current = ""
            continue
        current += char
    tokens.extend(filter(None, [current]))
    return tokens


def _split_glued(name: str) -> list[str]:
    """Split a collective name glued onto the unit before it ("宣传办各社区" → 宣传办, 各社区)."""
    parts: list[str] = []
    end = len(name)
    for position in range(len(name) - 1, 0, -1):
        if name[position] == "各" and collective_kind_of(name[position:end].removesuffix("等")):
            parts.insert(0, name[position:end])
            end = position
    return [name[:end], *parts]


def _assignee(name: str, *, is_lead: bool) -> ParsedAssignee | None:
    name = name.removesuffix("等")
    for mark in ("(牵头)", "牵头"):
        if name.endswith(mark) and len(name) > len(mark):
            name, is_lead = name.removesuffix(mark), True
    if not name:
        return None
    kind = collective_kind_of(name)
    return ParsedAssignee(name=name, is_lead=is_lead, collective=kind is not None, collective_kind=kind)


def collective_kind_of(name: str) -> str | None:
    """The kind of units a collective name (各社区, 各县（市、区）政府 …) stands for, None when it is one unit."""
    key = re.sub(r"\s+", "", _text(name))
    return next((kind for kind, pattern in COLLECTIVE_KINDS if pattern.fullmatch(key)), None)


def deduplicated(assignees: list[ParsedAssignee]) -> list[ParsedAssignee]:
    """Each unit once, a lead mark anywhere making it lead."""
    unique: dict[str, ParsedAssignee] = {}
    for assignee in assignees:
        known = unique.get(assignee.name)
        if known is None:
            unique[assignee.name] = assignee
        elif assignee.is_lead and not known.is_lead:
            unique[assignee.name] = replace(known, is_lead=True)
    return list(unique.values())


_FULL_WIDTH = {",": "，", ";": "；", ":": "：", "!": "！", "?": "？", "(": "（", ")": "）"}
_CJK = r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef“”]"
_ASCII_PUNCTUATION = re.compile(rf"(?<={_CJK})[,;:!?()]|[,;:!?()](?={_CJK})")


def display_text(text: str) -> str:
    """Chinese punctuation back where parsing (NFKC) made it ASCII: "责任,落实" → "责任，落实"; "2018.06" stays."""
    return _ASCII_PUNCTUATION.sub(lambda match: _FULL_WIDTH[match.group()], text)
