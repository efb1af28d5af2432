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
    responses={
        **PROBLEMS,
        422: {
            "description": "a webhook URL that is not plain http(s) or reaches an address that is not public, "
            "a WeChat channel without openid"
        },
    },
)
async def create_channel(session: SessionDep, actor: CurrentUser, body: ChannelCreate) -> ChannelPublic:
    """Also send a unit's notifications to a webhook or a WeChat user (planners)."""
    return ChannelPublic.model_validate(await service.create_channel(session, actor=actor, data=body))


@router.get("/notification-channels", response_model=Page[ChannelPublic], responses=PROBLEMS)
async def list_channels(
    session: SessionDep,
    actor: CurrentUser,
    org_unit_id: StoredId | None = None,
    active: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: str | None = None,
) -> Page[ChannelPublic]:
    """The delivery channels of your subtree's units, newest first (planners)."""
    rows, next_cursor = await service.list_channels(
        session, actor=actor, org_unit_id=org_unit_id, active=active, limit=limit, cursor=cursor
    )
    return Page(items=[ChannelPublic.model_validate(row) for row in rows], next_cursor=next_cursor)


CHANNEL_PROBLEMS = {**PROBLEMS, 404: {"description": "no such channel in your subtree"}}


@router.post("/notification-channels/{channel_id}/deactivate", response_model=ChannelPublic, responses=CHANNEL_PROBLEMS)
async def deactivate_channel(session: SessionDep, actor: CurrentUser, channel_id: StoredId) -> ChannelPublic:
    """Stop sending through a channel; its pending deliveries wait until it is reactivated (planners)."""
    channel = await service.set_channel_active(session, actor=actor, channel_id=channel_id, active=False)
    return ChannelPublic.model_validate(channel)


@router.post(
    "/notification-channels/{channel_id}/reactivate",
    response_model=ChannelPublic,
    responses={**CHANNEL_PROBLEMS, 422: {"description": "the webhook URL is no longer allowed"}},
)
async def reactivate_channel(session: SessionDep, actor: CurrentUser, channel_id: StoredId) -> ChannelPublic:
    """Send through a channel again; a webhook's URL is checked again first (planners)."""
    channel = await service.set_channel_active(session, actor=actor, channel_id=channel_id, active=True)
    return ChannelPublic.model_validate(channel)


@router.delete(
    "/notification-channels/{channel_id}", status_code=status.HTTP_204_NO_CONTENT, responses=CHANNEL_PROBLEMS
)
async def delete_channel(session: SessionDep, actor: CurrentUser, channel_id: StoredId) -> None:
    """Remove a channel and its delivery log (planners)."""
    await service.delete_channel(session, actor=actor, channel_id=channel_id)


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
