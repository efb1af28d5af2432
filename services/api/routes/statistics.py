"""Data elements, data values entered in batches, figures summed over subtrees, and their history."""

from typing import Annotated

from fastapi import APIRouter, Query

from services.common.deps import CurrentUser, SessionDep, StaffUser
from shared.db import StoredId
from shared.pagination import MAX_LIMIT, Page
from shared.statistics import service
from shared.statistics.elements import list_elements
from shared.statistics.schemas import (
    DataElementPublic,
    DataValueBatch,
    DataValuePublic,
    FigureHistory,
    UnitFigure,
    WriteSummary,
)

router = APIRouter(prefix="/api/v1", tags=["statistics"])
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
PeriodQuery = Annotated[str, Query(max_length=10, description="2019, 2019Q1 or 2019-03")]


@router.get("/data-elements", response_model=list[DataElementPublic])
async def list_data_elements(session: SessionDep, actor: StaffUser) -> list[DataElementPublic]:
    """The data elements of the catalogue, with unit, value type, aggregation and period types."""
    return await list_elements(session)


@router.put(
    "/data-values",
    response_model=WriteSummary,
    responses={
        403: {"description": "a value for an org unit outside your scope; nothing was written"},
        422: {"description": "every bad item as {row, field, message}; nothing was written"},
    },
)
async def write_data_values(session: SessionDep, actor: CurrentUser, body: DataValueBatch) -> WriteSummary:
    """Create or update up to 5,000 figures at once: all or nothing."""
    return await service.write_values(session, actor=actor, values=body.values)


@router.get("/data-values", response_model=Page[DataValuePublic])
async def list_data_values(
    session: SessionDep,
    actor: StaffUser,
    element: str | None = None,
    within: Annotated[StoredId | None, Query(description="only this unit's subtree")] = None,
    period: Annotated[str | None, Query(max_length=10, description="2019, 2019Q1 or 2019-03")] = None,
    facility_id: StoredId | None = None,
    limit: Limit = 100,
    cursor: str | None = None,
) -> Page[DataValuePublic]:
    """Stored figures inside the caller's subtree."""
    items, next_cursor = await service.list_values(
        session,
        actor=actor,
        element=element,
        within=within,
        period=period,
        facility_id=facility_id,
        limit=limit,
        cursor=cursor,
    )
    return Page(items=items, next_cursor=next_cursor)


@router.get("/data-values/history", response_model=FigureHistory)
async def read_figure_history(
    session: SessionDep,
    actor: StaffUser,
    element: str,
    period: PeriodQuery,
    org_unit_id: StoredId | None = None,
    facility_id: StoredId | None = None,
) -> FigureHistory:
    """Every change of one figure (a unit's own, or a facility's), newest first."""
    return await service.figure_history(
        session, actor=actor, element=element, period=period, org_unit_id=org_unit_id, facility_id=facility_id
    )


@router.get("/org-units/{unit_id}/data-values/{element}", response_model=UnitFigure)
async def read_unit_figure(
    session: SessionDep, actor: StaffUser, unit_id: StoredId, element: str, period: PeriodQuery
) -> UnitFigure:
    """The figure entered at the unit itself and the sum over its subtree, facilities included."""
    return await service.unit_figure(session, actor=actor, unit_id=unit_id, element=element, period=period)
