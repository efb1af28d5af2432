"""Reading, opening, editing and moving reports through draft → submitted → returned / accepted."""

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.audit.service import record_change, snapshot
from shared.auth.models import Role
from shared.auth.scope import PLANNERS, STAFF_ROLES, Principal
from shared.clock import now
from shared.concurrency import bump_version, check_if_match
from shared.errors import Conflict, NotFound, ScopeDenied
from shared.orgunits.models import OrgUnit
from shared.orgunits.service import get_org_unit
from shared.pagination import decode_cursor, page_of
from shared.reports.calendar import local_today
from shared.reports.content import assemble
from shared.reports.models import Report, ReportComment, ReportKind, ReportStatus
from shared.reports.periods import report_period
from shared.reports.schemas import CommentPublic, ReportCreate, ReportPublic
from shared.statistics.elements import dialect_insert

SUBMITTERS = (Role.admin, Role.plan_manager, Role.department_reporter, Role.unit_clerk)
EDITABLE = (ReportStatus.draft, ReportStatus.returned)


@dataclass(frozen=True, slots=True)
class ReportFilters:
    """What a client may filter reports by."""

    within: int | None = None
    kind: ReportKind | None = None
    period: str | None = None
    status: ReportStatus | None = None
    due_from: date | None = None
    due_to: date | None = None


def timeliness_of(*, due_on: date, submitted_at: datetime | None, today: date) -> str:
    """on_time / late from the submission time (plan time zone) against the due date; missing once past it."""
    if submitted_at is not None:
        return "on_time" if local_today(submitted_at) <= due_on else "late"
    return "missing" if today > due_on else "pending"


async def get_report(session: AsyncSession, *, actor: Principal, report_id: int) -> tuple[Report, OrgUnit]:
    """A report of a unit inside the caller's subtree, with its unit; 404 otherwise."""
    actor.require_role(STAFF_ROLES)
    row = (
        await session.execute(
            select(Report, OrgUnit).join(OrgUnit, OrgUnit.id == Report.org_unit_id).where(Report.id == report_id)
        )
    ).first()
    if row is None or not actor.covers(row[1].path):
        raise NotFound(f"report {report_id} does not exist")
    return row[0], row[1]


async def report_view(session: AsyncSession, *, report: Report) -> ReportPublic:
    """A report with its comments and timeliness."""
    comments = (
        await session.scalars(
            select(ReportComment).where(ReportComment.report_id == report.id).order_by(ReportComment.id)
        )
    ).all()
    return ReportPublic(
        **report.model_dump(exclude={"created_at", "updated_at", "submitted_by_id"}),
        timeliness=timeliness_of(due_on=report.due_on, submitted_at=report.submitted_at, today=local_today(now())),
        comments=[CommentPublic.model_validate(comment) for comment in comments],
    )


async def list_reports(
    session: AsyncSession, *, actor: Principal, filters: ReportFilters, limit: int, cursor: str | None
) -> tuple[list[Report], str | None]:
    """Reports of units inside the caller's subtree, filtered, ordered by id."""
    actor.require_role(STAFF_ROLES)
    query = select(Report).join(OrgUnit, OrgUnit.id == Report.org_unit_id).order_by(Report.id).limit(limit + 1)
    if actor.scope_path is not None:
        query = query.where(OrgUnit.path.startswith(actor.scope_path))
    if filters.within is not None:
        root = await get_org_unit(session, actor=actor, unit_id=filters.within)
        query = query.where(OrgUnit.path.startswith(root.path))
    if filters.kind is not None:
        query = query.where(Report.kind == filters.kind)
    if filters.period is not None:
        if filters.kind is not None:
            report_period(filters.kind, filters.period)
        query = query.where(Report.period == filters.period.strip())
    if filters.status is not None:
        query = query.where(Report.status == filters.status)
    if filters.due_from is not None:
        query = query.where(Report.due_on >= filters.due_from)
    if filters.due_to is not None:
        query = query.where(Report.due_on <= filters.due_to)
    if (after := decode_cursor(cursor, size=1)) is not None:
        query = query.where(Report.id > after[0])
    rows = list((await session.scalars(query)).all())
    return page_of(rows, limit=limit, key=lambda report: [report.id])


