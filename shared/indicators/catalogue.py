"""Standards catalogue: indicator definitions shipped as YAML and validated when loaded."""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    model_validator,
)

DEFAULT_DIRECTORY = Path(__file__).with_name("catalogue")
ELEMENTS_FILE = "elements.yaml"

Op = Literal[">=", ">", "<=", "<", "=="]
OrgUnitKind = Literal[
    "province",
    "city",
    "district",
    "county",
    "street",
    "town",
    "community",
    "village",
    "compound",
    "service_point",
]
FacilityType = Literal[
    "public_library",
    "cultural_centre",
    "museum",
    "art_gallery",
    "theatre",
    "station",
    "grassroots_centre",
    "farm_bookstore",
    "self_service_library",
    "city_study_room",
    "culture_hall",
    "sports_square",
]
FacilityStatus = Literal["planned", "building", "open"]
FacilityField = Literal[
    "floor_area_m2",
    "outdoor_area_m2",
    "weekly_open_hours",
    "staff_established",
    "staff_purchased",
    "staff_professional",
    "wifi",
]
ActivityType = Literal[
    "film_screening",
    "performance",
    "exhibition",
    "training",
    "lecture",
    "reading_promotion",
    "mobile_service",
    "volunteer_service",
]
Provider = Literal["government", "social_force", "volunteer"]
PeriodType = Literal["year", "quarter", "month"]
PlanCode = Literal["zhongshan_xiqu", "wenzhou"]
Category = Literal["key", "general", "local"]
MEASURE_KEYS = (
    "element",
    "facility_field",
    "facility_count",
    "activity_count",
    "activity_attendance",
)


class CatalogueError(ValueError):
    """The shipped catalogue is malformed; the message names the file and line."""


def _known_element(code: str, info: ValidationInfo) -> str:
    """Refuse an element code that elements.yaml does not define."""
    known = (info.context or {}).get("elements")
    if known is not None and code not in known:
        raise ValueError(f"unknown data element {code!r} (not in {ELEMENTS_FILE})")
    return code


def _as_list(value: Any) -> Any:
    """Accept one mapping where a list of them is expected."""
    return [value] if isinstance(value, dict) else value


ElementCode = Annotated[str, AfterValidator(_known_element)]


class Spec(BaseModel):
    """Base of every catalogue model: strict keys, immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Comparison(Spec):
    """An operator and a value to compare with."""

    op: Op
    value: bool | float


class Threshold(Spec):
    """The pass rule for an indicator value."""

    op: Op
    value: float


class LevelThreshold(Threshold):
    """A threshold that applies when the indicator is computed for units of these kinds."""

    levels: list[OrgUnitKind] = Field(min_length=1)


class Target(Spec):
    """A plan's own target, reported beside the standard's threshold."""

    plan: PlanCode
    op: Op
    value: float


class FacilitySelector(Spec):
    """Which facilities count: types, statuses, optional org-unit kinds and field filters."""

    types: list[FacilityType] = Field(min_length=1)
    statuses: list[FacilityStatus] = Field(default=["open"], min_length=1)
    unit_kinds: list[OrgUnitKind] | None = None
    where: dict[FacilityField, Comparison] | None = None


class ActivityWhere(Spec):
    """Filters on activity attributes."""

    domestic_new_film: bool | None = None
    provider: list[Provider] | None = None


class ActivitySelector(Spec):
    """Which activities count."""

    types: list[ActivityType] = Field(min_length=1)
    where: ActivityWhere | None = None


class ElementMeasure(Spec):
    """Sum of a data element's values over the subtree and period."""

    element: ElementCode


class FacilityFieldMeasure(Spec):
    """Sum of a facility column over the selected facilities."""

    facility_field: FacilityField
    facilities: FacilitySelector


class FacilityCountMeasure(Spec):
    """Number of selected facilities."""

    facility_count: FacilitySelector


