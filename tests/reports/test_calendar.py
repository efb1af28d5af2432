"""The calendar's jobs with an injected clock: opening, reminding once, late on the 21st, aggregation, timeliness."""

from datetime import UTC, date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.activities.models import Activity, ActivityType
from shared.auth.scope import SYSTEM
from shared.notifications.models import Notification
from shared.orgunits.models import OrgUnitKind
from shared.reports import calendar
from shared.reports.models import Report, ReportKind, ReportStatus
from shared.reports.service import submit_report
from shared.reports.timeliness import timeliness
from tests.support.factories import make_plan, make_tree, make_unit


def shanghai(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    """An instant given as Asia/Shanghai wall time (UTC+8)."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC).replace(hour=hour) - (
        datetime(2000, 1, 1, 8, tzinfo=UTC) - datetime(2000, 1, 1, tzinfo=UTC)
    )


async def _count(session: AsyncSession, model: type, *where: object) -> int:
    return await session.scalar(select(func.count()).select_from(model).where(*where)) or 0


async def test_opening_twice_makes_each_report_once_and_skips_closed_units(session: AsyncSession) -> None:
    tree = await make_tree(session)
    await make_plan(session, unit=tree.district, starts_on=date(2026, 1, 1), ends_on=date(2027, 12, 31))
    await make_unit(
        session,
        code="410105002009",
        name="已撤并村",
        kind=OrgUnitKind.village,
        parent=tree.street_b,
        closed_on=date(2026, 2, 28),
    )
    at = shanghai(2026, 3, 1)
    await calendar.open_reports(session, at)
    await calendar.open_reports(session, at)
    monthly = (
        await session.scalars(
            select(Report).where(Report.kind == ReportKind.monthly_update, Report.period == "2026-03")
        )
    ).all()
    # district, two streets, two communities, one village: the village closed in February is not expected.
    assert len(monthly) == 6
    assert {report.due_on for report in monthly} == {date(2026, 3, 20)}
    # It was open during part of the first quarter, so its quarterly report is expected.
    assert await _count(session, Report, Report.kind == ReportKind.quarterly, Report.period == "2026Q1") == 7


async def test_a_reminder_goes_out_once_and_a_report_due_on_the_20th_is_late_on_the_21st(
    session: AsyncSession,
) -> None:
    tree = await make_tree(session)
    await make_plan(session, unit=tree.street_a, starts_on=date(2026, 1, 1), ends_on=date(2026, 12, 31))
    await calendar.open_reports(session, shanghai(2026, 3, 1))
    for day in range(10, 21):  # daily ticks, ten days before both due dates
        await calendar.remind(session, shanghai(2026, 3, day))
    reminders = await _count(
        session, Notification, Notification.kind == "report_reminder", Notification.key.like("%:3d")
    )
    assert reminders == 3 * 2  # street and two communities, monthly (3/20) and quarterly (3/15), once each
    await calendar.mark_late(session, shanghai(2026, 3, 20, 23, 59))
    assert await _count(session, Report, Report.late.is_(True), Report.period == "2026-03") == 0
    await calendar.mark_late(session, shanghai(2026, 3, 21, 0, 1))
    await calendar.mark_late(session, shanghai(2026, 3, 22))
    assert await _count(session, Report, Report.late.is_(True), Report.period == "2026-03") == 3
    assert (
        await _count(session, Notification, Notification.kind == "report_late", Notification.title.like("%2026-03%"))
        == 3
    )


async def test_a_parents_aggregate_is_the_sum_of_its_childrens_submitted_figures(session: AsyncSession) -> None:
    tree = await make_tree(session)
    await make_plan(session, unit=tree.street_a, starts_on=date(2026, 1, 1), ends_on=date(2026, 12, 31))
    for unit, count in ((tree.community_a1, 3), (tree.community_a2, 2)):
        session.add_all(
            [
                Activity(
                    type=ActivityType.lecture,
                    org_unit_id=unit.id,
                    occurred_on=date(2026, 3, 5),
                    attendance=10 * (n + 1),
                )
                for n in range(count)
            ]
        )
    await session.flush()
    await calendar.open_reports(session, shanghai(2026, 3, 1))
    children = (
        await session.scalars(
            select(Report).where(
                Report.period == "2026-03", Report.org_unit_id.in_([tree.community_a1.id, tree.community_a2.id])
            )
        )
    ).all()
    for child in children:
        await submit_report(session, actor=SYSTEM, report_id=child.id, comment="")
    await calendar.assemble_and_aggregate(session, shanghai(2026, 3, 25))
    parent = await session.scalar(
        select(Report).where(Report.period == "2026-03", Report.org_unit_id == tree.street_a.id)
    )
    assert parent is not None
    await session.refresh(parent)
    figures = parent.aggregate["figures"]["activities"]
    assert figures["count"] == sum(child.content["activities"]["count"] for child in children) == 5
    assert figures["attendance"] == sum(child.content["activities"]["attendance"] for child in children) == 90
    assert parent.aggregate["expected"] == 2 and parent.aggregate["missing"] == []


async def test_timeliness_counts_on_time_late_and_missing_and_never_exceeds_one_hundred_percent(
    session: AsyncSession, monkeypatch: object
) -> None:
    tree = await make_tree(session)
    await make_plan(session, unit=tree.street_a, starts_on=date(2026, 1, 1), ends_on=date(2026, 12, 31))
    closed = await make_unit(
        session,
        code="410105001009",
        name="撤并社区",
        kind=OrgUnitKind.community,
        parent=tree.street_a,
        closed_on=date(2026, 1, 31),
    )
    await calendar.open_reports(session, shanghai(2026, 3, 1))
    reports = {r.org_unit_id: r for r in (await session.scalars(select(Report).where(Report.period == "2026-03")))}
    assert closed.id not in reports
    on_time, late = reports[tree.community_a1.id], reports[tree.community_a2.id]
    on_time.submitted_at, on_time.status = shanghai(2026, 3, 20, 23, 59), ReportStatus.submitted
    late.submitted_at, late.status = shanghai(2026, 3, 21, 0, 30), ReportStatus.submitted
    await session.flush()
    figures = await timeliness(
        session, actor=SYSTEM, unit_id=tree.street_a.id, kind=ReportKind.monthly_update, period="2026-03"
    )
    assert (figures.expected, figures.on_time, figures.late, figures.missing) == (3, 1, 1, 1)
    assert figures.reporting_rate == round(2 / 3, 4)


async def test_a_task_reminder_reaches_the_plans_unit_and_the_assigned_department_once(session: AsyncSession) -> None:
    from shared.tasks.models import Task, TaskAssignee, TaskKind
    from tests.support.factories import make_department

    tree = await make_tree(session)
    plan = await make_plan(session, unit=tree.street_a, starts_on=date(2026, 1, 1), ends_on=date(2026, 12, 31))
    department = await make_department(session, unit=tree.street_a, name="宣传办")
    task = Task(
        plan_id=plan.id, kind=TaskKind.work_task, code="3", title="建立信息报送制度", due_date=date(2026, 5, 31)
    )
    session.add(task)
    await session.flush()
    session.add(TaskAssignee(task_id=task.id, name="宣传办", is_lead=True, department_id=department.id))
    await session.flush()
    for day in (27, 28, 29, 30, 31):
        await calendar.remind(session, shanghai(2026, 5, day))
    notices = (await session.scalars(select(Notification).where(Notification.kind == "task_reminder"))).all()
    assert {(n.org_unit_id, n.department_id) for n in notices} == {(tree.street_a.id, None), (None, department.id)}
    assert len(notices) == 2
    await calendar.mark_late(session, shanghai(2026, 6, 1))
    await calendar.mark_late(session, shanghai(2026, 6, 2))
    assert await _count(session, Notification, Notification.kind == "task_overdue") == 2


async def test_content_lists_overdue_tasks_with_their_explanation_and_only_the_changes_since_the_last_report(
    session: AsyncSession,
) -> None:
    from shared.reports.content import assemble
    from shared.tasks.models import ProgressUpdate, Task, TaskKind, TaskStatus

    tree = await make_tree(session)
    plan = await make_plan(session, unit=tree.street_a, starts_on=date(2026, 1, 1), ends_on=date(2026, 12, 31))
    task = Task(
        plan_id=plan.id,
        kind=TaskKind.work_task,
        code="7",
        title="建设城市书房",
        due_date=date(2026, 2, 28),
        status=TaskStatus.in_progress,
        percent_complete=40,
    )
    session.add(task)
    await session.flush()
    for day, note, reason in ((10, "完成选址", ""), (25, "施工延期", "资金未到位")):
        session.add(
            ProgressUpdate(
                task_id=task.id,
                note=note,
                percent_complete=40,
                status=TaskStatus.in_progress,
                delay_reason=reason,
                created_at=shanghai(2026, 3, day),
            )
        )
    await calendar.open_reports(session, shanghai(2026, 3, 1))
    await calendar.open_reports(session, shanghai(2026, 4, 1))
    march = await session.scalar(
        select(Report).where(Report.org_unit_id == tree.street_a.id, Report.period == "2026-03")
    )
    assert march is not None
    march.status, march.submitted_at = ReportStatus.submitted, shanghai(2026, 3, 18)
    await session.flush()
    await assemble(session, kind=ReportKind.monthly_update, period="2026-04", today=date(2026, 4, 5))
    april = await session.scalar(
        select(Report).where(Report.org_unit_id == tree.street_a.id, Report.period == "2026-04")
    )
    assert april is not None
    await session.refresh(april)
    assert [item["delay_reason"] for item in april.content["overdue_tasks"]] == ["资金未到位"]
    assert [item["note"] for item in april.content["changes"]] == ["施工延期"]  # 3/10 came before the March report
