"""Keep stored indicator results current after a few figures change (a batch of hand-entered values)."""

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.indicators.engine.run import recompute_after_change
from shared.indicators.models import IndicatorResult
from shared.orgunits.models import OrgUnit

REFRESH_LIMIT = 50  # more changes than this (an import) wait for the next computation


async def refresh_results(session: AsyncSession, *, changes: list[tuple[str, int, str, float]]) -> int:
    """Move the stored results that read each changed (element, unit, period) — only where results exist."""
    if not changes or len(changes) > REFRESH_LIMIT:
        return 0
    refreshed = 0
    for element_code, org_unit_id, period, delta in changes:
        unit = await session.get(OrgUnit, org_unit_id)
        if unit is None:
            continue
        ancestors = [int(part) for part in unit.path.strip("/").split("/")]
        computed = await session.scalar(
            select(exists().where(IndicatorResult.period == period, IndicatorResult.org_unit_id.in_(ancestors)))
        )
        if computed:
            await recompute_after_change(session, element_code=element_code, org_unit=unit, period=period, delta=delta)
            refreshed += 1
    return refreshed