class ActivityCountMeasure(Spec):
    """Number of selected activities in the period."""

    activity_count: ActivitySelector


class ActivityAttendanceMeasure(Spec):
    """Total attendance of selected activities in the period."""

    activity_attendance: ActivitySelector


def _measure_tag(value: Any) -> str | None:
    """Name the measure variant by the key it carries."""
    if isinstance(value, dict):
        return next((key for key in MEASURE_KEYS if key in value), None)
    return next((key for key in MEASURE_KEYS if hasattr(value, key)), None)


Measure = Annotated[
    Annotated[ElementMeasure, Tag("element")]
    | Annotated[FacilityFieldMeasure, Tag("facility_field")]
    | Annotated[FacilityCountMeasure, Tag("facility_count")]
    | Annotated[ActivityCountMeasure, Tag("activity_count")]
    | Annotated[ActivityAttendanceMeasure, Tag("activity_attendance")],
    Discriminator(
        _measure_tag,
        custom_error_type="unknown_measure",
        custom_error_message=f"a measure needs exactly one of {', '.join(MEASURE_KEYS)}",
    ),
]


class UnitSelector(Spec):
    """Org units of these kinds within the subtree."""

    kinds: list[OrgUnitKind] = Field(min_length=1)


class Condition(Spec):
    """A unit qualifies when the measure over its subtree compares true (default: at least 1)."""

    measure: Measure
    op: Op = ">="
    value: float = 1


class When(Spec):
    """When a compliance rule applies; every given clause must hold."""

    service_population: Annotated[list[Comparison], BeforeValidator(_as_list)] | None = None
    facility_type: list[FacilityType] | None = None
    unit_kinds: list[OrgUnitKind] | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> "When":
        """Refuse a when with no clause."""
        if not (self.service_population or self.facility_type or self.unit_kinds):
            raise ValueError("when needs service_population, facility_type or unit_kinds")
        return self


class Rule(Spec):
    """A facility column (or the facility's own data value) compared with a value."""

    field: FacilityField | None = None
    element: ElementCode | None = None
    op: Op
    value: bool | float
    when: When | None = None

    @model_validator(mode="after")
    def _one_source(self) -> "Rule":
        """Require exactly one of field and element."""
        if (self.field is None) == (self.element is None):
            raise ValueError("a rule needs exactly one of field and element")
        return self


class IndicatorBase(Spec):
    """What every indicator carries."""

    code: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$")
    category: Category
    name: str = Field(min_length=1)
    standard_text: str = Field(min_length=1)
    unit: str = Field(min_length=1)
    note: str | None = None
    targets: list[Target] = []


class Quantitative(IndicatorBase):
    """An indicator computed from data, with one threshold or thresholds per level."""

    threshold: Threshold | None = None
    thresholds: list[LevelThreshold] | None = None

    @model_validator(mode="after")
    def _one_threshold_form(self) -> "Quantitative":
        """Refuse both threshold and thresholds."""
        if self.threshold is not None and self.thresholds is not None:
            raise ValueError("give threshold or thresholds, not both")
        return self


class RatioIndicator(Quantitative):
    """Σ numerator / Σ denominator × factor over the unit's subtree."""

    kind: Literal["ratio"]
    numerator: Measure
    denominator: Measure
    factor: float = 1


class CoverageIndicator(Quantitative):
    """Share of units of the given kinds that meet every qualifying condition."""

    kind: Literal["coverage"]
    units: UnitSelector
    qualifies: Annotated[list[Condition], BeforeValidator(_as_list), Field(min_length=1)]


class ComplianceIndicator(Quantitative):
    """Share of selected facilities for which every applicable rule holds."""

    kind: Literal["compliance"]
    facilities: FacilitySelector
    rules: list[Rule] = Field(min_length=1)


