"""Org-unit and department tables."""

from datetime import date
from enum import StrEnum

from sqlalchemy import String, UniqueConstraint
from sqlmodel import Field

from shared.db import TimestampedTable, enum_type, fk_field, id_field


class OrgUnitKind(StrEnum):
    """What an org unit is; standards differ between street and town, community and village."""

    province = "province"
    city = "city"
    district = "district"
    county = "county"
    street = "street"
    town = "town"
    community = "community"
    village = "village"
    compound = "compound"
    service_point = "service_point"


KIND_LEVELS: dict[OrgUnitKind, int] = {
    OrgUnitKind.province: 0,
    OrgUnitKind.city: 1,
    OrgUnitKind.district: 2,
    OrgUnitKind.county: 2,
    OrgUnitKind.street: 3,
    OrgUnitKind.town: 3,
    OrgUnitKind.community: 4,
    OrgUnitKind.village: 4,
    OrgUnitKind.compound: 5,
    OrgUnitKind.service_point: 5,
}


class OrgUnit(TimestampedTable, table=True):
    """A unit of the administrative tree, from province down to compound or service point."""

    __tablename__ = "org_unit"

    id: int | None = id_field()
    code: str = Field(sa_type=String(20), unique=True, index=True)
    name: str = Field(sa_type=String(200))
    level: int
    kind: OrgUnitKind = Field(sa_type=enum_type(OrgUnitKind))
    parent_id: int | None = fk_field("org_unit.id", nullable=True, ondelete="RESTRICT")
    # Byte-order collation on PostgreSQL so that a subtree is one index range [path, path + "~").
    path: str = Field(sa_type=String(400).with_variant(String(400, collation="C"), "postgresql"), index=True)
    opened_on: date | None = None
    closed_on: date | None = None


class Department(TimestampedTable, table=True):
    """A responsible unit (责任单位) belonging to an org unit."""

    __tablename__ = "department"
    __table_args__ = (UniqueConstraint("org_unit_id", "name"),)

    id: int | None = id_field()
    org_unit_id: int = fk_field("org_unit.id", ondelete="CASCADE")
    name: str = Field(sa_type=String(200))
