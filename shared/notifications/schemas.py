"""Notification, channel and delivery schemas."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from shared.db import StoredId
from shared.notifications.models import ChannelKind, DeliveryStatus


class NotificationPublic(BaseModel):
    """A notification as its reader sees it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    title: str
    body: str
    link: str
    org_unit_id: int | None
    department_id: int | None
    user_id: int | None
    created_at: datetime
    read: bool = False


class ChannelCreate(BaseModel):
    """Where to send a unit's notifications: a webhook URL, or a WeChat openid and template."""

    model_config = ConfigDict(extra="forbid")

    org_unit_id: StoredId
    kind: ChannelKind
    url: str | None = Field(default=None, max_length=500)
    openid: str | None = Field(default=None, max_length=100)
    template_id: str | None = Field(default=None, max_length=100)


class ChannelPublic(BaseModel):
    """A registered channel."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    org_unit_id: int
    kind: ChannelKind
    url: str
    openid: str
    template_id: str
    active: bool
    created_at: datetime


class DeliveryPublic(BaseModel):
    """One outbound delivery and how it went."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    channel_id: int
    notification_id: int
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime
    last_error: str
    sent_at: datetime | None
