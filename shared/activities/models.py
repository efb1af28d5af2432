"""Activity table."""

from datetime import date
from enum import StrEnum

from sqlalchemy import Index, String
from sqlmodel import Field

from shared.db import TimestampedTable, enum_type, fk_field, id_field


class ActivityType(StrEnum):
    """Kinds of activity the standards count."""

    film_screening = "film_screening"
    performance = "performance"
    exhibition = "exhibition"
    training = "training"
    lecture = "lecture"
    reading_promotion = "reading_promotion"
    mobile_service = "mobile_service"
    volunteer_service = "volunteer_service"


class Provider(StrEnum):
    """Who provided an activity."""

    government = "government"
    social_force = "social_force"
    volunteer = "volunteer"


class Activity(TimestampedTable, table=True):
    """Something that happened at an org unit (and maybe a facility) on a date."""

    __tablename__ = "activity"
    __table_args__ = (Index("ix_activity_type_occurred_on", "type", "occurred_on"),)

    id: int | None = id_field()
    type: ActivityType = Field(sa_type=enum_type(ActivityType))
    org_unit_id: int = fk_field("org_unit.id", ondelete="RESTRICT")
    facility_id: int | None = fk_field("facility.id", nullable=True, ondelete="SET NULL")
    occurred_on: date
    attendance: int | None = None
    provider: Provider = Field(default=Provider.government, sa_type=enum_type(Provider))
    domestic_new_film: bool | None = None
    title: str = Field(default="", sa_type=String(300))
    source: str = Field(default="manual", sa_type=String(40))
