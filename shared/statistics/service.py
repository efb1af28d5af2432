"""Entering data values and summing them over a subtree."""

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.audit.service import record_change, snapshot
from shared.auth.scope import Principal
from shared.concurrency import bump_version
from shared.orgunits.models import OrgUnit
from shared.statistics.models import DataElement, DataValue
from shared.statistics.periods import Period

BUILTIN_ELEMENTS = {"population": ("常住人口", "人")}


async def ensure_element(session: AsyncSession, *, code: str) -> DataElement:
    """The data element with a code, created from the built-in list when missing."""
    element = await session.scalar(select(DataElement).where(DataElement.code == code))
    if element is None:
        name, unit = BUILTIN_ELEMENTS.get(code, (code, ""))
        element = DataElement(code=code, name=name, unit=unit)
        session.add(element)
        await session.flush()
    return element


async def set_unit_value(
    session: AsyncSession,
    *,
    actor: Principal,
    element_code: str,
    org_unit: OrgUnit,
    period: Period,
    value: float,
    source: str = "manual",
) -> DataValue:
    """Insert or replace the figure entered at an org unit itself for a period."""
    element = await ensure_element(session, code=element_code)
    row = await session.scalar(
        select(DataValue).where(
            DataValue.element_id == element.id,
            DataValue.org_unit_id == org_unit.id,
            DataValue.facility_id.is_(None),
            DataValue.period == period.code,
        )
    )
    before = snapshot(row)
    if row is None:
        row = DataValue(
            element_id=element.id,
            org_unit_id=org_unit.id,
            period=period.code,
            period_type=period.kind,
            period_start=period.start,
            period_end=period.end,
            value=value,
            source=source,
            entered_by_id=actor.user_id,
        )
        session.add(row)
    else:
        row.value, row.source, row.entered_by_id = value, source, actor.user_id
        bump_version(row)
    await session.flush()
    await record_change(
        session,
        actor=actor,
        action="create" if before is None else "update",
        entity="data_value",
        entity_id=row.id,
        before=before,
        after=snapshot(row),
    )
    return row


async def unit_and_subtree_value(
    session: AsyncSession,
    *,
    element_code: str,
    org_unit: OrgUnit,
    period: str,
) -> tuple[float | None, float | None]:
    """The figure entered at the unit itself, and the sum over its whole subtree (None when nothing)."""
    base = (
        select(DataValue.org_unit_id, DataValue.value)
        .join(DataElement, DataElement.id == DataValue.element_id)
        .join(OrgUnit, OrgUnit.id == DataValue.org_unit_id)
        .where(DataElement.code == element_code, DataValue.period == period, OrgUnit.path.startswith(org_unit.path))
        .subquery()
    )
    own = func.sum(base.c.value).filter(base.c.org_unit_id == org_unit.id)
    entered, total = (await session.execute(select(own, func.sum(base.c.value)))).one()
    return (float(entered) if entered is not None else None, float(total) if total is not None else None)
