"""Reports of the reporting calendar: list, read, open, edit, submit, return, accept, export; timeliness; calendar."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from services.common.deps import CurrentUser, IfMatch, SessionDep, StaffUser
from shared.db import StoredId
from shared.filenames import content_disposition
from shared.pagination import MAX_LIMIT, Page
from shared.reports import export, service, timeliness
from shared.reports.models import ReportKind, ReportStatus
from shared.reports.schemas import DueItem, ReportAction, ReportCreate, ReportPublic, ReportUpdate, Timeliness

router = APIRouter(prefix="/api/v1", tags=["reports"])
PROBLEMS = {
    403: {"description": "your role or org-unit scope does not allow this"},
    404: {"description": "no such report or org unit in your org-unit subtree"},
    409: {"description": "the report is not in a state that allows this (submitted twice, edited once submitted)"},
}


async def _answer(session: SessionDep, report: object, response: Response) -> ReportPublic:
    view = await service.report_view(session, report=report)  # type: ignore[arg-type]
    response.headers["ETag"] = f'"{view.version}"'
    return view


@router.get("/reports", response_model=Page[ReportPublic], responses=PROBLEMS)
async def list_reports(
    session: SessionDep,
    actor: StaffUser,
    within: Annotated[StoredId | None, Query(description="only this org unit's subtree")] = None,
    kind: ReportKind | None = None,
    period: Annotated[str | None, Query(max_length=10)] = None,
    report_status: Annotated[ReportStatus | None, Query(alias="status")] = None,
    due_from: date | None = None,
    due_to: date | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    cursor: str | None = None,
) -> Page[ReportPublic]:
    """Reports of units in the caller's subtree, filtered by subtree, kind, period, status and due range."""
    filters = service.ReportFilters(
        within=within, kind=kind, period=period, status=report_status, due_from=due_from, due_to=due_to
    )
    rows, next_cursor = await service.list_reports(session, actor=actor, filters=filters, limit=limit, cursor=cursor)
    return Page(items=[await service.report_view(session, report=row) for row in rows], next_cursor=next_cursor)


@router.post("/reports", response_model=ReportPublic, status_code=status.HTTP_201_CREATED, responses=PROBLEMS)
async def create_report(
    session: SessionDep, actor: CurrentUser, body: ReportCreate, response: Response
) -> ReportPublic:
    """Open a report by hand (a self-assessment, or ahead of the calendar); 409 when it exists."""
    return await _answer(session, await service.create_report(session, actor=actor, data=body), response)


@router.get("/reports/{report_id}", response_model=ReportPublic, responses=PROBLEMS)
async def get_report(session: SessionDep, actor: StaffUser, report_id: StoredId, response: Response) -> ReportPublic:
    """One report with its content, aggregate of the children, comments and timeliness."""
    report, _unit = await service.get_report(session, actor=actor, report_id=report_id)
    return await _answer(session, report, response)


@router.patch("/reports/{report_id}", response_model=ReportPublic, responses=PROBLEMS)
async def update_report(
    session: SessionDep,
    actor: CurrentUser,
    report_id: StoredId,
    body: ReportUpdate,
    if_match: IfMatch,
    response: Response,
) -> ReportPublic:
    """Change the unit's own text (draft or returned only; If-Match required)."""
    report = await service.update_report(session, actor=actor, report_id=report_id, text=body.text, if_match=if_match)
    return await _answer(session, report, response)


@router.post("/reports/{report_id}/submit", response_model=ReportPublic, responses=PROBLEMS)
async def submit_report(
    session: SessionDep, actor: CurrentUser, report_id: StoredId, response: Response, body: ReportAction | None = None
) -> ReportPublic:
    """Submit to the level above; the content is assembled from live data at this moment."""
    comment = body.comment if body else ""
    report = await service.submit_report(session, actor=actor, report_id=report_id, comment=comment)
    return await _answer(session, report, response)


@router.post("/reports/{report_id}/return", response_model=ReportPublic, responses=PROBLEMS)
async def return_report(
    session: SessionDep, actor: CurrentUser, report_id: StoredId, response: Response, body: ReportAction | None = None
) -> ReportPublic:
    """Send a submitted report back to its unit with a comment."""
    comment = body.comment if body else ""
    report = await service.decide_report(session, actor=actor, report_id=report_id, accept=False, comment=comment)
    return await _answer(session, report, response)


@router.post("/reports/{report_id}/accept", response_model=ReportPublic, responses=PROBLEMS)
async def accept_report(
    session: SessionDep, actor: CurrentUser, report_id: StoredId, response: Response, body: ReportAction | None = None
) -> ReportPublic:
    """Accept a submitted report."""
    comment = body.comment if body else ""
    report = await service.decide_report(session, actor=actor, report_id=report_id, accept=True, comment=comment)
    return await _answer(session, report, response)


@router.get(
    "/reports/{report_id}/export", responses={**PROBLEMS, 200: {"content": {export.XLSX: {}, "application/pdf": {}}}}
)
async def export_report(
    session: SessionDep,
    actor: StaffUser,
    report_id: StoredId,
    export_format: Annotated[str, Query(alias="format", pattern="^(xlsx|pdf)$")] = "xlsx",
) -> Response:
    """The report as xlsx (a self-assessment: the 主要指标一览表) or as PDF (Chinese text, charts)."""
    content, media_type, name = await export.export_report(session, actor=actor, report_id=report_id, fmt=export_format)
    return Response(content, media_type=media_type, headers={"Content-Disposition": content_disposition(name)})


@router.get("/org-units/{unit_id}/reports/timeliness", response_model=Timeliness, responses=PROBLEMS)
async def report_timeliness(
    session: SessionDep,
    actor: StaffUser,
    unit_id: StoredId,
    kind: ReportKind,
    period: Annotated[str, Query(max_length=10)],
) -> Timeliness:
    """Who in the subtree reported on time, late, or not at all (expected: units open during the period)."""
    return await timeliness.timeliness(session, actor=actor, unit_id=unit_id, kind=kind, period=period)


@router.get("/org-units/{unit_id}/calendar", response_model=list[DueItem], responses=PROBLEMS)
async def unit_calendar(
    session: SessionDep, actor: StaffUser, unit_id: StoredId, days: Annotated[int, Query(ge=1, le=366)] = 60
) -> list[DueItem]:
    """What the unit has to deliver next: open reports, reports about to open, tasks due."""
    return await timeliness.due_next(session, actor=actor, unit_id=unit_id, days=days)
