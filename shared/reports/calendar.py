"""The reporting calendar's jobs: open reports, remind before due dates, mark late ones, assemble and aggregate,
recompute indicators. Each job takes a session and the injected `now`; every write is idempotent through a unique
key (report per unit, kind and period; notification key), so two schedulers or a rerun never make a second row."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, Date, String, and_, cast, exists, literal, null, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from shared.auth.scope import SYSTEM
from shared.config import get_settings
from shared.db_types import JsonType
from shared.indicators.engine.run import compute_indicators
from shared.notifications.service import enqueue_deliveries, notify_from
from shared.orgunits.models import OrgUnit
from shared.plans.models import Plan
from shared.reports.content import aggregate, assemble
from shared.reports.models import JobRun, Report, ReportKind, ReportStatus
from shared.reports.periods import SCHEDULED, ReportPeriod, periods_opening, report_period
from shared.statistics.elements import dialect_insert
from shared.tasks.models import Task, TaskAssignee, TaskKind, TaskStatus

OPEN = (ReportStatus.draft, ReportStatus.returned)
LABEL = {
    ReportKind.monthly_update: "工作动态",
    ReportKind.quarterly: "深度工作进展",
    ReportKind.annual: "年度报告",
    ReportKind.self_assessment: "自查自评",
}
NO_ID = cast(null(), BigInteger)  # a typed NULL: PostgreSQL will not put an untyped one in a bigint column
REPORT_COLUMNS = [
    "org_unit_id",
    "kind",
    "period",
    "opens_on",
    "due_on",
    "status",
    "text",
    "content",
    "aggregate",
    "late",
    "created_at",
    "updated_at",
    "version",
]


def local_today(at: datetime) -> date:
    """The calendar date of an instant in the plan time zone (Asia/Shanghai by default)."""
    return at.astimezone(ZoneInfo(get_settings().default_timezone)).date()


async def last_completed(session: AsyncSession, name: str) -> datetime | None:
    """When a job last completed (None: never)."""
    return await session.scalar(select(JobRun.last_completed_at).where(JobRun.name == name))


def reporting_units(period: ReportPeriod) -> object:
    """Units expected to report for a period: open during it, down to the configured level, under an active plan."""
    plan_unit = aliased(OrgUnit)
    covered = exists().where(
        Plan.org_unit_id == plan_unit.id,
        OrgUnit.path.startswith(plan_unit.path),
        Plan.starts_on <= period.period.end,
        Plan.ends_on >= period.period.start,
    )
    return and_(
        OrgUnit.level <= get_settings().report_max_level,
        or_(OrgUnit.opened_on.is_(None), OrgUnit.opened_on <= period.period.end),
        or_(OrgUnit.closed_on.is_(None), OrgUnit.closed_on >= period.period.start),
        covered,
    )


async def open_period(session: AsyncSession, *, period: ReportPeriod, at: datetime) -> int:
    """A draft report for every unit expected to report for the period (those already open are left alone)."""
    rows = select(
        OrgUnit.id,
        literal(period.kind.value),
        literal(period.code),
        literal(period.opens_on, Date),
        literal(period.due_on, Date),
        literal(ReportStatus.draft.value),
        literal(""),
        literal({}, JsonType),
        literal({}, JsonType),
        literal(False),
        literal(at),
        literal(at),
        literal(1),
    ).where(reporting_units(period))
    statement = dialect_insert(session, Report.__table__).from_select(REPORT_COLUMNS, rows)
    result = await session.execute(statement.on_conflict_do_nothing(index_elements=["org_unit_id", "kind", "period"]))
    return result.rowcount or 0


async def open_reports(session: AsyncSession, now: datetime) -> int:
    """Open the reports of every period that began since the last run (at most CATCH_UP_DAYS back), and of the
    periods running now, so a unit added mid-period reports for it too."""
    today = local_today(now)
    last = await last_completed(session, "open_reports")
    first = max(local_today(last) if last else date.min, today - timedelta(days=get_settings().catch_up_days))
    opened = 0
    for kind in SCHEDULED:
        running = [
            p
            for p in periods_opening(kind, first=today - timedelta(days=366), last=today)
            if p.opens_on <= today <= p.period.end
        ]
        wanted = {p.code: p for p in [*periods_opening(kind, first=first, last=today), *running]}
        for period in wanted.values():
            opened += await open_period(session, period=period, at=now)
    return opened


def _text(value: object) -> object:
    return cast(value, String)


async def remind(session: AsyncSession, now: datetime) -> int:
    """Remind units of reports and tasks due within N days (each reminder once: its key is unique)."""
    today, sent = local_today(now), 0
    for days in get_settings().reminder_days:
        horizon = today + timedelta(days=days)
        reports = select(
            literal("remind:report:") + _text(Report.id) + literal(f":{days}d"),
            literal("report_reminder"),
            Report.org_unit_id,
            NO_ID,
            NO_ID,
            literal("报告即将截止：") + Report.period + literal(" ") + Report.kind,
            literal("截止日期 ") + _text(Report.due_on),
            literal("/api/v1/reports/") + _text(Report.id),
            literal(now),
        ).where(Report.status.in_(OPEN), Report.due_on >= today, Report.due_on <= horizon)
        sent += await notify_from(session, reports)
        sent += await _task_notices(
            session,
            now=now,
            kind="task_reminder",
            prefix=f"remind:task:{days}d:",
            title="任务即将到期：",
            window=(today, horizon),
        )
    return sent


async def _task_notices(
    session: AsyncSession, *, now: datetime, kind: str, prefix: str, title: str, window: tuple[date, date]
) -> int:
    """Notices about open tasks due in a window: to the plan's org unit and to each resolved department."""
    where = (Task.kind != TaskKind.area, Task.status != TaskStatus.done, Task.due_date.between(*window))
    key = literal(prefix) + _text(Task.id) + literal(":") + _text(Task.due_date)
    body = literal("完成时限 ") + _text(Task.due_date)
    link = literal("/api/v1/tasks/") + _text(Task.id)
    to_units = (
        select(key, literal(kind), Plan.org_unit_id, NO_ID, NO_ID, literal(title) + Task.code, body, link, literal(now))
        .join(Plan, Plan.id == Task.plan_id)
        .where(*where)
    )
    to_departments = (
        select(
            key + literal(":d") + _text(TaskAssignee.department_id),
            literal(kind),
            NO_ID,
            TaskAssignee.department_id,
            NO_ID,
            literal(title) + Task.code,
            body,
            link,
            literal(now),
        )
        .join(TaskAssignee, TaskAssignee.task_id == Task.id)
        .where(*where, TaskAssignee.department_id.is_not(None))
        .distinct()
    )
    return await notify_from(session, to_units) + await notify_from(session, to_departments)


