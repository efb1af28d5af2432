"""Notifying units, departments and users exactly once, reading the inbox, and registering delivery channels."""

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, exists, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select

from shared import outbound
from shared.audit.service import record_change, snapshot
from shared.auth.models import User
from shared.auth.scope import PLANNERS, STAFF_ROLES, Principal
from shared.clock import now
from shared.errors import InvalidInput, NotFound
from shared.notifications.models import Channel, ChannelKind, Delivery, DeliveryStatus, Notification, NotificationRead
from shared.notifications.schemas import ChannelCreate
from shared.orgunits.models import OrgUnit
from shared.pagination import decode_cursor, page_of
from shared.statistics.elements import dialect_insert

COLUMNS = ["key", "kind", "org_unit_id", "department_id", "user_id", "title", "body", "link", "created_at"]


async def notify_from(session: AsyncSession, rows: Select) -> int:
    """INSERT the notifications a SELECT yields (its columns named as COLUMNS); a key already stored is skipped."""
    statement = dialect_insert(session, Notification.__table__).from_select(COLUMNS, rows)
    result = await session.execute(statement.on_conflict_do_nothing(index_elements=["key"]))
    return result.rowcount or 0


async def notify(session: AsyncSession, *, items: Sequence[dict[str, Any]]) -> int:
    """Store notifications given as dicts (key, kind, title, body, link and a recipient); duplicates skipped."""
    if not items:
        return 0
    stamp = now()
    rows = [
        {"body": "", "link": "", "org_unit_id": None, "department_id": None, "user_id": None, "created_at": stamp}
        | dict(item)
        for item in items
    ]
    statement = dialect_insert(session, Notification.__table__).on_conflict_do_nothing(index_elements=["key"])
    result = await session.execute(statement, rows)
    return result.rowcount or 0


async def enqueue_deliveries(session: AsyncSession, *, at: datetime) -> int:
    """One delivery per (channel, notification) for recent notifications of units with active channels."""
    rows = (
        select(Channel.id, Notification.id, literal(DeliveryStatus.pending.value), literal(0), literal(at), literal(""))
        .join(Channel, and_(Channel.org_unit_id == Notification.org_unit_id, Channel.active.is_(True)))
        .where(Notification.created_at >= at - timedelta(days=2), Notification.created_at >= Channel.created_at)
    )
    columns = ["channel_id", "notification_id", "status", "attempts", "next_attempt_at", "last_error"]
    statement = dialect_insert(session, Delivery.__table__).from_select(columns, rows)
    result = await session.execute(statement.on_conflict_do_nothing(index_elements=["channel_id", "notification_id"]))
    return result.rowcount or 0


async def _recipient(session: AsyncSession, actor: Principal) -> User | None:
    return await session.get(User, actor.user_id) if actor.user_id is not None else None


def _addressed_to(user: User | None) -> Any:
    if user is None:
        return literal(False)
    clauses = [Notification.user_id == user.id]
    if user.department_id is not None:
        clauses.append(Notification.department_id == user.department_id)
    if user.org_unit_id is not None:
        clauses.append(
            and_(
                Notification.org_unit_id == user.org_unit_id,
                Notification.department_id.is_(None),
                Notification.user_id.is_(None),
            )
        )
    return or_(*clauses)


async def inbox(
    session: AsyncSession, *, actor: Principal, unread: bool | None, limit: int, cursor: str | None
) -> tuple[list[tuple[Notification, bool]], str | None]:
    """The caller's notifications (to them, their department or their org unit), newest first, with read marks."""
    actor.require_role(STAFF_ROLES)
    user = await _recipient(session, actor)
    read = exists().where(
        NotificationRead.notification_id == Notification.id, NotificationRead.user_id == actor.user_id
    )
    query = select(Notification, read.label("read")).where(_addressed_to(user)).order_by(Notification.id.desc())
    if unread is not None:
        query = query.where(~read if unread else read)
    if (before := decode_cursor(cursor, size=1)) is not None:
        query = query.where(Notification.id < before[0])
    rows = [(row[0], bool(row[1])) for row in (await session.execute(query.limit(limit + 1))).all()]
    return page_of(rows, limit=limit, key=lambda row: [row[0].id])


async def mark_read(session: AsyncSession, *, actor: Principal, notification_id: int) -> None:
    """Mark a notification read for the caller: one addressed to them, or to a unit of their subtree."""
    actor.require_role(STAFF_ROLES)
    notification = await session.get(Notification, notification_id)
    user = await _recipient(session, actor)
    visible = (
        notification is not None
        and user is not None
        and (
            notification.user_id == user.id
            or (notification.department_id is not None and notification.department_id == user.department_id)
        )
    )
    if notification is not None and not visible and notification.org_unit_id is not None:
        unit = await session.get(OrgUnit, notification.org_unit_id)
        visible = unit is not None and actor.covers(unit.path)
    if notification is None or not visible or actor.user_id is None:
        raise NotFound(f"notification {notification_id} does not exist")
    statement = dialect_insert(session, NotificationRead.__table__).on_conflict_do_nothing(
        index_elements=["notification_id", "user_id"]
    )
    await session.execute(statement, [{"notification_id": notification_id, "user_id": actor.user_id, "read_at": now()}])


