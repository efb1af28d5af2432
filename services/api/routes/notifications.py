"""The inbox, delivery channels (webhook, WeChat) and the delivery log."""

from typing import Annotated

from fastapi import APIRouter, Query, status

from services.common.deps import CurrentUser, SessionDep, StaffUser
from shared.db import StoredId
from shared.notifications import service
from shared.notifications.models import DeliveryStatus
from shared.notifications.schemas import ChannelCreate, ChannelPublic, DeliveryPublic, NotificationPublic
from shared.pagination import MAX_LIMIT, Page

router = APIRouter(prefix="/api/v1", tags=["notifications"])
PROBLEMS = {
    403: {"description": "your role or org-unit scope does not allow this"},
    404: {"description": "no such notification or org unit for you"},
}


@router.get("/notifications", response_model=Page[NotificationPublic], responses=PROBLEMS)
async def inbox(
    session: SessionDep,
    actor: StaffUser,
    unread: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: str | None = None,
) -> Page[NotificationPublic]:
    """Your inbox: notifications to you, your department and your org unit, newest first."""
    rows, next_cursor = await service.inbox(session, actor=actor, unread=unread, limit=limit, cursor=cursor)
    items = [NotificationPublic.model_validate(row).model_copy(update={"read": read}) for row, read in rows]
    return Page(items=items, next_cursor=next_cursor)


@router.post("/notifications/{notification_id}/read", status_code=status.HTTP_204_NO_CONTENT, responses=PROBLEMS)
async def mark_read(session: SessionDep, actor: CurrentUser, notification_id: StoredId) -> None:
    """Mark a notification read (for you only)."""
    await service.mark_read(session, actor=actor, notification_id=notification_id)


@router.post(
    "/notification-channels",
    response_model=ChannelPublic,
    status_code=status.HTTP_201_CREATED,
    responses={**PROBLEMS, 422: {"description": "a webhook URL that is not http(s), a WeChat channel without openid"}},
)
async def create_channel(session: SessionDep, actor: CurrentUser, body: ChannelCreate) -> ChannelPublic:
    """Also send a unit's notifications to a webhook or a WeChat user (planners)."""
    return ChannelPublic.model_validate(await service.create_channel(session, actor=actor, data=body))


@router.get("/notification-deliveries", response_model=list[DeliveryPublic], responses=PROBLEMS)
async def deliveries(
    session: SessionDep,
    actor: StaffUser,
    delivery_status: Annotated[DeliveryStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
) -> list[DeliveryPublic]:
    """Outbound deliveries of your subtree's channels and how they went (planners)."""
    rows = await service.list_deliveries(session, actor=actor, status=delivery_status, limit=limit)
    return [DeliveryPublic.model_validate(row) for row in rows]
