"""你点我送: orders from residents and communities, the provider's steps, proposals and their public tally."""

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from services.common.deps import CurrentUser, SessionDep
from shared.concurrency import etag_of
from shared.db import StoredId
from shared.feedback.models import TargetKind
from shared.feedback.schemas import RatingCreate, RatingPublic
from shared.feedback.service import rate
from shared.orders import service
from shared.orders.models import OrderStatus
from shared.orders.schemas import (
    Delivery,
    OrderCreate,
    OrderPublic,
    OrderRating,
    ProposalCreate,
    ProposalPublic,
    Rejection,
    Scheduling,
    Vote,
)
from shared.pagination import MAX_LIMIT, Page

router = APIRouter(prefix="/api/v1", tags=["orders"])
PROBLEMS = {
    403: {"description": "your role or org-unit scope does not allow this"},
    404: {"description": "no such order among yours (or your subtree's)"},
    409: {"description": "the order is in another state, or the item's month is fully booked"},
}


def _answer(order: object, response: Response) -> OrderPublic:
    response.headers["ETag"] = etag_of(order)  # type: ignore[arg-type]
    return OrderPublic.model_validate(order)


@router.post("/orders", response_model=OrderPublic, status_code=status.HTTP_201_CREATED, responses=PROBLEMS)
async def place_order(session: SessionDep, actor: CurrentUser, body: OrderCreate, response: Response) -> OrderPublic:
    """Order a published item (menu) or ask for something (custom) for an org unit; residents and clerks."""
    return _answer(await service.place_order(session, actor=actor, data=body), response)


@router.get("/orders", response_model=Page[OrderPublic], responses=PROBLEMS)
async def list_orders(
    session: SessionDep,
    actor: CurrentUser,
    order_status: Annotated[OrderStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[OrderPublic]:
    """A resident's own orders; staff: the orders their subtree receives or provides."""
    rows, next_cursor = await service.list_orders(session, actor=actor, status=order_status, limit=limit, cursor=cursor)
    return Page(items=[OrderPublic.model_validate(row) for row in rows], next_cursor=next_cursor)


@router.get("/orders/{order_id}", response_model=OrderPublic, responses=PROBLEMS)
async def get_order(session: SessionDep, actor: CurrentUser, order_id: StoredId, response: Response) -> OrderPublic:
    """One order."""
    return _answer(await service.get_order(session, actor=actor, order_id=order_id), response)


@router.post("/orders/{order_id}/accept", response_model=OrderPublic, responses=PROBLEMS)
async def accept(session: SessionDep, actor: CurrentUser, order_id: StoredId, response: Response) -> OrderPublic:
    """The provider accepts."""
    return _answer(await service.accept_order(session, actor=actor, order_id=order_id), response)


@router.post("/orders/{order_id}/reject", response_model=OrderPublic, responses=PROBLEMS)
async def reject(
    session: SessionDep, actor: CurrentUser, order_id: StoredId, body: Rejection, response: Response
) -> OrderPublic:
    """The provider refuses with a reason."""
    return _answer(await service.reject_order(session, actor=actor, order_id=order_id, reason=body.reason), response)


@router.post("/orders/{order_id}/schedule", response_model=OrderPublic, responses=PROBLEMS)
async def schedule(
    session: SessionDep, actor: CurrentUser, order_id: StoredId, body: Scheduling, response: Response
) -> OrderPublic:
    """The provider fixes the time."""
    return _answer(await service.schedule_order(session, actor=actor, order_id=order_id, data=body), response)


@router.post("/orders/{order_id}/deliver", response_model=OrderPublic, responses=PROBLEMS)
async def deliver(
    session: SessionDep, actor: CurrentUser, order_id: StoredId, body: Delivery, response: Response
) -> OrderPublic:
    """The provider records the delivery; it becomes an activity of the receiving unit."""
    return _answer(await service.deliver_order(session, actor=actor, order_id=order_id, data=body), response)


@router.post("/orders/{order_id}/cancel", response_model=OrderPublic, responses=PROBLEMS)
async def cancel(session: SessionDep, actor: CurrentUser, order_id: StoredId, response: Response) -> OrderPublic:
    """The orderer withdraws an order not yet scheduled."""
    return _answer(await service.cancel_order(session, actor=actor, order_id=order_id), response)


@router.post(
    "/orders/{order_id}/rating", response_model=RatingPublic, status_code=status.HTTP_201_CREATED, responses=PROBLEMS
)
async def rate_order(session: SessionDep, actor: CurrentUser, order_id: StoredId, body: OrderRating) -> RatingPublic:
    """The orderer rates a delivered order (once)."""
    data = RatingCreate(target_kind=TargetKind.order, target_id=order_id, score=body.score, comment=body.comment)
    return RatingPublic.model_validate(await rate(session, actor=actor, data=data))


@router.post("/proposals", response_model=ProposalPublic, status_code=status.HTTP_201_CREATED, responses=PROBLEMS)
async def create_proposal(session: SessionDep, actor: CurrentUser, body: ProposalCreate) -> ProposalPublic:
    """Put a programme to the residents' vote before buying it."""
    proposal = await service.create_proposal(session, actor=actor, data=body)
    assert proposal.id is not None
    return await service.proposal_tally(session, proposal_id=proposal.id)


@router.post(
    "/proposals/{proposal_id}/votes",
    response_model=ProposalPublic,
    status_code=status.HTTP_201_CREATED,
    responses=PROBLEMS,
)
async def vote(session: SessionDep, actor: CurrentUser, proposal_id: StoredId, body: Vote) -> ProposalPublic:
    """A resident votes once; answers the new tally."""
    return await service.cast_vote(session, actor=actor, proposal_id=proposal_id, in_favour=body.in_favour)


@router.get("/public/proposals", response_model=Page[ProposalPublic])
async def open_proposals(
    session: SessionDep,
    for_unit: Annotated[StoredId | None, Query(description="proposals of this unit and its ancestors")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[ProposalPublic]:
    """Open proposals and their tallies (no login)."""
    items, next_cursor = await service.list_proposals(session, for_unit=for_unit, limit=limit, cursor=cursor)
    return Page(items=items, next_cursor=next_cursor)


@router.get("/public/proposals/{proposal_id}", response_model=ProposalPublic, responses=PROBLEMS)
async def tally(session: SessionDep, proposal_id: StoredId) -> ProposalPublic:
    """A proposal and its tally (no login; counts only)."""
    return await service.proposal_tally(session, proposal_id=proposal_id)