class FrequencyIndicator(Quantitative):
    """Share of (unit, sub-period) pairs with at least min_count selected activities."""

    kind: Literal["frequency"]
    units: UnitSelector
    activities: ActivitySelector
    per: Literal["month", "quarter", "year"]
    min_count: int = Field(ge=1)


class CountIndicator(Quantitative):
    """Number of selected activities; with per_facility, those held by such facilities per facility."""

    kind: Literal["count"]
    activities: ActivitySelector
    per_facility: FacilitySelector | None = None


class PopulationPerFacilityIndicator(Quantitative):
    """Resident population divided by the number of selected facilities."""

    kind: Literal["population_per_facility"]
    facilities: FacilitySelector

    @model_validator(mode="after")
    def _at_most(self) -> "PopulationPerFacilityIndicator":
        """Require an upper-bound threshold."""
        ops = [t.op for t in self.thresholds or []] + ([self.threshold.op] if self.threshold else [])
        if any(op not in ("<=", "<") for op in ops):
            raise ValueError("population_per_facility thresholds must use <= or <")
        return self


class MilestoneIndicator(IndicatorBase):
    """A qualitative requirement met by finished tasks with evidence, graded by assessors."""

    kind: Literal["milestone"]
    evidence: str = Field(min_length=1)


Indicator = Annotated[
    RatioIndicator
    | CoverageIndicator
    | ComplianceIndicator
    | FrequencyIndicator
    | CountIndicator
    | PopulationPerFacilityIndicator
    | MilestoneIndicator,
    Field(discriminator="kind"),
]
INDICATOR_ADAPTER: TypeAdapter[Indicator] = TypeAdapter(Indicator)


class DataElementSpec(Spec):
    """A statistic that units report."""

    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1)
    unit: str = Field(min_length=1)
    value_type: Literal["number", "integer"]
    aggregation: Literal["sum"]
    period_types: list[PeriodType] = Field(min_length=1)


class Standard(Spec):
    """A standard set (创建标准) that a file of indicators belongs to."""

    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1)


@dataclass(frozen=True)
class StandardSet:
    """A standard and its indicators in table order."""

    standard: Standard
    indicators: tuple[Indicator, ...]
    path: Path
    lines: dict[str, int]


@dataclass(frozen=True)
class Catalogue:
    """Every data element and every standard set shipped with the code."""

    elements: tuple[DataElementSpec, ...]
    standards: tuple[StandardSet, ...]

    @property
    def indicators(self) -> list[Indicator]:
        """All indicators of all standards, in file and table order."""
        return [ind for group in self.standards for ind in group.indicators]

    def by_code(self, code: str) -> Indicator:
        """The indicator with this code; KeyError if none."""
        for indicator in self.indicators:
            if indicator.code == code:
                return indicator
        raise KeyError(code)

    def element(self, code: str) -> DataElementSpec:
        """The data element with this code; KeyError if none."""
        for element in self.elements:
            if element.code == code:
                return element
        raise KeyError(code)

    def standard_of(self, code: str) -> Standard:
        """The standard the indicator with this code belongs to; KeyError if none."""
        for group in self.standards:
            if any(ind.code == code for ind in group.indicators):
                return group.standard
        raise KeyError(code)


def iter_measures(indicator: Indicator) -> Iterator[Any]:
    """Every measure an indicator's formula uses."""
    if isinstance(indicator, RatioIndicator):
        yield indicator.numerator
        yield indicator.denominator
    elif isinstance(indicator, CoverageIndicator):
        yield from (condition.measure for condition in indicator.qualifies)


def element_codes(indicator: Indicator) -> set[str]:
    """Data elements an indicator reads (population is implied by population_per_facility)."""
    codes = {m.element for m in iter_measures(indicator) if isinstance(m, ElementMeasure)}
    if isinstance(indicator, ComplianceIndicator):
        codes |= {rule.element for rule in indicator.rules if rule.element}
    if isinstance(indicator, PopulationPerFacilityIndicator):
        codes.add("population")
    return codes


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