async def create_report(session: AsyncSession, *, actor: Principal, data: ReportCreate) -> Report:
    """Open one report by hand (planners, for a unit of their subtree); 409 when it exists already."""
    actor.require_role(PLANNERS)
    period = report_period(data.kind, data.period)
    unit = await session.get(OrgUnit, data.org_unit_id)
    if unit is None:
        raise NotFound(f"org unit {data.org_unit_id} does not exist")
    actor.require_covers(unit.path)
    at = now()
    statement = dialect_insert(session, Report.__table__).on_conflict_do_nothing(
        index_elements=["org_unit_id", "kind", "period"]
    )
    values = {
        "org_unit_id": unit.id,
        "kind": data.kind.value,
        "period": period.code,
        "opens_on": period.opens_on,
        "due_on": period.due_on,
        "status": ReportStatus.draft.value,
        "text": "",
        "content": {},
        "aggregate": {},
        "late": False,
        "created_at": at,
        "updated_at": at,
        "version": 1,
    }
    if not (await session.execute(statement, [values])).rowcount:
        raise Conflict(f"the {data.kind.value} report of {unit.code} for {period.code} exists already")
    report = await session.scalar(
        select(Report).where(Report.org_unit_id == unit.id, Report.kind == data.kind, Report.period == period.code)
    )
    assert report is not None
    await record_change(
        session, actor=actor, action="create", entity="report", entity_id=report.id, before=None, after=snapshot(report)
    )
    return report


def _require_editable(report: Report, *, doing: str) -> None:
    if report.status not in EDITABLE:
        raise Conflict(f"report {report.id} is {report.status.value}; only a draft or returned report can be {doing}")


async def update_report(
    session: AsyncSession, *, actor: Principal, report_id: int, text: str, if_match: str | None
) -> Report:
    """Change the unit's own text of a draft or returned report (409 once submitted)."""
    actor.require_role(SUBMITTERS)
    report, _unit = await get_report(session, actor=actor, report_id=report_id)
    await check_if_match(session, report, if_match)
    _require_editable(report, doing="edited")
    before = snapshot(report)
    report.text = text
    bump_version(report)
    await session.flush()
    await record_change(
        session,
        actor=actor,
        action="update",
        entity="report",
        entity_id=report.id,
        before=before,
        after=snapshot(report),
    )
    return report


async def _comment(session: AsyncSession, *, actor: Principal, report: Report, action: str, body: str) -> None:
    session.add(
        ReportComment(
            report_id=report.id,
            author_id=actor.user_id,
            author=actor.username,
            action=action,
            body=body,
            created_at=now(),
        )
    )


async def submit_report(session: AsyncSession, *, actor: Principal, report_id: int, comment: str) -> Report:
    """Submit a draft or returned report: its content is assembled from live data and frozen; 409 if submitted."""
    actor.require_role(SUBMITTERS)
    report, _unit = await get_report(session, actor=actor, report_id=report_id)
    _require_editable(report, doing="submitted")
    before = snapshot(report)
    at = now()
    await assemble(session, kind=report.kind, period=report.period, today=local_today(at), report_ids=[report.id])
    await session.refresh(report)
    report.status, report.submitted_at, report.submitted_by_id = ReportStatus.submitted, at, actor.user_id
    report.late = local_today(at) > report.due_on
    bump_version(report)
    await _comment(session, actor=actor, report=report, action="submit", body=comment)
    await session.flush()
    await record_change(
        session,
        actor=actor,
        action="submit",
        entity="report",
        entity_id=report.id,
        before=before,
        after=snapshot(report),
    )
    return report


async def decide_report(
    session: AsyncSession, *, actor: Principal, report_id: int, accept: bool, comment: str
) -> Report:
    """Return or accept a submitted report (planners covering the level above the report's unit)."""
    actor.require_role(PLANNERS)
    report, unit = await get_report(session, actor=actor, report_id=report_id)
    parent_path = unit.path.rstrip("/").rsplit("/", 1)[0] + "/"
    if actor.scope_path is not None and (unit.parent_id is None or not actor.covers(parent_path)):
        raise ScopeDenied("only the level above the reporting unit may return or accept its report")
    if report.status != ReportStatus.submitted:
        raise Conflict(f"report {report.id} is {report.status.value}; only a submitted report can be decided")
    before = snapshot(report)
    report.status = ReportStatus.accepted if accept else ReportStatus.returned
    report.decided_at = now()
    bump_version(report)
    await _comment(session, actor=actor, report=report, action="accept" if accept else "return", body=comment)
    await session.flush()
    await record_change(
        session,
        actor=actor,
        action=report.status.value,
        entity="report",
        entity_id=report.id,
        before=before,
        after=snapshot(report),
    )
    return report