async def mark_late(session: AsyncSession, now: datetime) -> int:
    """Flag reports past their due date that nobody submitted, notify their units once; notify overdue tasks once."""
    today = local_today(now)
    oldest = today - timedelta(days=get_settings().catch_up_days)
    late = select(
        literal("late:report:") + _text(Report.id),
        literal("report_late"),
        Report.org_unit_id,
        NO_ID,
        NO_ID,
        literal("报告已逾期：") + Report.period + literal(" ") + Report.kind,
        literal("截止日期 ") + _text(Report.due_on),
        literal("/api/v1/reports/") + _text(Report.id),
        literal(now),
    ).where(Report.status.in_(OPEN), Report.due_on < today, Report.late.is_(False))
    sent = await notify_from(session, late)
    await session.execute(
        update(Report).where(Report.status.in_(OPEN), Report.due_on < today, Report.late.is_(False)).values(late=True)
    )
    sent += await _task_notices(
        session,
        now=now,
        kind="task_overdue",
        prefix="overdue:task:",
        title="任务已逾期：",
        window=(oldest, today - timedelta(days=1)),
    )
    return sent


def periods_in_play(today: date) -> list[ReportPeriod]:
    """Periods already open whose due date is at most a month behind: their content and aggregates still move."""
    found = []
    for kind in ReportKind:
        if kind == ReportKind.self_assessment:
            found += [report_period(kind, str(today.year))]
            continue
        found += [
            p
            for p in periods_opening(kind, first=today - timedelta(days=400), last=today)
            if p.due_on >= today - timedelta(days=31)
        ]
    return found


async def assemble_and_aggregate(session: AsyncSession, now: datetime) -> int:
    """Refresh the live content of open reports and the parents' aggregates of the periods in play."""
    today, touched = local_today(now), 0
    for period in periods_in_play(today):
        touched += await assemble(session, kind=period.kind, period=period.code, today=today)
        touched += await aggregate(session, kind=period.kind, period=period.code)
    return touched


async def recompute_indicators(session: AsyncSession, now: datetime) -> int:
    """Nightly: recompute this year's indicators for the subtree of every plan whose unit has no planning ancestor."""
    today = local_today(now)
    plan_unit, upper = aliased(OrgUnit), aliased(OrgUnit)
    above = exists().where(
        Plan.org_unit_id == upper.id, plan_unit.path.startswith(upper.path), upper.id != plan_unit.id
    )
    roots = (
        await session.scalars(
            select(plan_unit.id)
            .join(Plan, Plan.org_unit_id == plan_unit.id)
            .where(Plan.starts_on <= today, Plan.ends_on >= today - timedelta(days=366), ~above)
            .distinct()
        )
    ).all()
    for unit_id in roots:
        await compute_indicators(session, actor=SYSTEM, org_unit_id=unit_id, period=str(today.year))
    return len(roots)


async def queue_deliveries(session: AsyncSession, now: datetime) -> int:
    """Queue recent notifications for their units' webhook and WeChat channels (once per channel)."""
    return await enqueue_deliveries(session, at=now)


def local_hour(at: datetime) -> int:
    """The hour of an instant in the plan time zone."""
    return at.astimezone(ZoneInfo(get_settings().default_timezone)).hour
