"""Run the engine for a subtree and a period, or for what one change affects."""

import json
import time
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth.scope import Principal
from shared.errors import InvalidInput
from shared.indicators.catalogue import Catalogue, Indicator, element_codes, load_catalogue
from shared.indicators.engine.delta import apply_delta
from shared.indicators.engine.formulas import FORMULAS, Inputs
from shared.indicators.engine.results import clear, result_rows, store
from shared.indicators.engine.scope import SUMMARY_LEVEL, Scope, build_scope, drop_scope, total_elements
from shared.indicators.models import IndicatorResult
from shared.orgunits.models import OrgUnit
from shared.orgunits.service import get_org_unit
from shared.statistics.models import DataElement
from shared.statistics.periods import Period, parse_period


@lru_cache
def catalogue() -> Catalogue:
    """The standards catalogue, loaded and validated once per process."""
    return load_catalogue()


@dataclass(frozen=True, slots=True)
class ComputationSummary:
    """What a computation did."""

    org_unit_id: int
    period: str
    indicators: int
    results: int
    seconds: float


async def element_inputs(session: AsyncSession, *, indicators: list[Indicator], period: Period) -> Inputs:
    """The ids of the elements the indicators read, and the period each is read for."""
    codes = {"population"} | {code for indicator in indicators for code in element_codes(indicator)}
    rows = (await session.execute(select(DataElement.code, DataElement.id).where(DataElement.code.in_(codes)))).all()
    periods = {}
    for code in codes:
        kinds = catalogue().element(code).period_types
        periods[code] = period.code if period.kind in kinds else period.code[:4]
    return Inputs(element_ids={code: element_id for code, element_id in rows}, periods=periods)


def _selected(codes: list[str] | None) -> list[Indicator]:
    if not codes:
        return catalogue().indicators
    known = {indicator.code: indicator for indicator in catalogue().indicators}
    unknown = [code for code in codes if code not in known]
    if unknown:
        raise InvalidInput(f"unknown indicator code(s): {', '.join(unknown)}", field="codes")
    return [known[code] for code in codes]


async def live_results(
    session: AsyncSession,
    *,
    root: OrgUnit,
    period: str,
    indicators: list[Indicator] | None = None,
    with_children: bool = False,
) -> list[IndicatorResult]:
    """Results computed on read, not stored: for units below the summary levels and their drill-down."""
    chosen = indicators or catalogue().indicators
    scope, inputs = await open_scope(
        session, root=root, period=parse_period(period), indicators=chosen, with_children=with_children
    )
    dialect = session.get_bind().dialect.name
    rows = []
    for indicator in chosen:
        query = result_rows(indicator, FORMULAS[indicator.kind](indicator, scope, inputs), scope, dialect=dialect)
        rows += [
            IndicatorResult(**{**row, "missing": _as_list(row["missing"])})
            for row in (await session.execute(query)).mappings().all()
        ]
    await drop_scope(session)  # a failed statement rolls the temporary tables back with it
    return rows


def _as_list(missing: object) -> list[str]:
    return json.loads(missing) if isinstance(missing, str) else list(missing or [])


async def open_scope(
    session: AsyncSession,
    *,
    root: OrgUnit,
    period: Period,
    indicators: list[Indicator],
    with_children: bool = False,
) -> tuple[Scope, Inputs]:
    """The temporary tables a computation reads: units with their ancestors, and element totals per unit."""
    scope = await build_scope(session, root=root, period=period, with_children=with_children)
    inputs = await element_inputs(session, indicators=indicators, period=period)
    await total_elements(session, scope=scope, wanted=inputs.wanted)
    return scope, inputs


async def _compute(session: AsyncSession, *, root: OrgUnit, period: Period, indicators: list[Indicator]) -> int:
    dialect = session.get_bind().dialect.name
    scope, inputs = await open_scope(session, root=root, period=period, indicators=indicators)
    await clear(session, codes=[indicator.code for indicator in indicators], scope=scope)
    queries = [
        result_rows(indicator, FORMULAS[indicator.kind](indicator, scope, inputs), scope, dialect=dialect)
        for indicator in indicators
    ]
    stored = 0
    # Assessed (milestone) indicators are cheap: one statement for all of them saves dozens of round trips.
    milestones = [query for query, indicator in zip(queries, indicators, strict=True) if indicator.kind == "milestone"]
    computed = [query for query, indicator in zip(queries, indicators, strict=True) if indicator.kind != "milestone"]
    batches = computed + ([union_all(*milestones)] if milestones else [])
    for rows in batches:
        stored += await store(session, rows=rows, dialect=dialect)
    await drop_scope(session)  # a failed statement rolls the temporary tables back with it
    return stored


async def compute_indicators(
    session: AsyncSession,
    *,
    actor: Principal,
    org_unit_id: int,
    period: str,
    codes: list[str] | None = None,
) -> ComputationSummary:
    """Compute the catalogue (or some codes) for every org unit of a subtree and store the results."""
    started = time.perf_counter()
    root = await get_org_unit(session, actor=actor, unit_id=org_unit_id)
    parsed = parse_period(period)
    indicators = _selected(codes)
    stored = await _compute(session, root=root, period=parsed, indicators=indicators)
    assert root.id is not None
    return ComputationSummary(root.id, parsed.code, len(indicators), stored, time.perf_counter() - started)


async def recompute_after_change(
    session: AsyncSession,
    *,
    element_code: str,
    org_unit: OrgUnit,
    period: str,
    delta: float,
) -> list[str]:
    """Bring stored results up to date after one data value moved by `delta`: only the indicators that read the
    element, only the changed unit's ancestors. Sums move by the delta; anything else is recomputed."""
    parsed = parse_period(period)
    ancestor_ids = [int(part) for part in org_unit.path.strip("/").split("/")]
    summary_ids = list(
        (
            await session.scalars(
                select(OrgUnit.id).where(OrgUnit.id.in_(ancestor_ids), OrgUnit.level <= SUMMARY_LEVEL)
            )
        ).all()
    )
    readers = [indicator for indicator in catalogue().indicators if element_code in element_codes(indicator)]
    shifted = [
        indicator
        for indicator in readers
        if await apply_delta(
            session,
            indicator=indicator,
            element_code=element_code,
            unit_ids=ancestor_ids,
            required_ids=summary_ids,
            period=parsed.code,
            delta=delta,
        )
    ]
    rest = [indicator for indicator in readers if indicator not in shifted]
    if rest:
        top = await session.get(OrgUnit, ancestor_ids[0])
        assert top is not None
        await _compute(session, root=top, period=parsed, indicators=rest)
    return [indicator.code for indicator in readers]


async def recompute_readers(session: AsyncSession, *, root_id: int, period: str, codes: set[str]) -> int:
    """Recompute some indicators over the whole tree under a root for one period (after many figures moved)."""
    root = await session.get(OrgUnit, root_id)
    assert root is not None
    indicators = [indicator for indicator in catalogue().indicators if indicator.code in codes]
    return await _compute(session, root=root, period=parse_period(period), indicators=indicators)
