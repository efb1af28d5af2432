"""Inbox notifications, their per-user read marks, delivery channels and the outbox."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from shared.db import IdType, UTCDateTime, created_field, enum_type, fk_field, id_field


class ChannelKind(StrEnum):
    """How a notification leaves the platform."""

    webhook = "webhook"
    wechat = "wechat"


class DeliveryStatus(StrEnum):
    """Where an outbound delivery stands."""

    pending = "pending"
    sent = "sent"
    failed = "failed"


class Notification(SQLModel, table=True):
    """A message in the inbox of a user, a department or everyone at an org unit; `key` makes it unique."""

    __tablename__ = "notification"

    id: int | None = id_field()
    key: str = Field(sa_type=String(200), unique=True)
    kind: str = Field(sa_type=String(40))
    org_unit_id: int | None = fk_field("org_unit.id", nullable=True, ondelete="CASCADE")
    department_id: int | None = fk_field("department.id", nullable=True, ondelete="CASCADE")
    user_id: int | None = fk_field("user_account.id", nullable=True, ondelete="CASCADE")
    title: str = Field(sa_type=String(300))
    body: str = Field(default="", sa_type=Text)
    link: str = Field(default="", sa_type=String(300))
    created_at: datetime = created_field()


class NotificationRead(SQLModel, table=True):
    """That a user has read a notification."""

    __tablename__ = "notification_read"

    notification_id: int = Field(foreign_key="notification.id", ondelete="CASCADE", primary_key=True, sa_type=IdType)
    user_id: int = Field(foreign_key="user_account.id", ondelete="CASCADE", primary_key=True, sa_type=IdType)
    read_at: datetime = created_field()


class Channel(SQLModel, table=True):
    """Where an org unit's notifications are also sent: a webhook URL or a WeChat user (openid + template)."""

    __tablename__ = "notification_channel"

    id: int | None = id_field()
    org_unit_id: int = fk_field("org_unit.id", ondelete="CASCADE")
    kind: ChannelKind = Field(sa_type=enum_type(ChannelKind))
    url: str = Field(default="", sa_type=String(500))
    openid: str = Field(default="", sa_type=String(100))
    template_id: str = Field(default="", sa_type=String(100))
    active: bool = Field(default=True)
    created_at: datetime = created_field()


class Delivery(SQLModel, table=True):
    """One notification to send through one channel: unique, so that nothing is sent twice."""

    __tablename__ = "delivery"
    __table_args__ = (UniqueConstraint("channel_id", "notification_id"),)

    id: int | None = id_field()
    channel_id: int = fk_field("notification_channel.id", ondelete="CASCADE")
    notification_id: int = fk_field("notification.id", ondelete="CASCADE")
    status: DeliveryStatus = Field(default=DeliveryStatus.pending, sa_type=enum_type(DeliveryStatus), index=True)
    attempts: int = Field(default=0)
    next_attempt_at: datetime = Field(sa_type=UTCDateTime, index=True)
    last_error: str = Field(default="", sa_type=String(500))
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
