"""Reading indicator results: the list for a unit, trends, drill-down; computations behind scope checks."""

from collections import defaultdict

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth.models import Role
from shared.auth.scope import PLANNERS, Principal
from shared.errors import NotFound
from shared.indicators.catalogue import ComplianceIndicator, Indicator, Rule
from shared.indicators.engine.formulas import compliance_facilities, judged
from shared.indicators.engine.run import (
    ComputationSummary,
    catalogue,
    compute_indicators,
    live_results,
    open_scope,
)
from shared.indicators.engine.scope import SUMMARY_LEVEL, drop_scope
from shared.indicators.models import IndicatorResult
from shared.indicators.schemas import DrillDownRow, IndicatorList, IndicatorResultPublic, TrendPoint
from shared.observability import COMPUTATION_SECONDS, timed
from shared.orgunits.models import OrgUnit
from shared.orgunits.service import get_org_unit
from shared.statistics.periods import parse_period

COMPUTERS = (*PLANNERS, Role.unit_clerk)


def indicator_by_code(code: str) -> Indicator:
    """A catalogue indicator; 404 for an unknown code."""
    try:
        return catalogue().by_code(code)
    except KeyError as exc:
        raise NotFound(f"no indicator has code {code}") from exc


async def run_computation(
    session: AsyncSession,
    *,
    actor: Principal,
    org_unit_id: int,
    period: str,
    codes: list[str] | None,
) -> ComputationSummary:
    """Compute for a subtree the caller may compute for."""
    actor.require_role(COMPUTERS)
    with timed(COMPUTATION_SECONDS):
        return await compute_indicators(session, actor=actor, org_unit_id=org_unit_id, period=period, codes=codes)


async def read_indicators(session: AsyncSession, *, actor: Principal, unit_id: int, period: str) -> IndicatorList:
    """Every catalogue indicator for a unit and period with its trend over the stored periods of that kind."""
    unit = await get_org_unit(session, actor=actor, unit_id=unit_id)
    parsed = parse_period(period)
    if unit.level > SUMMARY_LEVEL:
        live = await live_results(session, root=unit, period=parsed.code)
        by_code = {row.indicator_code: [row] for row in live if row.org_unit_id == unit.id}
        items = [
            _public(indicator, by_code.get(indicator.code, []), parsed.code) for indicator in catalogue().indicators
        ]
        assert unit.id is not None
        return IndicatorList(org_unit_id=unit.id, period=parsed.code, items=items)
    rows = (
        await session.scalars(
            select(IndicatorResult)
            .where(IndicatorResult.org_unit_id == unit.id, func.length(IndicatorResult.period) == len(parsed.code))
            .order_by(IndicatorResult.period)
        )
    ).all()
    history: dict[str, list[IndicatorResult]] = defaultdict(list)
    for row in rows:
        history[row.indicator_code].append(row)
    items = [_public(indicator, history[indicator.code], parsed.code) for indicator in catalogue().indicators]
    assert unit.id is not None
    return IndicatorList(org_unit_id=unit.id, period=parsed.code, items=items)


def _public(indicator: Indicator, history: list[IndicatorResult], period: str) -> IndicatorResultPublic:
    current = next((row for row in history if row.period == period), None)
    base = {
        "code": indicator.code,
        "name": indicator.name,
        "category": indicator.category,
        "kind": indicator.kind,
        "unit": indicator.unit,
        "standard": indicator.standard_text,
        "trend": [TrendPoint(period=row.period, value=row.value, passed=row.passed) for row in history],
    }
    if current is None:
        return IndicatorResultPublic(
            **base,
            value=None,
            numerator=None,
            denominator=None,
            threshold_op=None,
            threshold=None,
            target_op=None,
            target=None,
            passed=None,
            target_passed=None,
            missing=["not computed for this period"],
            computed_at=None,
        )
    return IndicatorResultPublic(
        **base,
        value=current.value,
        numerator=current.numerator,
        denominator=current.denominator,
        threshold_op=current.threshold_op,
        threshold=current.threshold,
        target_op=current.target_op,
        target=current.target,
        passed=current.passed,
        target_passed=current.target_passed,
        missing=list(current.missing),
        computed_at=current.computed_at,
    )


