"""Who reported, in time or late, and what a unit has to deliver next."""

from datetime import timedelta

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth.scope import STAFF_ROLES, Principal
from shared.clock import now
from shared.orgunits.models import OrgUnit
from shared.orgunits.service import get_org_unit
from shared.plans.models import Plan
from shared.reports.calendar import OPEN, local_today, reporting_units
from shared.reports.models import Report, ReportKind
from shared.reports.periods import SCHEDULED, periods_opening, report_period
from shared.reports.schemas import DueItem, Timeliness, UnitTimeliness
from shared.reports.service import timeliness_of
from shared.tasks.models import Task, TaskKind, TaskStatus


async def timeliness(
    session: AsyncSession, *, actor: Principal, unit_id: int, kind: ReportKind, period: str
) -> Timeliness:
    """Per unit of a subtree: on time, late, missing or pending; expected counts only units open in the period."""
    actor.require_role(STAFF_ROLES)
    root = await get_org_unit(session, actor=actor, unit_id=unit_id)
    span = report_period(kind, period)
    rows = (
        await session.execute(
            select(OrgUnit.id, OrgUnit.code, OrgUnit.name, Report.id, Report.status, Report.submitted_at)
            .outerjoin(Report, and_(Report.org_unit_id == OrgUnit.id, Report.kind == kind, Report.period == span.code))
            .where(OrgUnit.path.startswith(root.path), reporting_units(span))
            .order_by(OrgUnit.code)
        )
    ).all()
    today = local_today(now())
    units = [
        UnitTimeliness(
            org_unit_id=unit,
            code=code,
            name=name,
            report_id=report_id,
            status=status,
            submitted_at=submitted_at,
            timeliness=timeliness_of(due_on=span.due_on, submitted_at=submitted_at, today=today),
        )
        for unit, code, name, report_id, status, submitted_at in rows
    ]
    counts = {
        name: sum(1 for unit in units if unit.timeliness == name) for name in ("on_time", "late", "missing", "pending")
    }
    expected = len(units)
    return Timeliness(
        org_unit_id=unit_id,
        kind=kind,
        period=span.code,
        due_on=span.due_on,
        expected=expected,
        **counts,
        reporting_rate=round((counts["on_time"] + counts["late"]) / expected, 4) if expected else None,
        on_time_rate=round(counts["on_time"] / expected, 4) if expected else None,
        units=units,
    )


async def due_next(session: AsyncSession, *, actor: Principal, unit_id: int, days: int) -> list[DueItem]:
    """A unit's calendar: open reports (overdue first), periods that will open within `days`, tasks due soon."""
    actor.require_role(STAFF_ROLES)
    unit = await get_org_unit(session, actor=actor, unit_id=unit_id)
    today = local_today(now())
    horizon = today + timedelta(days=days)
    items: list[DueItem] = []
    reports = (
        await session.scalars(
            select(Report).where(Report.org_unit_id == unit.id, Report.status.in_(OPEN), Report.due_on <= horizon)
        )
    ).all()
    opened = {(report.kind, report.period) for report in reports}
    items += [
        DueItem(
            what="report",
            kind=r.kind.value,
            period=r.period,
            title=f"{r.kind.value} {r.period}",
            due_on=r.due_on,
            report_id=r.id,
            status=r.status.value,
            overdue=r.due_on < today,
        )
        for r in reports
    ]
    for kind in SCHEDULED:
        for period in periods_opening(kind, first=today, last=horizon):
            if (kind, period.code) not in opened and period.due_on <= horizon:
                items.append(
                    DueItem(
                        what="report",
                        kind=kind.value,
                        period=period.code,
                        title=f"{kind.value} {period.code}",
                        due_on=period.due_on,
                        status="not_open",
                        overdue=False,
                    )
                )
    tasks = (
        await session.scalars(
            select(Task)
            .join(Plan, Plan.id == Task.plan_id)
            .where(
                Plan.org_unit_id == unit.id,
                Task.kind != TaskKind.area,
                Task.status != TaskStatus.done,
                Task.due_date.is_not(None),
                Task.due_date <= horizon,
            )
            .order_by(Task.due_date)
            .limit(200)
        )
    ).all()
    items += [
        DueItem(
            what="task",
            kind=task.kind.value,
            title=f"{task.code} {task.title[:80]}",
            due_on=task.due_date,
            task_id=task.id,
            status=task.status.value,
            overdue=task.due_date < today,
        )
        for task in tasks
        if task.due_date is not None
    ]
    return sorted(items, key=lambda item: (item.due_on, item.what, item.title))
