"""Volunteers, teams and service records."""

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Numeric, String, UniqueConstraint
from sqlmodel import Field

from shared.db import TimestampedTable, UTCDateTime, fk_field, id_field


class VolunteerTeam(TimestampedTable, table=True):
    """A volunteer team of an org unit."""

    __tablename__ = "volunteer_team"
    __table_args__ = (UniqueConstraint("org_unit_id", "name"),)

    id: int | None = id_field()
    org_unit_id: int = fk_field("org_unit.id", ondelete="RESTRICT")
    name: str = Field(sa_type=String(200))


class Volunteer(TimestampedTable, table=True):
    """A registered volunteer: the minimum personal data, and when they consented to its use."""

    __tablename__ = "volunteer"

    id: int | None = id_field()
    user_id: int = fk_field("user_account.id", ondelete="CASCADE", unique=True)
    org_unit_id: int = fk_field("org_unit.id", ondelete="RESTRICT")
    team_id: int | None = fk_field("volunteer_team.id", nullable=True, ondelete="SET NULL")
    name: str = Field(sa_type=String(100))
    skills: str = Field(default="", sa_type=String(300))
    consent_at: datetime = Field(sa_type=UTCDateTime)
    registered_on: date


class ServiceRecord(TimestampedTable, table=True):
    """Hours a volunteer served; they count once the organiser confirmed them."""

    __tablename__ = "volunteer_service_record"

    id: int | None = id_field()
    volunteer_id: int = fk_field("volunteer.id", ondelete="CASCADE")
    org_unit_id: int = fk_field("org_unit.id", ondelete="RESTRICT")
    served_on: date
    hours: Decimal = Field(sa_type=Numeric(6, 2))
    description: str = Field(default="", sa_type=String(500))
    confirmed_by: int | None = fk_field("user_account.id", nullable=True, ondelete="SET NULL")
    confirmed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
