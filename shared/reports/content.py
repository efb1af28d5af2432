"""Assembling report content from live data, set-based for every report of a period, and aggregating children."""

from collections import defaultdict
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.activities.models import Activity
from shared.indicators.models import IndicatorResult
from shared.orgunits.models import OrgUnit
from shared.plans.models import Plan
from shared.reports.models import Report, ReportKind, ReportStatus
from shared.reports.periods import report_period
from shared.tasks.models import ProgressUpdate, Task, TaskKind, TaskStatus

SUBMITTED = (ReportStatus.submitted, ReportStatus.accepted)
SUMMED = (
    ("activities", "count"),
    ("activities", "attendance"),
    ("tasks", "total"),
    ("tasks", "done"),
    ("tasks", "overdue"),
)


def _ancestors(path: str) -> list[int]:
    return [int(part) for part in path.strip("/").split("/") if part]


async def _activities(session: AsyncSession, *, start: date, end: date, report_units: set[int]) -> dict[int, dict]:
    """Activities of the period in each report unit's subtree: count, attendance, by type."""
    rows = await session.execute(
        select(OrgUnit.path, Activity.type, func.count(), func.coalesce(func.sum(Activity.attendance), 0))
        .join(OrgUnit, OrgUnit.id == Activity.org_unit_id)
        .where(Activity.occurred_on.between(start, end))
        .group_by(OrgUnit.path, Activity.type)
    )
    found: dict[int, dict] = defaultdict(lambda: {"count": 0, "attendance": 0, "by_type": {}})
    for path, kind, count, attendance in rows.all():
        for unit_id in _ancestors(path):
            if unit_id in report_units:
                bucket = found[unit_id]
                bucket["count"] += count
                bucket["attendance"] += int(attendance)
                bucket["by_type"][kind.value] = bucket["by_type"].get(kind.value, 0) + count
    return found


async def _changes(
    session: AsyncSession, *, task_unit: dict[int, int], since: dict[int, datetime], start: date
) -> dict[int, list]:
    """Progress updates since each unit's last submitted report of the kind (else since the period began)."""
    changes: dict[int, list] = defaultdict(list)
    if not task_unit:
        return changes
    first = datetime.combine(start, time.min, tzinfo=UTC)
    oldest = min([first, *since.values()])
    updates = await session.execute(
        select(ProgressUpdate, Task.code)
        .join(Task, Task.id == ProgressUpdate.task_id)
        .where(ProgressUpdate.task_id.in_(list(task_unit)), ProgressUpdate.created_at >= oldest)
        .order_by(ProgressUpdate.id)
    )
    for progress, code in updates.all():
        unit_id = task_unit[progress.task_id]
        if progress.created_at < since.get(unit_id, first):
            continue
        changes[unit_id].append(
            {
                "code": code,
                "percent_complete": progress.percent_complete,
                "status": progress.status.value,
                "note": progress.note[:300],
                "delay_reason": progress.delay_reason[:300],
                "at": progress.created_at.isoformat(),
            }
        )
    return changes


async def _delay_reasons(session: AsyncSession, *, task_ids: list[int]) -> dict[int, str]:
    """The latest explanation given for each overdue task."""
    reasons: dict[int, str] = {}
    for chunk in range(0, len(task_ids), 1000):
        rows = await session.execute(
            select(ProgressUpdate.task_id, ProgressUpdate.delay_reason)
            .where(ProgressUpdate.task_id.in_(task_ids[chunk : chunk + 1000]), ProgressUpdate.delay_reason != "")
            .order_by(ProgressUpdate.id)
        )
        reasons |= dict(rows.all())
    return reasons


async def _last_submitted(session: AsyncSession, *, kind: ReportKind, period: str) -> dict[int, datetime]:
    """When each unit last submitted a report of the kind for an earlier period."""
    rows = await session.execute(
        select(Report.org_unit_id, func.max(Report.submitted_at))
        .where(Report.kind == kind, Report.period < period, Report.submitted_at.is_not(None))
        .group_by(Report.org_unit_id)
    )
    return {unit_id: at if at.tzinfo else at.replace(tzinfo=UTC) for unit_id, at in rows.all() if at}


async def _tasks(
    session: AsyncSession, *, units: set[int], start: date, end: date, today: date, since: dict[int, datetime]
) -> dict[int, dict]:
    """Progress of the tasks of plans owned by each unit: totals, overdue items, what changed in the period."""
    rows = (
        await session.execute(
            select(Plan.org_unit_id, Task)
            .join(Plan, Plan.id == Task.plan_id)
            .where(
                Plan.org_unit_id.in_(units), Task.kind != TaskKind.area, Plan.starts_on <= end, Plan.ends_on >= start
            )
            .order_by(Task.id)
        )
    ).all()
    found: dict[int, dict] = defaultdict(lambda: {"total": 0, "done": 0, "overdue": 0, "percent_sum": 0})
    overdue: dict[int, list] = defaultdict(list)
    task_unit = {}
    for unit_id, task in rows:
        task_unit[task.id] = unit_id
        bucket = found[unit_id]
        bucket["total"] += 1
        bucket["done"] += task.status == TaskStatus.done
        bucket["percent_sum"] += task.percent_complete
        if task.due_date and task.due_date < today and task.status != TaskStatus.done:
            bucket["overdue"] += 1
            overdue[unit_id].append(
                {
                    "task_id": task.id,
                    "code": task.code,
                    "title": task.title[:200],
                    "due_date": task.due_date.isoformat(),
                    "delay_reason": "",
                }
            )
    changes = await _changes(session, task_unit=task_unit, since=since, start=start)
    reasons = await _delay_reasons(session, task_ids=[item["task_id"] for items in overdue.values() for item in items])
    for items in overdue.values():
        for item in items:
            item["delay_reason"] = reasons.get(item["task_id"], "")
    result = {}
    for unit_id in units:
        bucket = found[unit_id]
        total = bucket.pop("percent_sum")
        bucket["percent_avg"] = round(total / bucket["total"], 1) if bucket["total"] else None
        result[unit_id] = {"tasks": bucket, "overdue_tasks": overdue[unit_id], "changes": changes[unit_id][-50:]}
    return result


