"""Resident population (常住人口) per org unit and year, kept as the data value `population`."""

from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth.models import Role
from shared.auth.scope import Principal
from shared.orgunits.schemas import PopulationPublic
from shared.orgunits.service import get_org_unit
from shared.statistics.periods import parse_period
from shared.statistics.service import set_unit_value, unit_and_subtree_value

POPULATION = "population"
DATA_WRITERS = (Role.admin, Role.plan_manager, Role.unit_clerk)


async def get_population(session: AsyncSession, *, actor: Principal, unit_id: int, year: int) -> PopulationPublic:
    """The population entered at a unit and summed over its subtree."""
    unit = await get_org_unit(session, actor=actor, unit_id=unit_id)
    entered, total = await unit_and_subtree_value(session, element_code=POPULATION, org_unit=unit, period=str(year))
    assert unit.id is not None
    return PopulationPublic(org_unit_id=unit.id, year=year, entered=entered, subtree_total=total)


async def set_population(
    session: AsyncSession,
    *,
    actor: Principal,
    unit_id: int,
    year: int,
    value: float,
) -> PopulationPublic:
    """Enter the population of the unit itself (not its children) for a year."""
    actor.require_role(DATA_WRITERS)
    unit = await get_org_unit(session, actor=actor, unit_id=unit_id)
    await set_unit_value(
        session, actor=actor, element_code=POPULATION, org_unit=unit, period=parse_period(str(year)), value=value
    )
    return await get_population(session, actor=actor, unit_id=unit_id, year=year)