async def drill_down(
    session: AsyncSession,
    *,
    actor: Principal,
    unit_id: int,
    code: str,
    period: str,
    failing_only: bool,
) -> list[DrillDownRow]:
    """The child units (and, for facility rules, the facilities) behind a unit's result, and why."""
    unit = await get_org_unit(session, actor=actor, unit_id=unit_id)
    indicator = indicator_by_code(code)
    parsed = parse_period(period)
    if isinstance(indicator, ComplianceIndicator):
        rows = await _facility_rows(session, indicator=indicator, unit=unit, period=parsed.code)
    else:
        rows = await _child_rows(session, unit=unit, indicator=indicator, period=parsed.code)
    return [row for row in rows if not failing_only or row.passed is not True]


async def _child_rows(session: AsyncSession, *, unit: OrgUnit, indicator: Indicator, period: str) -> list[DrillDownRow]:
    children = (await session.scalars(select(OrgUnit).where(OrgUnit.parent_id == unit.id).order_by(OrgUnit.code))).all()
    if unit.level >= SUMMARY_LEVEL:
        live = await live_results(session, root=unit, period=period, indicators=[indicator], with_children=True)
        results = {row.org_unit_id: row for row in live}
    else:
        stored = await session.scalars(
            select(IndicatorResult).where(
                IndicatorResult.org_unit_id.in_([child.id for child in children]),
                IndicatorResult.indicator_code == indicator.code,
                IndicatorResult.period == period,
            )
        )
        results = {row.org_unit_id: row for row in stored}
    rows = []
    for child in children:
        result = results.get(child.id)
        why = _why(result)
        rows.append(
            DrillDownRow(
                kind="org_unit",
                id=child.id,
                code=child.code,
                name=child.name,
                value=result.value if result else None,
                numerator=result.numerator if result else None,
                denominator=result.denominator if result else None,
                passed=result.passed if result else None,
                why=why,
            )
        )
    return rows


def _why(result: IndicatorResult | None) -> str:
    if result is None:
        return "not computed"
    if result.missing:
        return "no data: " + ", ".join(result.missing)
    if result.threshold is None or result.value is None:
        return "no threshold in the standard"
    verdict = "meets" if result.passed else "misses"
    return f"{result.value:.4g} {verdict} the standard {result.threshold_op} {result.threshold:g}"


async def _facility_rows(
    session: AsyncSession,
    *,
    indicator: ComplianceIndicator,
    unit: OrgUnit,
    period: str,
) -> list[DrillDownRow]:
    """Each selected facility of the subtree, judged rule by rule."""
    scope, inputs = await open_scope(session, root=unit, period=parse_period(period), indicators=[indicator])
    facilities = compliance_facilities(indicator, scope, inputs).subquery("facilities")
    complies, known = judged(indicator, facilities)
    query = select(facilities, complies.label("complies"), known.label("known")).order_by(facilities.c.code)
    rows = (await session.execute(query)).mappings().all()
    await drop_scope(session)  # a failed statement rolls the temporary tables back with it
    return [
        DrillDownRow(
            kind="facility",
            id=row["id"],
            code=row["code"],
            name=row["name"],
            value=None,
            passed=bool(row["complies"]) if row["known"] else None,
            why=_facility_why(indicator, row),
        )
        for row in rows
    ]


def _facility_why(indicator: ComplianceIndicator, row: dict) -> str:
    population = row.get("service_population")
    parts = [f"service population {population:g}" if population is not None else "service population unknown"]
    for rule in indicator.rules:
        if not _applies(rule, row):
            continue
        column = rule.field or rule.element or ""
        actual = row.get(column)
        verdict = (
            "unknown" if actual is None else ("ok" if _holds(float(actual), rule.op, float(rule.value)) else "short")
        )
        shown = "unknown" if actual is None else f"{float(actual):g}"
        parts.append(f"{column} {shown} (needs {rule.op} {float(rule.value):g}: {verdict})")
    return "; ".join(parts)


def _holds(left: float, op: str, right: float) -> bool:
    return {">=": left >= right, ">": left > right, "<=": left <= right, "<": left < right, "==": left == right}[op]


def _applies(rule: Rule, row: dict) -> bool:
    """Whether a rule's `when` holds for a facility row (unknown population: shown, as it cannot be excluded)."""
    if rule.when is None:
        return True
    population = row.get("service_population")
    bands = rule.when.service_population or []
    if population is not None and not all(_holds(float(population), c.op, float(c.value)) for c in bands):
        return False
    if rule.when.facility_type and row.get("type") not in rule.when.facility_type:
        return False
    return not (rule.when.unit_kinds and row.get("unit_kind") not in rule.when.unit_kinds)
