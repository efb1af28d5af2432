"""Bodies of volunteers, teams and service records."""

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.db import StoredId


class VolunteerRegistration(BaseModel):
    """A resident registers: a name to be called by, where they serve, and their consent (nothing more)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=100)
    org_unit_id: StoredId
    team_id: StoredId | None = None
    skills: str = Field(default="", max_length=300)
    consent: bool = Field(description="must be true: the resident agrees that these data are kept for volunteering")


class VolunteerPublic(BaseModel):
    """A volunteer and the hours confirmed so far."""

    id: int
    name: str
    org_unit_id: int
    team_id: int | None
    skills: str
    consent_at: datetime
    registered_on: date
    confirmed_hours: float
    records: int


class TeamCreate(BaseModel):
    """A volunteer team of an org unit."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    org_unit_id: StoredId
    name: str = Field(min_length=1, max_length=200)


class TeamPublic(BaseModel):
    """A team."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    org_unit_id: int
    name: str


class RecordCreate(BaseModel):
    """Hours served on a day at an org unit."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    served_on: date
    hours: float = Field(gt=0, le=24)
    org_unit_id: StoredId | None = Field(default=None, description="where it was served; default the volunteer's unit")
    description: str = Field(default="", max_length=500)


class RecordPublic(BaseModel):
    """A service record."""

    model_config = ConfigDict(from_attributes=True)

    @field_validator("hours", mode="before")
    @classmethod
    def _as_float(cls, value: object) -> object:
        return float(value) if isinstance(value, Decimal) else value

    id: int
    volunteer_id: int
    org_unit_id: int
    served_on: date
    hours: float
    description: str
    confirmed_at: datetime | None