async def _indicators(session: AsyncSession, *, units: set[int], year: int) -> dict[int, list[dict]]:
    """Indicator results of the year with the previous year's value beside them (their movement)."""
    rows = await session.execute(
        select(IndicatorResult).where(
            IndicatorResult.org_unit_id.in_(units), IndicatorResult.period.in_([str(year), str(year - 1)])
        )
    )
    by_key: dict[tuple[int, str], dict[str, IndicatorResult]] = defaultdict(dict)
    for result in rows.scalars().all():
        by_key[(result.org_unit_id, result.indicator_code)][result.period] = result
    found: dict[int, list[dict]] = defaultdict(list)
    for (unit_id, code), years in sorted(by_key.items()):
        current, previous = years.get(str(year)), years.get(str(year - 1))
        if current is None:
            continue
        movement = None
        if current.value is not None and previous is not None and previous.value is not None:
            movement = round(current.value - previous.value, 6)
        found[unit_id].append(
            {
                "code": code,
                "value": current.value,
                "target": current.target,
                "passed": current.passed,
                "previous": previous.value if previous else None,
                "movement": movement,
            }
        )
    return found


async def assemble(
    session: AsyncSession, *, kind: ReportKind, period: str, today: date, report_ids: list[int] | None = None
) -> int:
    """Refresh the live content of a period's open reports (draft or returned), or of the reports named."""
    span = report_period(kind, period).period
    query = select(Report.id, Report.org_unit_id).where(Report.kind == kind, Report.period == period)
    if report_ids is not None:
        query = query.where(Report.id.in_(report_ids))
    else:
        query = query.where(Report.status.in_((ReportStatus.draft, ReportStatus.returned)))
    reports = (await session.execute(query)).all()
    if not reports:
        return 0
    units = {unit_id for _id, unit_id in reports}
    activities = await _activities(session, start=span.start, end=span.end, report_units=units)
    since = await _last_submitted(session, kind=kind, period=span.code)
    tasks = await _tasks(session, units=units, start=span.start, end=span.end, today=today, since=since)
    indicators = await _indicators(session, units=units, year=span.start.year)
    empty = {"count": 0, "attendance": 0, "by_type": {}}
    rows = [
        {
            "report_id": report_id,
            "new_content": {
                "period": {"start": span.start.isoformat(), "end": span.end.isoformat()},
                "as_of": today.isoformat(),
                "activities": activities.get(unit_id, empty),
                **tasks[unit_id],
                "indicators": indicators.get(unit_id, []),
            },
        }
        for report_id, unit_id in reports
    ]
    statement = update(Report.__table__).where(Report.__table__.c.id == bindparam("report_id"))
    await session.execute(statement.values(content=bindparam("new_content")), rows)
    return len(rows)


def figure(content: dict[str, Any], group: str, name: str) -> int:
    """One summable figure of a report's content (0 when absent)."""
    return int((content.get(group) or {}).get(name) or 0)


async def aggregate(session: AsyncSession, *, kind: ReportKind, period: str) -> int:
    """Sum the children's submitted reports into each parent's report of the period and list who is missing."""
    rows = (
        await session.execute(
            select(
                Report.id,
                Report.org_unit_id,
                Report.status,
                Report.content,
                OrgUnit.parent_id,
                OrgUnit.code,
                OrgUnit.name,
            )
            .join(OrgUnit, OrgUnit.id == Report.org_unit_id)
            .where(Report.kind == kind, Report.period == period)
        )
    ).all()
    by_unit = {row.org_unit_id: row for row in rows}
    children: dict[int, list] = defaultdict(list)
    for row in rows:
        if row.parent_id in by_unit:
            children[row.parent_id].append(row)
    updates = []
    for parent_id, kids in children.items():
        submitted = [kid for kid in kids if kid.status in SUBMITTED]
        figures: dict[str, dict[str, int]] = defaultdict(dict)
        for group, name in SUMMED:
            figures[group][name] = sum(figure(kid.content or {}, group, name) for kid in submitted)
        missing = [
            {"org_unit_id": kid.org_unit_id, "code": kid.code, "name": kid.name, "status": kid.status.value}
            for kid in sorted(kids, key=lambda kid: kid.code)
            if kid.status not in SUBMITTED
        ]
        updates.append(
            {
                "report_id": by_unit[parent_id].id,
                "new_aggregate": {
                    "expected": len(kids),
                    "submitted": len(submitted),
                    "missing": missing,
                    "figures": dict(figures),
                },
            }
        )
    if updates:
        statement = update(Report.__table__).where(Report.__table__.c.id == bindparam("report_id"))
        await session.execute(statement.values(aggregate=bindparam("new_aggregate")), updates)
    return len(updates)
