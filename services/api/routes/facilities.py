"""The facility registry: facilities, their construction steps, exports and construction progress."""

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from services.common.deps import CurrentUser, IfMatch, SessionDep, StaffUser
from shared.concurrency import etag_of
from shared.db import StoredId
from shared.facilities import service
from shared.facilities.export import MEDIA_TYPES, ExportFormat, export_facilities
from shared.facilities.models import FacilityStatus, FacilityType
from shared.facilities.schemas import (
    ConstructionSummary,
    FacilityCreate,
    FacilityFilters,
    FacilityPublic,
    FacilityUpdate,
    StatusChange,
)
from shared.filenames import content_disposition
from shared.pagination import MAX_LIMIT, Page

router = APIRouter(prefix="/api/v1", tags=["facilities"])
PROBLEMS = {
    403: {"description": "your role or org-unit scope does not allow this"},
    404: {"description": "no such facility in your org-unit subtree"},
}


@router.get("/facilities", response_model=Page[FacilityPublic], responses=PROBLEMS)
async def list_facilities(
    session: SessionDep,
    actor: StaffUser,
    facility_type: Annotated[FacilityType | None, Query(alias="type")] = None,
    status: FacilityStatus | None = None,
    within: Annotated[StoredId | None, Query(description="only this org unit's subtree")] = None,
    q: Annotated[str | None, Query(max_length=200, description="name contains, or the exact code")] = None,
    overdue: Annotated[bool | None, Query(description="past due_on and still planned or building")] = None,
    pilot: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    cursor: str | None = None,
) -> Page[FacilityPublic]:
    """Facilities in the caller's subtree, filtered (e.g. every grassroots centre past its deadline)."""
    filters = FacilityFilters(type=facility_type, status=status, within=within, q=q, overdue=overdue, pilot=pilot)
    rows, next_cursor, today = await service.list_facilities(
        session, actor=actor, filters=filters, limit=limit, cursor=cursor
    )
    return Page(items=[service.facility_view(row, today=today) for row in rows], next_cursor=next_cursor)


@router.post("/facilities", response_model=FacilityPublic, status_code=status.HTTP_201_CREATED, responses=PROBLEMS)
async def create_facility(
    session: SessionDep, actor: CurrentUser, body: FacilityCreate, response: Response
) -> FacilityPublic:
    """Register a facility (admins, plan managers, unit clerks; at a unit of their subtree)."""
    facility, unit = await service.create_facility(session, actor=actor, data=body)
    response.headers["ETag"] = etag_of(facility)
    return service.facility_view(facility, unit=unit)


@router.get(
    "/facilities/export",
    responses={200: {"content": {media: {} for media in MEDIA_TYPES.values()}, "description": "the file"}} | PROBLEMS,
    response_class=Response,
)
async def export_facility_file(
    session: SessionDep,
    actor: StaffUser,
    within: Annotated[StoredId | None, Query(description="this org unit's subtree (default: your whole scope)")] = None,
    facility_type: Annotated[FacilityType | None, Query(alias="type")] = None,
    file_format: Annotated[ExportFormat, Query(alias="format")] = ExportFormat.xlsx,
) -> Response:
    """The facilities of a subtree in the interchange columns (csv or xlsx), ready to edit and import again."""
    content, filename = await export_facilities(
        session, actor=actor, within=within, facility_type=facility_type, file_format=file_format
    )
    return Response(
        content=content,
        media_type=MEDIA_TYPES[file_format],
        headers={"Content-Disposition": content_disposition(filename)},
    )


@router.get("/facilities/{facility_id}", response_model=FacilityPublic, responses=PROBLEMS)
async def get_facility(
    session: SessionDep, actor: StaffUser, facility_id: StoredId, response: Response
) -> FacilityPublic:
    """One facility with its ETag; a grassroots centre carries its check against the construction standard."""
    facility, unit = await service.get_facility(session, actor=actor, facility_id=facility_id)
    response.headers["ETag"] = etag_of(facility)
    return service.facility_view(facility, unit=unit)


@router.patch("/facilities/{facility_id}", response_model=FacilityPublic, responses=PROBLEMS)
async def update_facility(
    session: SessionDep,
    actor: CurrentUser,
    facility_id: StoredId,
    body: FacilityUpdate,
    response: Response,
    if_match: IfMatch = None,
) -> FacilityPublic:
    """Change a facility's attributes; needs If-Match (412 when someone changed it since you read it)."""
    facility, unit = await service.update_facility(
        session, actor=actor, facility_id=facility_id, data=body, if_match=if_match
    )
    response.headers["ETag"] = etag_of(facility)
    return service.facility_view(facility, unit=unit)


@router.delete("/facilities/{facility_id}", status_code=status.HTTP_204_NO_CONTENT, responses=PROBLEMS)
async def delete_facility(session: SessionDep, actor: CurrentUser, facility_id: StoredId) -> None:
    """Remove a facility registered by mistake (409 when statistics or activities refer to it)."""
    await service.delete_facility(session, actor=actor, facility_id=facility_id)


@router.post(
    "/facilities/{facility_id}/status",
    response_model=FacilityPublic,
    responses=PROBLEMS
    | {
        409: {"description": "not a step from the current status (planned → building → open → closed)"},
        422: {"description": "a grassroots centre cannot open without the measured values the standard checks"},
    },
)
async def change_facility_status(
    session: SessionDep,
    actor: CurrentUser,
    facility_id: StoredId,
    body: StatusChange,
    response: Response,
    if_match: IfMatch = None,
) -> FacilityPublic:
    """Move a facility one step; an opened grassroots centre returns standard_check with any shortfalls."""
    facility, unit = await service.change_status(
        session, actor=actor, facility_id=facility_id, data=body, if_match=if_match
    )
    response.headers["ETag"] = etag_of(facility)
    return service.facility_view(facility, unit=unit)


@router.get("/org-units/{unit_id}/construction", response_model=ConstructionSummary, responses=PROBLEMS)
async def construction_progress(
    session: SessionDep,
    actor: StaffUser,
    unit_id: StoredId,
    facility_type: Annotated[FacilityType, Query(alias="type")] = FacilityType.grassroots_centre,
) -> ConstructionSummary:
    """Construction progress in a unit's subtree: counts by status and level, and everything past its deadline."""
    return await service.construction_summary(session, actor=actor, unit_id=unit_id, facility_type=facility_type)
