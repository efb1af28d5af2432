"""Facility table."""

from datetime import date
from enum import StrEnum

from sqlalchemy import Numeric, String
from sqlmodel import Field

from shared.db import TimestampedTable, enum_type, fk_field, id_field


class FacilityType(StrEnum):
    """The venue types of the creation standard."""

    public_library = "public_library"
    cultural_centre = "cultural_centre"
    museum = "museum"
    art_gallery = "art_gallery"
    theatre = "theatre"
    station = "station"
    grassroots_centre = "grassroots_centre"
    farm_bookstore = "farm_bookstore"
    self_service_library = "self_service_library"
    city_study_room = "city_study_room"
    culture_hall = "culture_hall"
    sports_square = "sports_square"


class FacilityStatus(StrEnum):
    """Construction and service state."""

    planned = "planned"
    building = "building"
    open = "open"
    closed = "closed"


class Facility(TimestampedTable, table=True):
    """A venue of an org unit, with the attributes the standards check."""

    __tablename__ = "facility"

    id: int | None = id_field()
    code: str = Field(sa_type=String(40), unique=True, index=True)
    name: str = Field(sa_type=String(200))
    type: FacilityType = Field(sa_type=enum_type(FacilityType), index=True)
    org_unit_id: int = fk_field("org_unit.id", ondelete="RESTRICT")
    grade: str | None = Field(default=None, sa_type=String(40))
    floor_area_m2: float | None = Field(default=None, sa_type=Numeric(12, 2))
    outdoor_area_m2: float | None = Field(default=None, sa_type=Numeric(12, 2))
    weekly_open_hours: float | None = Field(default=None, sa_type=Numeric(6, 2))
    staff_established: int | None = None
    staff_purchased: int | None = None
    staff_professional: int | None = None
    wifi: bool | None = None
    digital_terminals: bool | None = None
    accessible: bool | None = None
    status: FacilityStatus = Field(default=FacilityStatus.open, sa_type=enum_type(FacilityStatus), index=True)
    opened_on: date | None = None
    closed_on: date | None = None
    due_on: date | None = None
    pilot: bool = Field(default=False)
