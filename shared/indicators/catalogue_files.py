"""Reading the catalogue's YAML files: validation with the file and line of every problem."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from shared.indicators.catalogue import (
    DEFAULT_DIRECTORY,
    ELEMENTS_FILE,
    INDICATOR_ADAPTER,
    Catalogue,
    CatalogueError,
    DataElementSpec,
    PopulationPerFacilityIndicator,
    Standard,
    StandardSet,
)


@dataclass(frozen=True)
class _Document:
    """A parsed YAML file with its node tree for line lookups."""

    path: Path
    data: Any
    node: yaml.Node


def _fail(path: Path, line: int, message: str) -> CatalogueError:
    """Build the error for one problem at one line."""
    return CatalogueError(f"{path}:{line}: {message}")


def _read(path: Path) -> _Document:
    """Parse a YAML file into data plus its composed node tree."""
    try:
        text = path.read_text(encoding="utf-8")
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except OSError as exc:
        raise CatalogueError(f"{path}: cannot read: {exc}") from exc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise _fail(path, mark.line + 1 if mark else 0, f"invalid YAML: {exc.problem}") from exc
    if node is None:
        raise _fail(path, 1, "empty file")
    _check_duplicate_keys(path, node)
    return _Document(path, data, node)


def _check_duplicate_keys(path: Path, node: yaml.Node) -> None:
    """Refuse a mapping that repeats a key (PyYAML would silently keep the last)."""
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key, value in node.value:
            if key.value in seen:
                raise _fail(path, key.start_mark.line + 1, f"duplicate key {key.value!r}")
            seen.add(key.value)
            _check_duplicate_keys(path, value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _check_duplicate_keys(path, item)


def _child(node: yaml.Node, step: str | int) -> yaml.Node | None:
    """The node under a mapping key or sequence index, if any."""
    if isinstance(node, yaml.MappingNode) and isinstance(step, str):
        return next((value for key, value in node.value if key.value == step), None)
    if isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
        return node.value[step]
    return None


def _is_tag(node: yaml.Node, child: yaml.Node | None, following: str | int | None) -> bool:
    """True when a location step is a union tag rather than a key (the next step fits better)."""
    if child is None:
        return True
    if following is None:
        return False
    return _child(child, following) is None and _child(node, following) is not None


def _resolve(node: yaml.Node, loc: tuple[str | int, ...]) -> tuple[yaml.Node, list[str | int]]:
    """The deepest node an error location reaches and the steps taken, skipping union tags."""
    taken: list[str | int] = []
    for index, step in enumerate(loc):
        child = _child(node, step)
        following = loc[index + 1] if index + 1 < len(loc) else None
        if child is not None and not _is_tag(node, child, following):
            node = child
            taken.append(step)
    return node, taken


def _line_of(node: yaml.Node, loc: tuple[str | int, ...]) -> int:
    """1-based line of the deepest node an error location reaches."""
    return _resolve(node, loc)[0].start_mark.line + 1


def _section(doc: _Document, key: str) -> tuple[list[Any], list[yaml.Node]]:
    """The list under a top-level key, with its item nodes."""
    if not isinstance(doc.data, dict) or not isinstance(doc.data.get(key), list):
        raise _fail(doc.path, 1, f"expected a top-level list {key!r}")
    node = _child(doc.node, key)
    if not isinstance(node, yaml.SequenceNode):
        raise _fail(doc.path, 1, f"expected a top-level list {key!r}")
    return doc.data[key], node.value


def _format_errors(path: Path, node: yaml.Node, label: str, exc: ValidationError) -> list[str]:
    """One 'file:line: label: location: message' per validation error."""
    lines = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        if error["type"] in ("union_tag_invalid", "union_tag_not_found") and not loc:
            loc = ("kind",)
        target, taken = _resolve(node, loc)
        where = ".".join(str(step) for step in taken) or "(item)"
        lines.append(f"{path}:{target.start_mark.line + 1}: {label}: {where}: {error['msg']}")
    return lines


def _validate_items(doc: _Document, key: str, adapter: TypeAdapter[Any], context: dict[str, Any]) -> list[Any]:
    """Validate every item of a top-level list; raise once listing every bad item."""
    items, nodes = _section(doc, key)
    results, problems = [], []
    for index, (item, node) in enumerate(zip(items, nodes, strict=True)):
        label = f"{key}[{index}]"
        if isinstance(item, dict) and isinstance(item.get("code"), str):
            label = f"{item['code']} (starts line {node.start_mark.line + 1})"
        try:
            results.append(adapter.validate_python(item, context=context))
        except ValidationError as exc:
            problems.extend(_format_errors(doc.path, node, label, exc))
    if problems:
        raise CatalogueError("\n".join(problems))
    return results


def _code_lines(doc: _Document, nodes: list[yaml.Node], items: list[Any]) -> dict[str, int]:
    """Line of each item's code; refuse a code used twice in one file."""
    first: dict[str, int] = {}
    for node, item in zip(nodes, items, strict=True):
        line = _line_of(node, ("code",))
        if item.code in first:
            message = f"duplicate code {item.code!r} (first at line {first[item.code]})"
            raise _fail(doc.path, line, message)
        first[item.code] = line
    return first


def _load_elements(path: Path) -> tuple[DataElementSpec, ...]:
    """Read and validate elements.yaml."""
    doc = _read(path)
    elements = _validate_items(doc, "elements", TypeAdapter(DataElementSpec), {})
    _code_lines(doc, _section(doc, "elements")[1], elements)
    return tuple(elements)


def _load_standard(path: Path, element_codes_known: set[str]) -> StandardSet:
    """Read and validate one standard file against the known elements."""
    doc = _read(path)
    if not isinstance(doc.data, dict) or "standard" not in doc.data:
        raise _fail(path, 1, "expected a top-level mapping 'standard'")
    try:
        standard = Standard.model_validate(doc.data["standard"])
    except ValidationError as exc:
        node = _child(doc.node, "standard") or doc.node
        raise CatalogueError("\n".join(_format_errors(path, node, "standard", exc))) from exc
    context = {"elements": element_codes_known}
    indicators = _validate_items(doc, "indicators", INDICATOR_ADAPTER, context)
    lines = _code_lines(doc, _section(doc, "indicators")[1], indicators)
    _check_population(path, indicators, element_codes_known)
    return StandardSet(standard, tuple(indicators), path, lines)


def _check_population(path: Path, indicators: list[Any], known: set[str]) -> None:
    """population_per_facility reads the population element, so it must exist."""
    if "population" not in known and any(isinstance(ind, PopulationPerFacilityIndicator) for ind in indicators):
        raise CatalogueError(f"{path}: population_per_facility needs the element 'population'")


def _check_unique_across(standards: list[StandardSet]) -> None:
    """Refuse an indicator code that two standard files both define."""
    owner: dict[str, str] = {}
    for group in standards:
        for code, line in group.lines.items():
            if code in owner:
                raise _fail(group.path, line, f"duplicate code {code!r} (also at {owner[code]})")
            owner[code] = f"{group.path}:{line}"


def load_catalogue(*, directory: Path | None = None) -> Catalogue:
    """Load and validate elements.yaml and every other *.yaml standard file in the directory."""
    directory = directory or DEFAULT_DIRECTORY
    elements = _load_elements(directory / ELEMENTS_FILE)
    known = {element.code for element in elements}
    paths = sorted(p for p in directory.glob("*.yaml") if p.name != ELEMENTS_FILE)
    standards = [_load_standard(path, known) for path in paths]
    _check_unique_across(standards)
    return Catalogue(elements=elements, standards=tuple(standards))
