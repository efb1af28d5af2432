"""Activities: screenings, performances, trainings, reading events … recorded one at a time or in batches."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from services.common.deps import CurrentUser, SessionDep, StaffUser
from shared.activities import service
from shared.activities.models import ActivityType, Provider
from shared.activities.schemas import ActivityBatch, ActivityCreate, ActivityPublic, ActivitySummary, BatchCreated
from shared.concurrency import etag_of
from shared.db import StoredId
from shared.pagination import MAX_LIMIT, Page

router = APIRouter(prefix="/api/v1", tags=["activities"])
PROBLEMS = {
    403: {"description": "your role or org-unit scope does not allow this"},
    404: {"description": "no such activity or org unit in your org-unit subtree"},
}


@router.post("/activities", response_model=ActivityPublic, status_code=status.HTTP_201_CREATED, responses=PROBLEMS)
async def create_activity(
    session: SessionDep, actor: CurrentUser, body: ActivityCreate, response: Response
) -> ActivityPublic:
    """Record an activity (admins, plan managers, unit clerks; at a unit of their subtree)."""
    activity = await service.create_activity(session, actor=actor, data=body)
    response.headers["ETag"] = etag_of(activity)
    return ActivityPublic.model_validate(activity)


@router.post(
    "/activities/batch",
    response_model=BatchCreated,
    status_code=status.HTTP_201_CREATED,
    responses={
        403: {"description": "an item at an org unit outside your scope; every problem listed, nothing written"},
        422: {"description": "every bad item as {row, field, message} (row: its index); nothing was written"},
    },
)
async def create_activity_batch(session: SessionDep, actor: CurrentUser, body: ActivityBatch) -> BatchCreated:
    """Record up to 5,000 activities at once: all or nothing."""
    return await service.create_batch(session, actor=actor, items=body.activities)


@router.get("/activities", response_model=Page[ActivityPublic], responses=PROBLEMS)
async def list_activities(
    session: SessionDep,
    actor: StaffUser,
    activity_type: Annotated[ActivityType | None, Query(alias="type")] = None,
    provider: Provider | None = None,
    within: Annotated[StoredId | None, Query(description="only this org unit's subtree")] = None,
    facility_id: StoredId | None = None,
    from_date: Annotated[date | None, Query(alias="from", description="on or after this day")] = None,
    to_date: Annotated[date | None, Query(alias="to", description="on or before this day")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    cursor: str | None = None,
) -> Page[ActivityPublic]:
    """Activities in the caller's subtree, filtered, ordered by id."""
    filters = service.ActivityFilters(
        type=activity_type,
        provider=provider,
        within=within,
        facility_id=facility_id,
        from_date=from_date,
        to_date=to_date,
    )
    rows, next_cursor = await service.list_activities(session, actor=actor, filters=filters, limit=limit, cursor=cursor)
    return Page(items=[ActivityPublic.model_validate(row) for row in rows], next_cursor=next_cursor)


@router.get("/activities/{activity_id}", response_model=ActivityPublic, responses=PROBLEMS)
async def get_activity(
    session: SessionDep, actor: StaffUser, activity_id: StoredId, response: Response
) -> ActivityPublic:
    """One activity."""
    activity = await service.get_activity(session, actor=actor, activity_id=activity_id)
    response.headers["ETag"] = etag_of(activity)
    return ActivityPublic.model_validate(activity)


@router.delete("/activities/{activity_id}", status_code=status.HTTP_204_NO_CONTENT, responses=PROBLEMS)
async def delete_activity(session: SessionDep, actor: CurrentUser, activity_id: StoredId) -> None:
    """Remove an activity recorded by mistake (audited)."""
    await service.delete_activity(session, actor=actor, activity_id=activity_id)


@router.get("/org-units/{unit_id}/activities/summary", response_model=ActivitySummary, responses=PROBLEMS)
async def activity_summary(
    session: SessionDep,
    actor: StaffUser,
    unit_id: StoredId,
    period: Annotated[str, Query(max_length=10, description="2019, 2019Q1 or 2019-03")],
) -> ActivitySummary:
    """Activities in a unit's subtree over a period: counts, attendance and new domestic films, by type and month."""
    return await service.activity_summary(session, actor=actor, unit_id=unit_id, period=period)