async def check_webhook_url(url: str) -> str:
    """A webhook URL the outbound policy accepts (absolute http(s), no userinfo or control characters, a public
    address unless allowlisted); 422 naming `url` otherwise."""
    checked = outbound.check_url(url, field="url")
    await outbound.check_destination(checked, field="url")
    return checked


async def create_channel(session: AsyncSession, *, actor: Principal, data: ChannelCreate) -> Channel:
    """Register where a unit's notifications are also sent (planners, for a unit of their subtree)."""
    actor.require_role(PLANNERS)
    unit = await session.get(OrgUnit, data.org_unit_id)
    if unit is None:
        raise NotFound(f"org unit {data.org_unit_id} does not exist")
    actor.require_covers(unit.path)
    if data.kind == ChannelKind.webhook:
        url, openid = await check_webhook_url(data.url or ""), ""
    else:
        if not data.openid or not data.template_id:
            raise InvalidInput("a WeChat channel needs openid and template_id", field="openid")
        url, openid = "", data.openid
    channel = Channel(
        org_unit_id=unit.id,
        kind=data.kind,
        url=url,
        openid=openid,
        template_id=data.template_id or "",
        created_at=now(),
    )
    session.add(channel)
    await session.flush()
    await record_change(
        session,
        actor=actor,
        action="create",
        entity="notification_channel",
        entity_id=channel.id,
        before=None,
        after=snapshot(channel),
    )
    return channel


def _channels_of_subtree(actor: Principal) -> Select:
    query = select(Channel).join(OrgUnit, OrgUnit.id == Channel.org_unit_id)
    if actor.scope_path is not None:
        query = query.where(OrgUnit.path.startswith(actor.scope_path))
    return query


async def list_channels(
    session: AsyncSession,
    *,
    actor: Principal,
    org_unit_id: int | None,
    active: bool | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[Channel], str | None]:
    """The channels of units in the caller's subtree (planners), newest first."""
    actor.require_role(PLANNERS)
    query = _channels_of_subtree(actor).order_by(Channel.id.desc())
    if org_unit_id is not None:
        query = query.where(Channel.org_unit_id == org_unit_id)
    if active is not None:
        query = query.where(Channel.active.is_(active))
    if (before := decode_cursor(cursor, size=1)) is not None:
        query = query.where(Channel.id < before[0])
    rows = list((await session.scalars(query.limit(limit + 1))).all())
    return page_of(rows, limit=limit, key=lambda channel: [channel.id])


async def _own_channel(session: AsyncSession, *, actor: Principal, channel_id: int) -> Channel:
    actor.require_role(PLANNERS)
    channel = await session.scalar(_channels_of_subtree(actor).where(Channel.id == channel_id))
    if channel is None:
        raise NotFound(f"notification channel {channel_id} does not exist")
    return channel


async def set_channel_active(session: AsyncSession, *, actor: Principal, channel_id: int, active: bool) -> Channel:
    """Stop or resume sending through a channel (planners of its unit); a webhook URL is checked again to resume."""
    channel = await _own_channel(session, actor=actor, channel_id=channel_id)
    before = snapshot(channel)
    if active and not channel.active and channel.kind == ChannelKind.webhook:
        channel.url = await check_webhook_url(channel.url)
    channel.active = active
    await session.flush()
    await record_change(
        session,
        actor=actor,
        action="update",
        entity="notification_channel",
        entity_id=channel.id,
        before=before,
        after=snapshot(channel),
    )
    return channel


async def delete_channel(session: AsyncSession, *, actor: Principal, channel_id: int) -> None:
    """Remove a channel and its delivery log (planners of its unit)."""
    channel = await _own_channel(session, actor=actor, channel_id=channel_id)
    before = snapshot(channel)
    await session.execute(delete(Delivery).where(Delivery.channel_id == channel_id))
    await session.delete(channel)
    await session.flush()
    await record_change(
        session,
        actor=actor,
        action="delete",
        entity="notification_channel",
        entity_id=channel_id,
        before=before,
        after=None,
    )


async def list_deliveries(
    session: AsyncSession, *, actor: Principal, status: DeliveryStatus | None, limit: int
) -> list[Delivery]:
    """Deliveries of the channels of units in the caller's subtree (planners), newest first."""
    actor.require_role(PLANNERS)
    query = (
        select(Delivery)
        .join(Channel, Channel.id == Delivery.channel_id)
        .join(OrgUnit, OrgUnit.id == Channel.org_unit_id)
        .order_by(Delivery.id.desc())
        .limit(limit)
    )
    if actor.scope_path is not None:
        query = query.where(OrgUnit.path.startswith(actor.scope_path))
    if status is not None:
        query = query.where(Delivery.status == status)
    return list((await session.scalars(query)).all())
