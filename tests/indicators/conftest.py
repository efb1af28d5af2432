"""Builders of the populations, facilities and activities the indicator tests compute over."""

from collections.abc import Callable
from datetime import date

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from shared.activities.models import Activity, ActivityType
from shared.auth.scope import SYSTEM
from shared.facilities.models import Facility, FacilityStatus, FacilityType
from shared.indicators.engine.run import compute_indicators
from shared.indicators.models import IndicatorResult
from shared.orgunits.models import KIND_LEVELS, OrgUnit, OrgUnitKind
from shared.statistics.periods import parse_period
from shared.statistics.service import set_unit_value


async def children(
    session: AsyncSession, *, parent: OrgUnit, kind: OrgUnitKind, count: int, prefix: str
) -> list[OrgUnit]:
    """`count` child units, added with two flushes."""
    units = [
        OrgUnit(
            code=f"{prefix}{index:04d}",
            name=f"{prefix}{index}",
            level=KIND_LEVELS[kind],
            kind=kind,
            parent_id=parent.id,
            path="",
        )
        for index in range(count)
    ]
    session.add_all(units)
    await session.flush()
    for unit in units:
        unit.path = f"{parent.path}{unit.id}/"
    await session.flush()
    return units


async def value(session: AsyncSession, unit: OrgUnit, element: str, period: str, amount: float) -> None:
    """Enter a figure at a unit."""
    await set_unit_value(
        session, actor=SYSTEM, element_code=element, org_unit=unit, period=parse_period(period), value=amount
    )


def station(unit: OrgUnit, *, area: float, outdoor: float = 700, staff: int = 3, code: str | None = None) -> Facility:
    """An open comprehensive cultural station."""
    return Facility(
        code=code or f"ST-{unit.code}",
        name=f"{unit.name}综合文化站",
        type=FacilityType.station,
        org_unit_id=unit.id,
        floor_area_m2=area,
        outdoor_area_m2=outdoor,
        staff_established=staff,
        status=FacilityStatus.open,
    )


def screening(unit: OrgUnit, day: date) -> Activity:
    """A film screening."""
    return Activity(type=ActivityType.film_screening, org_unit_id=unit.id, occurred_on=day, attendance=40)


Results = Callable[..., dict[str, IndicatorResult]]


@pytest.fixture
def compute(session: AsyncSession):
    """Compute and read back results of a unit: {code: result}."""
    from sqlalchemy import select

    async def run(root: OrgUnit, period: str, unit: OrgUnit | None = None, codes: list[str] | None = None):
        await compute_indicators(session, actor=SYSTEM, org_unit_id=root.id, period=period, codes=codes)
        rows = (
            await session.scalars(
                select(IndicatorResult)
                .where(IndicatorResult.org_unit_id == (unit or root).id, IndicatorResult.period == period)
                .execution_options(populate_existing=True)
            )
        ).all()
        return {row.indicator_code: row for row in rows}

    return run
