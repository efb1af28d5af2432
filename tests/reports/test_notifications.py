"""Outbound deliveries against a real HTTP server on loopback (and a port nobody listens on), and the inbox."""

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth.models import Role
from shared.config import get_settings
from shared.notifications.delivery import deliver_due
from shared.notifications.models import Channel, ChannelKind, Delivery, DeliveryStatus
from shared.notifications.service import enqueue_deliveries, notify
from tests.support.factories import bearer, make_tree, make_user
from tests.support.processes import free_port

AT = datetime(2026, 3, 17, 1, tzinfo=UTC)


@pytest.fixture
def wechat() -> Iterator[tuple[str, list[dict]]]:
    """A WeChat-compatible template-message endpoint: errcode 0 for openid `ok`, 40003 (invalid openid) otherwise."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            received.append({"path": self.path, "body": body})
            answer = json.dumps({"errcode": 0 if body["touser"] == "ok" else 40003, "errmsg": "ok"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: object) -> None:
            return

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", received
    server.shutdown()


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict]]]:
    """A webhook receiver that records each request's idempotency key."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            received.append({"key": self.headers["Idempotency-Key"], "path": self.path})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()


async def test_a_notification_reaches_the_webhook_once_and_an_unreachable_one_ends_failed(
    session: AsyncSession, receiver: tuple[str, list[dict]]
) -> None:
    url, received = receiver
    tree = await make_tree(session)
    good = Channel(org_unit_id=tree.community_a1.id, kind=ChannelKind.webhook, url=url, created_at=AT)
    dead = Channel(
        org_unit_id=tree.community_a1.id,
        kind=ChannelKind.webhook,
        url=f"http://127.0.0.1:{free_port()}/gone",
        created_at=AT,
    )
    session.add_all([good, dead])
    await session.flush()
    item = {
        "key": "remind:report:1:3d",
        "kind": "report_reminder",
        "title": "报告即将截止",
        "created_at": AT,
        "org_unit_id": tree.community_a1.id,
    }
    await notify(session, items=[item])
    await notify(session, items=[item])
    assert await enqueue_deliveries(session, at=AT) == 2
    assert await enqueue_deliveries(session, at=AT) == 0
    moment = AT
    for _ in range(8):  # ticks far enough apart for every backoff
        await deliver_due(session, at=moment)
        moment += timedelta(days=1)
    assert len(received) == 1
    rows = {row.channel_id: row for row in (await session.execute(Delivery.__table__.select())).all()}
    assert rows[good.id].status == DeliveryStatus.sent.value or rows[good.id].status == DeliveryStatus.sent
    assert rows[dead.id].status in (DeliveryStatus.failed, DeliveryStatus.failed.value)
    assert rows[dead.id].attempts == 5 and rows[dead.id].last_error


async def test_the_inbox_shows_unread_then_read(client: AsyncClient, session: AsyncSession) -> None:
    tree = await make_tree(session)
    clerk = await make_user(session, username="inbox-clerk", role=Role.unit_clerk, unit=tree.community_a1)
    await notify(
        session,
        items=[
            {"key": "late:report:9", "kind": "report_late", "title": "报告已逾期", "org_unit_id": tree.community_a1.id}
        ],
    )
    unread = await client.get("/api/v1/notifications", params={"unread": True}, headers=bearer(clerk))
    assert [item["title"] for item in unread.json()["items"]] == ["报告已逾期"]
    notification_id = unread.json()["items"][0]["id"]
    marked = await client.post(f"/api/v1/notifications/{notification_id}/read", headers=bearer(clerk))
    assert marked.status_code == 204
    after = await client.get("/api/v1/notifications", params={"unread": True}, headers=bearer(clerk))
    assert after.json()["items"] == []


async def test_a_wechat_template_message_goes_to_the_configured_endpoint_and_errcodes_are_retried(
    session: AsyncSession, wechat: tuple[str, list[dict]], monkeypatch: pytest.MonkeyPatch
) -> None:
    base, received = wechat
    monkeypatch.setattr(get_settings(), "wechat_api_base_url", base)
    monkeypatch.setattr(get_settings(), "wechat_access_token", "token-123")
    tree = await make_tree(session)
    session.add_all(
        [
            Channel(
                org_unit_id=tree.street_a.id, kind=ChannelKind.wechat, openid=openid, template_id="TPL", created_at=AT
            )
            for openid in ("ok", "unknown")
        ]
    )
    await session.flush()
    await notify(
        session,
        items=[
            {
                "key": "late:report:7",
                "kind": "report_late",
                "title": "报告已逾期",
                "org_unit_id": tree.street_a.id,
                "created_at": AT,
            }
        ],
    )
    await enqueue_deliveries(session, at=AT)
    counts = await deliver_due(session, at=AT)
    assert counts == {"sent": 1, "retry": 1, "failed": 0}
    assert {item["path"] for item in received} == {"/cgi-bin/message/template/send?access_token=token-123"}
    assert {item["body"]["template_id"] for item in received} == {"TPL"}
    assert await deliver_due(session, at=AT) == {"sent": 0, "retry": 0, "failed": 0}  # backoff: not yet due again
