"""The engine against the seeds' own figures and the roll-up rules of DESIGN §4."""

from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth.scope import SYSTEM
from shared.indicators.models import IndicatorResult, MilestoneAssessment
from shared.orgunits.models import OrgUnitKind
from shared.statistics.periods import parse_period
from shared.statistics.service import set_unit_value
from tests.indicators.conftest import children, screening, station, value
from tests.support.factories import make_unit


async def _wenzhou(session: AsyncSession):
    """185 towns and streets of which 163 have a station; 16 stations below their area band; 54 with 3+ staff."""
    city = await make_unit(session, code="330300", name="温州市", kind=OrgUnitKind.city)
    district = await make_unit(session, code="330302", name="鹿城区", kind=OrgUnitKind.district, parent=city)
    county = await make_unit(session, code="330326", name="平阳县", kind=OrgUnitKind.county, parent=city)
    towns = await children(session, parent=county, kind=OrgUnitKind.town, count=120, prefix="T")
    towns += await children(session, parent=district, kind=OrgUnitKind.street, count=65, prefix="S")
    bands = [(60000, 1500)] * 50 + [(40000, 1000)] * 60 + [(20000, 500)] * 53
    facilities = []
    for index, (town, (population, band)) in enumerate(zip(towns, bands, strict=False)):
        await value(session, town, "population", "2019", population)
        below = index % 10 == 0 and index < 160  # 16 stations under their band
        facilities.append(station(town, area=band - 1 if below else band, staff=3 if index < 54 else 2))
    session.add_all(facilities)
    for town in towns[163:]:
        await value(session, town, "population", "2019", 10000)
    await session.flush()
    return city


async def test_the_seed_figures_of_wenzhou(session: AsyncSession, compute) -> None:
    city = await _wenzhou(session)
    results = await compute(city, "2019", codes=["K02", "K03", "K13"])
    assert (results["K02"].numerator, results["K02"].denominator) == (163, 185)
    assert round(results["K02"].value, 3) == 0.881 and results["K02"].passed is False
    assert (results["K03"].numerator, results["K03"].denominator) == (147, 163)
    assert round(results["K03"].value * 100, 2) == 90.18
    assert (results["K13"].numerator, results["K13"].denominator) == (54, 185)
    assert results["K02"].threshold == 1.0 and results["K02"].threshold_op == ">="


async def test_a_city_ratio_is_sum_over_sum_not_the_mean_of_its_districts(session: AsyncSession, compute) -> None:
    city = await make_unit(session, code="440000", name="市", kind=OrgUnitKind.city)
    rich = await make_unit(session, code="440001", name="甲区", kind=OrgUnitKind.district, parent=city)
    poor = await make_unit(session, code="440002", name="乙区", kind=OrgUnitKind.district, parent=city)
    street = await make_unit(session, code="440002001000", name="街道", kind=OrgUnitKind.street, parent=poor)
    await value(session, rich, "population", "2019", 50000)
    await value(session, rich, "book_holdings", "2019", 100000)
    await value(session, street, "population", "2019", 200000)
    await value(session, poor, "book_holdings", "2019", 100000)
    results = await compute(city, "2019", codes=["G04"])
    assert (results["G04"].numerator, results["G04"].denominator) == (200000, 250000)
    assert results["G04"].value == pytest.approx(0.8)  # the mean of 2.0 and 0.5 would be 1.25
    assert results["G04"].passed is False and results["G04"].missing == []
    district = (
        await session.scalars(
            select(IndicatorResult).where(
                IndicatorResult.org_unit_id == rich.id, IndicatorResult.indicator_code == "G04"
            )
        )
    ).one()
    assert district.value == pytest.approx(2.0) and district.passed is True


async def test_missing_inputs_and_zero_population_are_no_data(session: AsyncSession, compute) -> None:
    city = await make_unit(session, code="450000", name="市", kind=OrgUnitKind.city)
    district = await make_unit(session, code="450001", name="区", kind=OrgUnitKind.district, parent=city)
    await value(session, district, "book_holdings", "2019", 1000)
    results = await compute(city, "2019", codes=["G04", "G05"])
    assert results["G04"].value is None and results["G04"].missing == ["population"]
    assert results["G04"].passed is None
    assert results["G05"].missing == ["loans"]
    await value(session, district, "population", "2019", 0)
    results = await compute(city, "2019", codes=["G04"])
    assert results["G04"].value is None and results["G04"].missing == ["population"]


