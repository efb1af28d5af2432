"""Request and response bodies for data elements and data values."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.db import StoredId

MAX_BATCH = 5000


class DataElementPublic(BaseModel):
    """A statistic that units report, with the periods it is reported for."""

    id: int
    code: str
    name: str
    unit: str
    value_type: str
    aggregation: str
    period_types: list[str]


class DataValueIn(BaseModel):
    """One figure to enter: element, org unit (by id or code), optional facility, period and value."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"element": "population", "org_unit_code": "410105001001", "period": "2019", "value": 12000},
                {"element": "loans", "org_unit_id": 5, "facility_code": "LIB-001", "period": "2019-03", "value": 830},
            ]
        },
    )

    element: str = Field(max_length=200)
    org_unit_id: StoredId | None = None
    org_unit_code: str | None = Field(default=None, max_length=200)
    facility_id: StoredId | None = None
    facility_code: str | None = Field(default=None, max_length=200)
    period: str = Field(max_length=200, description="2019, 2019Q1 or 2019-03, of a kind the element is reported for")
    value: Any = Field(
        description="a finite number, at least 0 (whole for integer elements)", json_schema_extra={"type": "number"}
    )


class DataValueBatch(BaseModel):
    """Figures written together: all of them or none."""

    values: list[DataValueIn] = Field(min_length=1, max_length=MAX_BATCH)


class WriteSummary(BaseModel):
    """How many figures a write created, changed and left as they were."""

    created: int
    updated: int
    unchanged: int


class DataValuePublic(BaseModel):
    """A stored figure."""

    id: int
    element: str
    org_unit_id: int
    facility_id: int | None
    period: str
    period_type: str
    value: float
    source: str
    entered_by_id: int | None
    entered_at: datetime
    version: int


class UnitFigure(BaseModel):
    """The figure entered at a unit itself and the sum over its subtree, its facilities included."""

    org_unit_id: int
    element: str
    period: str
    entered: float | None
    subtree_total: float | None


class FigureChange(BaseModel):
    """One change of a figure: who, when, the value before and after."""

    at: datetime
    user_id: int | None
    username: str | None
    action: str
    before: float | None
    after: float | None
    source: str | None


class FigureHistory(BaseModel):
    """The changes of one figure, newest first (empty when it was never entered)."""

    element: str
    org_unit_id: int | None
    facility_id: int | None
    period: str
    items: list[FigureChange]
