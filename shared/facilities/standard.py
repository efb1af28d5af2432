"""The 郑州市基层综合性文化服务中心建设标准 (seed 004 附件1) as data, and the check a centre meets when it opens."""

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from shared.facilities.models import Facility
from shared.orgunits.models import OrgUnitKind

STANDARD_FILE = Path(__file__).parents[1] / "indicators" / "catalogue" / "grassroots_centre_standard.yaml"


class CentreLevel(StrEnum):
    """The three columns of the standard; also the levels the construction table counts."""

    street = "street"
    community = "community"
    village = "village"


class StandardError(ValueError):
    """The shipped standard file is malformed; the message names the file and every problem."""


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Area(_Spec):
    """A minimum area in square metres."""

    min_m2: float = Field(gt=0)
    in_principle: bool = False
    text: str = Field(min_length=1)


class Rooms(_Spec):
    """The rooms and equipment a centre sets up."""

    required: list[str] = Field(min_length=1)
    equipment: list[str] = []
    outdoor_activity_ground: bool = False
    text: str = Field(min_length=1)


class Funding(_Spec):
    """The yearly operating budget from public funds."""

    min_yuan_per_year: float = Field(gt=0)
    text: str = Field(min_length=1)


class ActivityMinimum(_Spec):
    """A kind of activity and how many a year."""

    what: str = Field(min_length=1)
    min_per_year: int = Field(ge=1)
    text: str = Field(min_length=1)


class Staff(_Spec):
    """Posts and training; each minimum is checked against the facility's staff columns."""

    established_min: int | None = Field(default=None, ge=1)
    purchased_min: int | None = Field(default=None, ge=1)
    full_time_min: int | None = Field(default=None, ge=1)
    committee_part_time: int | None = Field(default=None, ge=1)
    dedicated: bool = False
    training_days_per_year: int = Field(ge=0)
    text: list[str] = Field(min_length=1)


class Safety(_Spec):
    """The safety requirement."""

    text: str = Field(min_length=1)


class LevelStandard(_Spec):
    """What the standard asks of a centre at one level."""

    name: str = Field(min_length=1)
    unit_kinds: list[OrgUnitKind] = Field(min_length=1)
    floor_area: Area
    outdoor_area: Area
    rooms: Rooms
    funding: Funding
    activities: list[ActivityMinimum] = Field(min_length=1)
    staff: Staff
    safety: Safety


class StandardName(_Spec):
    """The standard's code and title (the indicator catalogue reads these too)."""

    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1)


class CentreStandard(_Spec):
    """The whole file: every level once, each org-unit kind under one level only."""

    standard: StandardName
    indicators: list[object] = Field(default=[], max_length=0)
    levels: dict[CentreLevel, LevelStandard]

    @model_validator(mode="after")
    def _every_level_once(self) -> "CentreStandard":
        if set(self.levels) != set(CentreLevel):
            raise ValueError(f"levels must be exactly {', '.join(CentreLevel)}")
        kinds = [kind for level in self.levels.values() for kind in level.unit_kinds]
        if len(kinds) != len(set(kinds)):
            raise ValueError("an org-unit kind is listed under two levels")
        return self

    def level_for(self, kind: OrgUnitKind) -> tuple[CentreLevel, LevelStandard] | None:
        """The level whose column applies to a centre of a unit of this kind."""
        return next(((name, level) for name, level in self.levels.items() if kind in level.unit_kinds), None)


def load_standard(path: Path = STANDARD_FILE) -> CentreStandard:
    """Read and validate the standard file; StandardError names the file and each bad key."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return CentreStandard.model_validate(data)
    except (OSError, yaml.YAMLError) as exc:
        raise StandardError(f"{path}: cannot read: {exc}") from exc
    except ValidationError as exc:
        problems = [f"{'.'.join(map(str, e['loc'])) or '(file)'}: {e['msg']}" for e in exc.errors(include_url=False)]
        raise StandardError(f"{path}: " + "; ".join(problems)) from exc


@lru_cache(maxsize=1)
def centre_standard() -> CentreStandard:
    """The shipped standard, read once."""
    return load_standard()


@dataclass(frozen=True, slots=True)
class MeasuredRule:
    """A facility column (or the sum of several) that must reach a minimum."""

    fields: tuple[str, ...]
    required: float
    text: str

    @property
    def field(self) -> str:
        """The name clients see: the column, or the columns joined by +."""
        return " + ".join(self.fields)


def measured_rules(level: LevelStandard) -> list[MeasuredRule]:
    """The requirements of a level that the registry's own columns can show."""
    staff_text = level.staff.text[0]
    rules = [
        MeasuredRule(("floor_area_m2",), level.floor_area.min_m2, level.floor_area.text),
        MeasuredRule(("outdoor_area_m2",), level.outdoor_area.min_m2, level.outdoor_area.text),
    ]
    if level.staff.established_min:
        rules.append(MeasuredRule(("staff_established",), level.staff.established_min, staff_text))
    if level.staff.purchased_min:
        rules.append(MeasuredRule(("staff_purchased",), level.staff.purchased_min, staff_text))
    if level.staff.full_time_min:
        rules.append(MeasuredRule(("staff_established", "staff_purchased"), level.staff.full_time_min, staff_text))
    return rules


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One rule against one facility: the value found (None when not entered) and whether it meets the rule."""

    rule: MeasuredRule
    actual: float | None

    @property
    def met(self) -> bool:
        """Whether the entered value reaches the minimum."""
        return self.actual is not None and self.actual >= self.rule.required


def check_centre(facility: Facility, *, kind: OrgUnitKind) -> list[CheckResult]:
    """The facility's measured values against the standard of its unit's level (empty when no level applies)."""
    found = centre_standard().level_for(kind)
    if found is None:
        return []
    results = []
    for rule in measured_rules(found[1]):
        values = [getattr(facility, name) for name in rule.fields]
        known = [float(value) for value in values if isinstance(value, int | float | Decimal)]
        results.append(CheckResult(rule, sum(known) if known else None))
    return results


def missing_errors(results: list[CheckResult]) -> list[dict[str, object]]:
    """A field error for every column a rule needs but the facility lacks."""
    errors: list[dict[str, object]] = []
    for result in results:
        if result.actual is not None:
            continue
        for name in result.rule.fields:
            errors.append(
                {
                    "field": name,
                    "required": result.rule.required,
                    "message": f"enter the measured value: the standard requires {result.rule.field} ≥ "
                    f"{result.rule.required:g} ({result.rule.text})",
                }
            )
    return errors
