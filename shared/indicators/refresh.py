"""Keep stored indicator results current whenever figures change, whoever changed them (an API batch, a file, a
population, the volunteer register): a few changes move the stored sums by their delta, many recompute the
indicators that read them over each tree they touch."""

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.indicators.catalogue import Indicator, element_codes
from shared.indicators.engine.run import catalogue, recompute_after_change, recompute_readers
from shared.indicators.models import IndicatorResult
from shared.lookups import lookup_in_chunks
from shared.orgunits.models import OrgUnit
from shared.statistics.periods import parse_period

INCREMENTAL_LIMIT = 50  # up to this many changes are applied one by one; more recompute per tree and period


@dataclass(frozen=True, slots=True)
class MovedFigure:
    """One stored figure that moved: its element, the org unit it counts for, its period and the change in value."""

    element_code: str
    org_unit_id: int
    period: str
    delta: float


def _reads_in(indicator: Indicator, element_code: str, *, figure_period: str, result_period: str) -> bool:
    """Whether a result of `result_period` reads the element's figure of `figure_period` (a quarter's results read
    the year's figure of an element kept only by year)."""
    if element_code not in element_codes(indicator):
        return False
    if figure_period == result_period:
        return True
    kinds = catalogue().element(element_code).period_types
    native = parse_period(result_period).kind in kinds
    return len(figure_period) == 4 and result_period.startswith(figure_period) and not native


async def refresh_results(session: AsyncSession, *, changes: list[MovedFigure]) -> int:
    """Bring every stored result that reads a changed figure up to date, in this transaction; how many trees and
    periods were recomputed plus how many changes were applied by delta."""
    if not changes:
        return 0
    incremental = len(changes) <= INCREMENTAL_LIMIT
    paths = await _paths(session, unit_ids={change.org_unit_id for change in changes})
    stored = await _stored_periods(session, roots={_root(path) for path in paths.values()}, changes=changes)
    applied = 0
    if incremental:
        for change in changes:
            if change.period in stored.get(_root(paths[change.org_unit_id]), ()):
                unit = await session.get(OrgUnit, change.org_unit_id)
                assert unit is not None
                await recompute_after_change(
                    session, element_code=change.element_code, org_unit=unit, period=change.period, delta=change.delta
                )
                applied += 1
    wanted: dict[tuple[int, str], set[str]] = defaultdict(set)
    # Once per tree, element and period, not per change: an import moves many figures of few kinds.
    for root, element_code, figure_period in {(_root(paths[c.org_unit_id]), c.element_code, c.period) for c in changes}:
        for period in stored.get(root, ()):
            if period == figure_period and incremental:
                continue  # moved by delta above
            wanted[(root, period)] |= {
                indicator.code
                for indicator in catalogue().indicators
                if _reads_in(indicator, element_code, figure_period=figure_period, result_period=period)
            }
    recomputed = [(key, codes) for key, codes in wanted.items() if codes]
    for (root, period), codes in recomputed:
        await recompute_readers(session, root_id=root, period=period, codes=codes)
    return applied + len(recomputed)


def _root(path: str) -> int:
    return int(path.strip("/").split("/")[0])


async def _paths(session: AsyncSession, *, unit_ids: set[int]) -> dict[int, str]:
    """The materialised path of each org unit, looked up in chunks."""
    rows = await lookup_in_chunks(session, select(OrgUnit.id, OrgUnit.path), OrgUnit.id, unit_ids)
    return {unit_id: path for unit_id, path in rows}


async def _stored_periods(
    session: AsyncSession, *, roots: set[int], changes: list[MovedFigure]
) -> dict[int, set[str]]:
    """For each tree root, the periods with stored results that the changed figures' periods may reach."""
    prefixes = {change.period[:4] for change in changes}
    root_paths = dict((await session.execute(select(OrgUnit.id, OrgUnit.path).where(OrgUnit.id.in_(roots)))).all())
    found: dict[int, set[str]] = defaultdict(set)
    for root, path in root_paths.items():
        query = (
            select(IndicatorResult.period)
            .join(OrgUnit, OrgUnit.id == IndicatorResult.org_unit_id)
            .where(OrgUnit.path.startswith(path), IndicatorResult.period.in_(_periods_of(prefixes)))
            .distinct()
        )
        found[root] = set((await session.scalars(query)).all())
    return found


def _periods_of(years: set[str]) -> list[str]:
    """Every period code of the years: the year, its quarters and its months."""
    codes = []
    for year in sorted(years):
        codes += [year, *(f"{year}Q{quarter}" for quarter in range(1, 5)), *(f"{year}-{m:02d}" for m in range(1, 13))]
    return codes
