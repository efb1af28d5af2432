"""Data element and data value tables."""

from datetime import date, datetime

from sqlalchemy import Index, Numeric, String, text
from sqlmodel import Field

from shared.db import TimestampedTable, UTCDateTime, fk_field, id_field, utcnow


class DataElement(TimestampedTable, table=True):
    """A statistic that units report, such as population or book holdings."""

    __tablename__ = "data_element"

    id: int | None = id_field()
    code: str = Field(sa_type=String(60), unique=True, index=True)
    name: str = Field(sa_type=String(200))
    unit: str = Field(default="", sa_type=String(40))
    value_type: str = Field(default="number", sa_type=String(20))
    aggregation: str = Field(default="sum", sa_type=String(20))
    period_types: str = Field(default="year", sa_type=String(40))


class DataValue(TimestampedTable, table=True):
    """A number for (element, org unit or facility, period), with where it came from."""

    __tablename__ = "data_value"
    __table_args__ = (
        # Ends with the unit, so that a figure's lookup by its natural key (a pull probing for figures keyed in here)
        # finds it in any plan: with (element_id, period) alone, a plan made while the table was small kept scanning
        # every unit's figure of the element and period once it had grown (2,000 rows a probe at 1,000,000 figures).
        Index("ix_data_value_element_period_unit", "element_id", "period", "org_unit_id"),
        # Most figures are a unit's: they need no entry in the index that cascades a facility's deletion.
        Index(
            "ix_data_value_facility_id",
            "facility_id",
            postgresql_where=text("facility_id IS NOT NULL"),
            sqlite_where=text("facility_id IS NOT NULL"),
        ),
        Index(
            "uq_data_value_unit_figure",
            "element_id",
            "org_unit_id",
            "period",
            unique=True,
            postgresql_where=text("facility_id IS NULL"),
            sqlite_where=text("facility_id IS NULL"),
        ),
        Index(
            "uq_data_value_facility_figure",
            "element_id",
            "facility_id",
            "period",
            unique=True,
            postgresql_where=text("facility_id IS NOT NULL"),
            sqlite_where=text("facility_id IS NOT NULL"),
        ),
    )

    id: int | None = id_field()
    element_id: int = fk_field("data_element.id", ondelete="RESTRICT", index=False)  # ix_data_value_element_period_unit
    org_unit_id: int = fk_field("org_unit.id", ondelete="CASCADE")
    facility_id: int | None = fk_field("facility.id", nullable=True, ondelete="CASCADE", index=False)
    period: str = Field(sa_type=String(10))
    period_type: str = Field(sa_type=String(10))
    period_start: date
    period_end: date
    value: float = Field(sa_type=Numeric(18, 4))
    source: str = Field(default="manual", sa_type=String(40))
    entered_by_id: int | None = Field(default=None)
    entered_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
