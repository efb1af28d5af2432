"""The service catalogue: kept by staff, read by anyone (no login) with ETag and Cache-Control."""

import hashlib
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import BaseModel

from services.common.deps import CurrentUser, IfMatch, SessionDep, StaffUser
from services.common.public_cache import cache_key, page_response, pages
from shared.activities.models import ActivityType
from shared.catalogue import service
from shared.catalogue.schemas import ItemStats, ServiceItemCreate, ServiceItemPublic, ServiceItemUpdate
from shared.concurrency import etag_of
from shared.db import StoredId
from shared.pagination import Page

router = APIRouter(prefix="/api/v1", tags=["catalogue"])
PUBLIC_MAX_LIMIT = 100
PROBLEMS = {
    403: {"description": "your role or org-unit scope does not allow this"},
    404: {"description": "no such item (in your subtree, or in the published catalogue)"},
}


def cached(request: Request, body: BaseModel) -> Response:
    """A public JSON answer with a strong ETag of its bytes; 304 when the client already holds them."""
    content = body.model_dump_json().encode()
    tag = '"' + hashlib.sha256(content).hexdigest()[:32] + '"'
    pages.put(cache_key(request.url.path, request.url.query), content, tag)
    return page_response(content, tag, request.headers.get("if-none-match"))


@router.get(
    "/public/service-items", response_model=Page[ServiceItemPublic], responses={304: {"description": "unchanged"}}
)
async def public_items(
    request: Request,
    session: SessionDep,
    within: Annotated[StoredId | None, Query(description="items of this org unit's subtree")] = None,
    for_unit: Annotated[
        StoredId | None, Query(description="items open to this unit: its own and its ancestors'")
    ] = None,
    category: ActivityType | None = None,
    free: bool | None = None,
    q: Annotated[str | None, Query(max_length=100, description="title contains")] = None,
    limit: Annotated[int, Query(ge=1, le=PUBLIC_MAX_LIMIT)] = 20,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """The published catalogue (no login), ordered by id, at most 100 a page."""
    filters = service.ItemFilters(within=within, for_unit=for_unit, category=category, free=free, q=q)
    rows, next_cursor = await service.list_published(session, filters=filters, limit=limit, cursor=cursor)
    page = Page[ServiceItemPublic](
        items=[ServiceItemPublic.model_validate(row) for row in rows], next_cursor=next_cursor
    )
    return cached(request, page)


@router.get("/public/service-items/{item_id}", response_model=ServiceItemPublic, responses=PROBLEMS)
async def public_item(request: Request, session: SessionDep, item_id: StoredId) -> Response:
    """One published item (no login)."""
    return cached(request, ServiceItemPublic.model_validate(await service.published_item(session, item_id=item_id)))


@router.post(
    "/service-items", response_model=ServiceItemPublic, status_code=status.HTTP_201_CREATED, responses=PROBLEMS
)
async def create_item(
    session: SessionDep, actor: CurrentUser, body: ServiceItemCreate, response: Response
) -> ServiceItemPublic:
    """Add an item to an org unit's catalogue (admins, plan managers, unit clerks of its subtree)."""
    item = await service.create_item(session, actor=actor, data=body)
    pages.clear()
    response.headers["ETag"] = etag_of(item)
    return ServiceItemPublic.model_validate(item)


@router.get("/service-items/{item_id}", response_model=ServiceItemPublic, responses=PROBLEMS)
async def get_item(session: SessionDep, actor: StaffUser, item_id: StoredId, response: Response) -> ServiceItemPublic:
    """One item of the caller's subtree, drafts included."""
    item = await service.staff_item(session, actor=actor, item_id=item_id)
    response.headers["ETag"] = etag_of(item)
    return ServiceItemPublic.model_validate(item)


@router.patch("/service-items/{item_id}", response_model=ServiceItemPublic, responses=PROBLEMS)
async def update_item(
    session: SessionDep,
    actor: CurrentUser,
    item_id: StoredId,
    body: ServiceItemUpdate,
    if_match: IfMatch,
    response: Response,
) -> ServiceItemPublic:
    """Change, publish or withdraw an item (If-Match)."""
    item = await service.update_item(session, actor=actor, item_id=item_id, data=body, if_match=if_match)
    pages.clear()
    response.headers["ETag"] = etag_of(item)
    return ServiceItemPublic.model_validate(item)


@router.get("/service-items/{item_id}/stats", response_model=ItemStats, responses=PROBLEMS)
async def item_stats(session: SessionDep, actor: StaffUser, item_id: StoredId) -> ItemStats:
    """Orders and ratings of an item month by month, so rarely ordered items can be dropped or adjusted."""
    return await service.item_stats(session, actor=actor, item_id=item_id)