async def test_a_village_without_a_screening_fails_that_month_only(session: AsyncSession, compute) -> None:
    city = await make_unit(session, code="460000", name="市", kind=OrgUnitKind.city)
    district = await make_unit(session, code="460001", name="区", kind=OrgUnitKind.district, parent=city)
    town = await make_unit(session, code="460001001000", name="镇", kind=OrgUnitKind.town, parent=district)
    village, other = await children(session, parent=town, kind=OrgUnitKind.village, count=2, prefix="V")
    session.add_all([screening(village, date(2019, month, 5)) for month in range(1, 13) if month != 3])
    session.add_all([screening(other, date(2019, month, 9)) for month in range(1, 13)])
    await session.flush()
    march = await compute(village, "2019-03", codes=["G24"])
    assert march["G24"].value == 0 and march["G24"].passed is False
    april = await compute(village, "2019-04", codes=["G24"])
    assert april["G24"].value == 1 and april["G24"].passed is True
    year = await compute(village, "2019", codes=["G24"])
    assert (year["G24"].numerator, year["G24"].denominator) == (11, 12)
    await compute(city, "2019", codes=["G24"])
    town_year = (
        await session.scalars(
            select(IndicatorResult).where(
                IndicatorResult.org_unit_id == town.id,
                IndicatorResult.indicator_code == "G24",
                IndicatorResult.period == "2019",
            )
        )
    ).one()
    assert (town_year.numerator, town_year.denominator) == (23, 24)


async def test_one_changed_value_updates_only_its_ancestors_and_matches_a_full_run(
    session: AsyncSession,
    compute,
) -> None:
    city = await make_unit(session, code="470000", name="市", kind=OrgUnitKind.city)
    district = await make_unit(session, code="470001", name="区", kind=OrgUnitKind.district, parent=city)
    streets = await children(session, parent=district, kind=OrgUnitKind.street, count=3, prefix="J")
    for street in streets:
        await value(session, street, "population", "2019", 10000)
        await value(session, street, "book_holdings", "2019", 12000)
    await compute(city, "2019", codes=["G04", "G05"])
    row = await set_unit_value(
        session,
        actor=SYSTEM,
        element_code="book_holdings",
        org_unit=streets[0],
        period=parse_period("2019"),
        value=18000,
    )
    assert row.value == 18000  # writing the figure moved the stored results that read it
    incremental = {
        r.org_unit_id: r.value
        for r in (
            await session.scalars(
                select(IndicatorResult)
                .where(IndicatorResult.indicator_code == "G04", IndicatorResult.period == "2019")
                .execution_options(populate_existing=True)
            )
        ).all()
    }
    assert incremental[city.id] == pytest.approx(42000 / 30000)
    assert incremental[streets[1].id] == pytest.approx(1.2)
    full = await compute(city, "2019", codes=["G04"])
    assert full["G04"].value == pytest.approx(incremental[city.id])


async def test_a_milestone_passes_once_assessed_as_met(session: AsyncSession, compute) -> None:
    city = await make_unit(session, code="480000", name="市", kind=OrgUnitKind.city)
    before = await compute(city, "2019", codes=["K11"])
    assert before["K11"].value is None and before["K11"].missing == ["assessment"]
    session.add(
        MilestoneAssessment(
            indicator_code="K11", org_unit_id=city.id, period="2019", met=True, note="协调组已成立", evidence_ids=[1]
        )
    )
    await session.flush()
    after = await compute(city, "2019", codes=["K11"])
    assert after["K11"].value == 1 and after["K11"].passed is True


async def test_the_whole_catalogue_computes_on_an_empty_subtree(session: AsyncSession, compute) -> None:
    city = await make_unit(session, code="490000", name="市", kind=OrgUnitKind.city)
    results = await compute(city, "2019")
    assert len(results) == 72
    assert (
        await session.scalar(
            select(func.count()).select_from(IndicatorResult).where(IndicatorResult.org_unit_id == city.id)
        )
        == 72
    )
