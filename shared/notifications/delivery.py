"""Sending pending deliveries: webhook POSTs and WeChat template messages, retried with backoff, then `failed`."""

import asyncio
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared import outbound
from shared.config import get_settings
from shared.db import is_postgres
from shared.errors import InvalidInput
from shared.notifications.models import Channel, ChannelKind, Delivery, DeliveryStatus, Notification

BATCH = 50


def _request(channel: Channel, notification: Notification, delivery: Delivery) -> tuple[str, dict[str, Any], dict]:
    """URL, JSON body and headers of one delivery; the Idempotency-Key lets a receiver drop a repeat."""
    headers = {"Idempotency-Key": f"culturezone-delivery-{delivery.id}"}
    if channel.kind == ChannelKind.webhook:
        body = {
            "id": notification.id,
            "key": notification.key,
            "kind": notification.kind,
            "title": notification.title,
            "body": notification.body,
            "link": notification.link,
            "org_unit_id": notification.org_unit_id,
            "created_at": notification.created_at.isoformat(),
        }
        return channel.url, body, headers
    settings = get_settings()
    url = f"{settings.wechat_api_base_url.rstrip('/')}/cgi-bin/message/template/send"
    body = {
        "touser": channel.openid,
        "template_id": channel.template_id,
        "data": {"thing1": {"value": notification.title[:20]}, "thing2": {"value": notification.body[:20]}},
    }
    return url + f"?access_token={settings.wechat_access_token}", body, headers


async def _send(client: httpx.AsyncClient, channel: Channel, notification: Notification, delivery: Delivery) -> str:
    """'' when delivered, else a generic reason (a status, never the receiver's answer or the socket's error)."""
    try:
        url, body, headers = _request(channel, notification, delivery)
        if channel.kind == ChannelKind.webhook:
            outbound.check_url(url, field="url")  # a channel stored before URLs were checked strictly
        response = await client.post(url, json=body, headers=headers)
    except InvalidInput:
        return "invalid URL"
    except Exception as exc:  # one channel's failure, whatever it is, is that delivery's outcome and no other's
        return outbound.reason(exc)
    if response.status_code >= 300:
        return f"HTTP {response.status_code}"
    if channel.kind == ChannelKind.wechat:
        try:
            errcode = response.json().get("errcode", 0)
        except (ValueError, AttributeError):
            return "WeChat answered with something that is not a JSON object"
        if errcode:
            return f"WeChat errcode {errcode}"
    return ""


async def deliver_due(session: AsyncSession, *, at: datetime) -> dict[str, int]:
    """Send the deliveries whose time has come, all at once with a short timeout, and record each outcome."""
    settings = get_settings()
    query = (
        select(Delivery, Channel, Notification)
        .join(Channel, Channel.id == Delivery.channel_id)
        .join(Notification, Notification.id == Delivery.notification_id)
        .where(Delivery.status == DeliveryStatus.pending, Delivery.next_attempt_at <= at, Channel.active.is_(True))
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .limit(BATCH)
    )
    if is_postgres(session):
        query = query.with_for_update(of=Delivery, skip_locked=True)
    rows = (await session.execute(query)).all()
    counts = {"sent": 0, "retry": 0, "failed": 0}
    if not rows:
        return counts
    timeout = settings.delivery_timeout_seconds
    # Webhook URLs are the users': the outbound policy applies. The WeChat endpoint is the operator's setting.
    async with outbound.guarded_client(timeout=timeout) as webhooks, httpx.AsyncClient(timeout=timeout) as wechat:
        outcomes = await asyncio.gather(
            *(
                _send(webhooks if channel.kind == ChannelKind.webhook else wechat, channel, note, delivery)
                for delivery, channel, note in rows
            )
        )
    for (delivery, _channel, _note), error in zip(rows, outcomes, strict=True):
        delivery.attempts += 1
        if not error:
            delivery.status, delivery.sent_at, delivery.last_error = DeliveryStatus.sent, at, ""
            counts["sent"] += 1
        elif delivery.attempts >= settings.delivery_max_attempts:
            delivery.status, delivery.last_error = DeliveryStatus.failed, error
            counts["failed"] += 1
        else:
            backoff = settings.delivery_backoff_seconds * 2 ** (delivery.attempts - 1)
            delivery.next_attempt_at, delivery.last_error = at + timedelta(seconds=backoff), error
            counts["retry"] += 1
    await session.flush()
    return counts
