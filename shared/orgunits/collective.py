"""Collective assignees ("各社区", "各县（市、区）政府", "各成员单位") resolved to concrete units."""

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.orgunits.models import Department, OrgUnit, OrgUnitKind

COLLECTIVE_KINDS: dict[str, tuple[OrgUnitKind, ...]] = {
    "community": (OrgUnitKind.community,),
    "village": (OrgUnitKind.village,),
    "street": (OrgUnitKind.street,),
    "town": (OrgUnitKind.town, OrgUnitKind.street),
    "district_or_county": (OrgUnitKind.district, OrgUnitKind.county),
}
DEPARTMENT_COLLECTIVES = ("member_departments", "departments")


@dataclass(frozen=True, slots=True)
class ResolvedUnit:
    """A concrete unit a collective assignee stands for."""

    kind: str
    id: int
    name: str


async def resolve_collective(
    session: AsyncSession,
    *,
    org_unit: OrgUnit,
    collective_kind: str,
) -> list[ResolvedUnit]:
    """Every child unit of the named kind (or every department) of the plan's org unit."""
    if collective_kind in DEPARTMENT_COLLECTIVES:
        query = select(Department).where(Department.org_unit_id == org_unit.id).order_by(Department.id)
        return [ResolvedUnit("department", row.id, row.name) for row in (await session.scalars(query)).all()]
    kinds = COLLECTIVE_KINDS.get(collective_kind)
    if kinds is None:
        return []
    query = (
        select(OrgUnit)
        .where(OrgUnit.path.startswith(org_unit.path), OrgUnit.id != org_unit.id, OrgUnit.kind.in_(kinds))
        .order_by(OrgUnit.path)
    )
    return [ResolvedUnit("org_unit", row.id, row.name) for row in (await session.scalars(query)).all()]
