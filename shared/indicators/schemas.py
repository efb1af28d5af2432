"""Bodies for indicator results, computations, assessments and plan targets."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from shared.db import StoredId


class ComputationRequest(BaseModel):
    """Compute the catalogue for a subtree and a period."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"org_unit_id": 2, "period": "2019"}]})

    org_unit_id: StoredId
    period: str = Field(examples=["2019", "2019Q1", "2019-03"])
    codes: list[str] | None = Field(default=None, max_length=200, description="only these indicators")


class ComputationPublic(BaseModel):
    """What a computation stored."""

    org_unit_id: int
    period: str
    indicators: int
    results: int
    seconds: float


class TrendPoint(BaseModel):
    """The value of an indicator in another period."""

    period: str
    value: float | None
    passed: bool | None


class IndicatorResultPublic(BaseModel):
    """One indicator for one unit and period, against the standard and the plan's target."""

    code: str
    name: str
    category: str
    kind: str
    unit: str
    standard: str
    value: float | None
    numerator: float | None
    denominator: float | None
    threshold_op: str | None
    threshold: float | None
    target_op: str | None
    target: float | None
    passed: bool | None
    target_passed: bool | None
    missing: list[str]
    computed_at: datetime | None
    trend: list[TrendPoint] = []


class IndicatorList(BaseModel):
    """Every indicator of the catalogue for a unit and period (not yet computed ones included, as no data)."""

    org_unit_id: int
    period: str
    items: list[IndicatorResultPublic]


class DrillDownRow(BaseModel):
    """A child unit or a facility and why it passes or fails."""

    kind: str
    id: int
    code: str
    name: str
    value: float | None
    numerator: float | None = None
    denominator: float | None = None
    passed: bool | None
    why: str


class AssessmentCreate(BaseModel):
    """An assessor's verdict on a milestone indicator."""

    period: str = Field(pattern=r"^[1-9]\d{3}$", examples=["2019"])
    met: bool
    note: str = Field(default="", max_length=5000)
    evidence_ids: list[StoredId] = Field(default_factory=list, max_length=100)


class AssessmentPublic(BaseModel):
    """A stored verdict."""

    model_config = ConfigDict(from_attributes=True)

    indicator_code: str
    org_unit_id: int
    period: str
    met: bool
    note: str
    evidence_ids: list[int]
    assessor_id: int | None


class TargetIn(BaseModel):
    """A plan's own target for an indicator."""

    indicator_code: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$")
    op: str = Field(pattern=r"^(>=|>|<=|<|==)$")
    value: float


class TargetPublic(TargetIn):
    """A stored plan target."""

    model_config = ConfigDict(from_attributes=True)

    plan_id: int
