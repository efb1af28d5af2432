"""The fast path after one changed value: move stored sums by the delta and re-derive value and pass/fail."""

from sqlalchemy import Float, and_, cast, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import utcnow
from shared.indicators.catalogue import ElementMeasure, Indicator, PopulationPerFacilityIndicator, RatioIndicator
from shared.indicators.engine.results import RESULT, passes_stored


def _roles(indicator: Indicator, element_code: str) -> tuple[bool, bool] | None:
    """Whether the element is the (numerator, denominator) of a plain sum ratio; None when not a sum ratio."""
    if isinstance(indicator, PopulationPerFacilityIndicator) and element_code == "population":
        return True, False
    if isinstance(indicator, RatioIndicator):
        roles = (indicator.numerator, indicator.denominator)
        return tuple(isinstance(m, ElementMeasure) and m.element == element_code for m in roles)  # type: ignore[return-value]
    return None


async def apply_delta(
    session: AsyncSession,
    *,
    indicator: Indicator,
    element_code: str,
    unit_ids: list[int],
    required_ids: list[int],
    period: str,
    delta: float,
) -> bool:
    """Shift the stored sums of the units' results; False when a required one (a summary-level ancestor) is absent
    or the indicator is not a plain sum ratio, so that the caller recomputes instead."""
    roles = _roles(indicator, element_code)
    if roles is None or not any(roles):
        return False
    in_numerator, in_denominator = roles
    where = and_(
        RESULT.c.indicator_code == indicator.code, RESULT.c.period == period, RESULT.c.org_unit_id.in_(unit_ids)
    )
    role_columns = [
        column for column, used in ((RESULT.c.numerator, in_numerator), (RESULT.c.denominator, in_denominator)) if used
    ]
    still_positive = [RESULT.c.denominator + delta > 0] if in_denominator else []
    complete = await session.scalar(
        select(func.count()).where(
            where, RESULT.c.org_unit_id.in_(required_ids), *[c.is_not(None) for c in role_columns], *still_positive
        )
    )
    if complete != len(required_ids):
        return False
    where = and_(where, *[c.is_not(None) for c in role_columns])
    # Take the row locks in one order (unit id), so that concurrent writers queue instead of deadlocking.
    await session.execute(select(RESULT.c.id).where(where).order_by(RESULT.c.org_unit_id).with_for_update())
    numerator = RESULT.c.numerator + delta if in_numerator else RESULT.c.numerator
    denominator = RESULT.c.denominator + delta if in_denominator else RESULT.c.denominator
    factor = indicator.factor if isinstance(indicator, RatioIndicator) else 1
    value = cast(numerator, Float) / func.nullif(cast(denominator, Float), 0) * factor
    await session.execute(
        update(RESULT)
        .where(where)
        .values(
            numerator=numerator,
            denominator=denominator,
            value=value,
            passed=passes_stored(value, RESULT.c.threshold_op, RESULT.c.threshold),
            target_passed=passes_stored(value, RESULT.c.target_op, RESULT.c.target),
            computed_at=utcnow(),
        )
    )
    return True
