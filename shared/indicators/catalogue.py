"""Standards catalogue: indicator definitions shipped as YAML and validated when loaded."""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
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
    """Data elements an indicator reads (population is implied by population_per_facility and by compliance rules
    on a facility's service population)."""
    codes = {m.element for m in iter_measures(indicator) if isinstance(m, ElementMeasure)}
    if isinstance(indicator, ComplianceIndicator):
        codes |= {rule.element for rule in indicator.rules if rule.element}
        if any(rule.when and rule.when.service_population for rule in indicator.rules):
            codes.add("population")
    if isinstance(indicator, PopulationPerFacilityIndicator):
        codes.add("population")
    return codes


from shared.indicators.catalogue_files import load_catalogue  # noqa: E402  (the loader needs the models above)

__all__ = ["load_catalogue"]
