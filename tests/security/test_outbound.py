"""The outbound-URL policy: webhook channels and peer base URLs reach public addresses only, checked when registered
and on the address each request connects to; failures are recorded with a status or a generic reason only."""

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from shared import outbound
from shared.audit.models import AuditEntry
from shared.auth.models import Role
from shared.config import Settings, get_settings
from shared.federation.crypto import encrypt_token
from shared.federation.models import Peer
from shared.federation.puller import PullOptions, pull_all_peers
from shared.notifications.delivery import deliver_due
from shared.notifications.models import Channel, ChannelKind, Delivery
from shared.notifications.service import enqueue_deliveries, notify
from tests.support.factories import bearer, make_tree, make_user
from tests.support.processes import free_port

AT = datetime(2026, 3, 17, 1, tzinfo=UTC)
LOOPBACK_SPELLINGS = [
    "127.0.0.1",
    "localhost",
    "LocalHost",
    "127.1",
    "0x7f000001",
    "2130706433",
    "0177.0.0.1",
    "0.0.0.0",
    "0",
    "[::ffff:127.0.0.1]",
    "[::1]",
    "[::]",
]
NOT_GLOBAL = ["10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "[fe80::1]", "[fd00::1]"]
CONTROL = ["\t", "\r", "\n", "\r\n", " ", "\x00", "\x7f", "\u200b", "\u2028"]
FAST = PullOptions(timeout_s=2.0, attempts=2, backoff_s=0.01, backoff_max_s=0.02)


class Receiver:
    """A fake HTTP server on loopback: records each request, answers with a set status and body."""

    def __init__(self, status: int = 204, body: bytes = b"") -> None:
        self.requests: list[dict[str, str]] = []
        self.status, self.body = status, body
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                receiver.requests.append({"path": self.path, "host": self.headers["Host"]})
                self.send_response(receiver.status)
                self.send_header("Content-Length", str(len(receiver.body)))
                self.end_headers()
                self.wfile.write(receiver.body)

            do_GET = do_POST = _answer

            def log_message(self, *args: object) -> None:
                return

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receivers() -> Iterator[list[Receiver]]:
    """Fake servers made by the test; shut down after it."""
    made: list[Receiver] = []
    yield made
    for receiver in made:
        receiver.server.shutdown()


@pytest.fixture
def strict(monkeypatch: pytest.MonkeyPatch) -> None:
    """The policy as shipped: no allowlist (the suite allowlists loopback for its fake servers)."""
    monkeypatch.setattr(get_settings(), "outbound_allowlist", "")


async def _planner(session: AsyncSession) -> tuple[dict[str, str], int]:
    tree = await make_tree(session)
    user = await make_user(session, username="hook-planner", role=Role.plan_manager, unit=tree.street_a)
    assert tree.community_a1.id is not None
    return bearer(user), tree.community_a1.id


async def _admin(session: AsyncSession) -> dict[str, str]:
    await make_tree(session)
    return bearer(await make_user(session, username="peer-admin", role=Role.admin))


def _peer_body(base_url: str) -> dict[str, str]:
    return {"name": "district", "base_url": base_url, "covered_org_unit_code": "410105", "token": "czt_peer-token-1"}


async def _count(session: AsyncSession, table: type) -> int:
    return await session.scalar(select(func.count()).select_from(table)) or 0


@pytest.mark.parametrize("host", LOOPBACK_SPELLINGS + NOT_GLOBAL)
async def test_a_webhook_to_loopback_or_a_private_address_is_refused_in_every_spelling(
    client: AsyncClient, session: AsyncSession, strict: None, host: str
) -> None:
    headers, unit_id = await _planner(session)
    body = {"org_unit_id": unit_id, "kind": "webhook", "url": f"http://{host}:8080/hook"}
    answer = await client.post("/api/v1/notification-channels", json=body, headers=headers)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["errors"][0]["field"] == "url"
    assert await _count(session, Channel) == 0


@pytest.mark.parametrize("host", LOOPBACK_SPELLINGS + NOT_GLOBAL)
async def test_a_peer_on_loopback_or_a_private_address_is_refused_in_every_spelling(
    client: AsyncClient, session: AsyncSession, strict: None, host: str
) -> None:
    headers = await _admin(session)
    answer = await client.post("/api/v1/federation/peers", json=_peer_body(f"http://{host}:8000"), headers=headers)
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["field"] == "base_url"
    assert await _count(session, Peer) == 0


@pytest.mark.parametrize("character", CONTROL)
async def test_urls_with_whitespace_or_control_characters_are_refused(
    client: AsyncClient, session: AsyncSession, character: str
) -> None:
    headers, unit_id = await _planner(session)
    admin = bearer(await make_user(session, username="peer-admin", role=Role.admin))
    for url in (f"https://hooks.example.org/a{character}b", f"https://hooks{character}.example.org/"):
        body = {"org_unit_id": unit_id, "kind": "webhook", "url": url}
        answer = await client.post("/api/v1/notification-channels", json=body, headers=headers)
        assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "url", (url, answer.text)
    for url in (f"https://district.example{character}", f"https://district.example/x{character}y"):
        answer = await client.post("/api/v1/federation/peers", json=_peer_body(url), headers=admin)
        assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "base_url", (url, answer.text)
    assert await _count(session, Channel) == 0 and await _count(session, Peer) == 0


@pytest.mark.parametrize(
    "url",
    [
        "https://district.example/?x=",
        "https://district.example?x=1",
        "https://district.example/#",
        "https://district.example/api#x",
        "https://district.example/?",
        "https://user:pass@district.example",
        "https://user@district.example",
        "ftp://district.example",
        "file:///etc/passwd",
        "https://district.example:99999",
        "https://[::1",
    ],
)
async def test_a_peer_base_url_with_a_query_fragment_or_userinfo_is_refused(
    client: AsyncClient, session: AsyncSession, url: str
) -> None:
    headers = await _admin(session)
    answer = await client.post("/api/v1/federation/peers", json=_peer_body(url), headers=headers)
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["field"] == "base_url"


async def test_a_webhook_with_userinfo_is_refused_and_one_with_a_query_is_accepted(
    client: AsyncClient, session: AsyncSession
) -> None:
    headers, unit_id = await _planner(session)
    refused = {"org_unit_id": unit_id, "kind": "webhook", "url": "https://u:p@hooks.example.org/"}
    answer = await client.post("/api/v1/notification-channels", json=refused, headers=headers)
    assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "url"
    accepted = {"org_unit_id": unit_id, "kind": "webhook", "url": "https://hooks.example.org/cz?key=abc"}
    assert (await client.post("/api/v1/notification-channels", json=accepted, headers=headers)).status_code == 201


async def test_the_allowlist_admits_named_networks_and_host_names(
    client: AsyncClient, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers, unit_id = await _planner(session)

    async def register(url: str) -> int:
        body = {"org_unit_id": unit_id, "kind": "webhook", "url": url}
        return (await client.post("/api/v1/notification-channels", json=body, headers=headers)).status_code

    monkeypatch.setattr(get_settings(), "outbound_allowlist", "localhost")
    assert await register("http://localhost:8080/hook") == 201
    assert await register("http://127.0.0.1:8080/hook") == 422
    monkeypatch.setattr(get_settings(), "outbound_allowlist", "10.20.0.0/16, 127.0.0.1/32")
    assert await register("http://10.20.3.4/hook") == 201
    assert await register("http://127.1:8080/hook") == 201
    assert await register("http://10.21.0.1/hook") == 422
    with pytest.raises(ValueError, match="OUTBOUND_ALLOWLIST"):
        Settings(outbound_allowlist="10.0.0.0/8, not a host!")


async def _deliver(session: AsyncSession, channels: list[Channel]) -> dict[int, Delivery]:
    session.add_all(channels)
    await session.flush()
    unit_ids = {channel.org_unit_id for channel in channels}
    items = [
        {"key": f"outbound:{unit}", "kind": "report_late", "title": "报告已逾期", "org_unit_id": unit, "created_at": AT}
        for unit in unit_ids
    ]
    await notify(session, items=items)
    await enqueue_deliveries(session, at=AT)
    await deliver_due(session, at=AT)
    rows = (await session.scalars(select(Delivery))).all()
    return {row.channel_id: row for row in rows}


async def test_a_name_that_resolves_to_loopback_at_send_time_is_not_reached(
    session: AsyncSession, strict: None, receivers: list[Receiver]
) -> None:
    receivers.append(hook := Receiver())
    tree = await make_tree(session)
    # Registered while the name answered with a public address (or stored before the policy): it now means loopback.
    channel = Channel(
        org_unit_id=tree.street_a.id, kind=ChannelKind.webhook, url=f"http://localhost:{hook.port}/", created_at=AT
    )
    delivery = (await _deliver(session, [channel]))[channel.id]
    assert hook.requests == [] and delivery.last_error == "address not allowed" and delivery.sent_at is None


async def test_the_connection_goes_to_the_address_that_was_checked(
    session: AsyncSession, monkeypatch: pytest.MonkeyPatch, receivers: list[Receiver]
) -> None:
    receivers.append(hook := Receiver())
    looked_up: list[str] = []

    async def resolve(host: str, port: int) -> list:
        looked_up.append(host)
        return [outbound.ipaddress.ip_address("127.0.0.1")]

    # No resolver knows this name: the request arrives only if it connects to the address the policy checked.
    monkeypatch.setattr(outbound, "resolve", resolve)
    tree = await make_tree(session)
    url = f"http://hooks.rebinding.invalid:{hook.port}/cz"
    channel = Channel(org_unit_id=tree.street_a.id, kind=ChannelKind.webhook, url=url, created_at=AT)
    delivery = (await _deliver(session, [channel]))[channel.id]
    assert delivery.sent_at is not None and looked_up == ["hooks.rebinding.invalid"]
    assert hook.requests == [{"path": "/cz", "host": f"hooks.rebinding.invalid:{hook.port}"}]


async def test_one_broken_channel_does_not_hold_up_the_others_and_errors_are_generic(
    session: AsyncSession, receivers: list[Receiver]
) -> None:
    receivers.extend([first := Receiver(), second := Receiver(), failing := Receiver(500, b"Traceback: db password")])
    tree = await make_tree(session)
    urls = {
        "first": f"http://127.0.0.1:{first.port}/a",
        "second": f"http://127.0.0.1:{second.port}/b",
        "tab": f"http://127.0.0.1:{first.port}/\tx",  # stored before URLs were checked: the batch went down
        "crlf": f"http://127.0.0.1:{first.port}/\r\nX-Injected: 1",
        "closed": f"http://127.0.0.1:{free_port()}/gone",
        "failing": f"http://127.0.0.1:{failing.port}/c",
    }
    units = [tree.street_a, tree.street_b, tree.community_a1, tree.community_a2, tree.district, tree.city]
    channels = {
        name: Channel(org_unit_id=unit.id, kind=ChannelKind.webhook, url=url, created_at=AT)
        for (name, url), unit in zip(urls.items(), units, strict=True)
    }
    rows = await _deliver(session, list(channels.values()))
    for later in range(1, 4):  # more ticks: the good ones are never sent again
        await deliver_due(session, at=AT + timedelta(days=later))
    assert [r["path"] for r in first.requests] == ["/a"] and [r["path"] for r in second.requests] == ["/b"]
    errors = {name: rows[channel.id].last_error for name, channel in channels.items()}
    assert errors["first"] == errors["second"] == ""
    assert errors["tab"] == errors["crlf"] == "invalid URL"
    assert errors["closed"] == "unreachable"
    assert errors["failing"] == "HTTP 500"


async def test_a_planner_lists_deactivates_reactivates_and_deletes_a_channel(
    client: AsyncClient, session: AsyncSession, receivers: list[Receiver]
) -> None:
    receivers.append(hook := Receiver())
    tree = await make_tree(session)
    planner = bearer(await make_user(session, username="street-planner", role=Role.plan_manager, unit=tree.street_a))
    other = bearer(await make_user(session, username="other-planner", role=Role.plan_manager, unit=tree.street_b))
    clerk = bearer(await make_user(session, username="street-clerk", role=Role.unit_clerk, unit=tree.street_a))
    body = {"org_unit_id": tree.community_a1.id, "kind": "webhook", "url": f"http://127.0.0.1:{hook.port}/hook"}
    created = await client.post("/api/v1/notification-channels", json=body, headers=planner)
    assert created.status_code == 201
    channel_id = created.json()["id"]
    api = f"/api/v1/notification-channels/{channel_id}"
    listed = await client.get("/api/v1/notification-channels", headers=planner)
    assert [c["id"] for c in listed.json()["items"]] == [channel_id]
    assert (await client.get("/api/v1/notification-channels", headers=other)).json()["items"] == []
    assert (await client.get("/api/v1/notification-channels", headers=clerk)).status_code == 403
    assert (await client.post(f"{api}/deactivate", headers=other)).status_code == 404
    assert (await client.post(f"{api}/deactivate", headers=clerk)).status_code == 403
    note = {"kind": "report_late", "title": "报告已逾期", "org_unit_id": tree.community_a1.id}
    await notify(session, items=[note | {"key": "k1", "created_at": datetime.now(UTC)}])
    assert await enqueue_deliveries(session, at=datetime.now(UTC)) == 1
    deactivated = await client.post(f"{api}/deactivate", headers=planner)
    assert deactivated.status_code == 200 and deactivated.json()["active"] is False
    # A deactivated channel gets nothing: neither what was queued before nor what comes after.
    await notify(session, items=[note | {"key": "k2", "created_at": datetime.now(UTC)}])
    assert await enqueue_deliveries(session, at=datetime.now(UTC)) == 0
    assert await deliver_due(session, at=datetime.now(UTC)) == {"sent": 0, "retry": 0, "failed": 0}
    assert hook.requests == []
    inactive = await client.get("/api/v1/notification-channels", params={"active": False}, headers=planner)
    assert [c["id"] for c in inactive.json()["items"]] == [channel_id]
    reactivated = await client.post(f"{api}/reactivate", headers=planner)
    assert reactivated.status_code == 200 and reactivated.json()["active"] is True
    assert (await deliver_due(session, at=datetime.now(UTC)))["sent"] == 1 and len(hook.requests) == 1
    assert (await client.delete(api, headers=other)).status_code == 404
    assert (await client.delete(api, headers=planner)).status_code == 204
    assert await _count(session, Channel) == 0 and await _count(session, Delivery) == 0
    actions = (
        await session.scalars(
            select(AuditEntry.action).where(AuditEntry.entity == "notification_channel").order_by(AuditEntry.id)
        )
    ).all()
    assert list(actions) == ["create", "update", "update", "delete"]


async def test_reactivating_a_webhook_whose_url_is_now_refused_answers_422(
    client: AsyncClient, session: AsyncSession, strict: None
) -> None:
    tree = await make_tree(session)
    planner = bearer(await make_user(session, username="street-planner", role=Role.plan_manager, unit=tree.street_a))
    channel = Channel(
        org_unit_id=tree.community_a1.id, kind=ChannelKind.webhook, url="http://127.0.0.1:9/", active=False
    )
    session.add(channel)
    await session.flush()
    answer = await client.post(f"/api/v1/notification-channels/{channel.id}/reactivate", headers=planner)
    assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "url"


async def _pull_one(connection: AsyncConnection, session: AsyncSession, *, base_url: str) -> tuple[bool, str | None]:
    tree = await make_tree(session)
    peer = Peer(
        name="district",
        base_url=base_url,
        covered_org_unit_id=tree.city.id,
        token_encrypted=encrypt_token("czt_peer-token-1"),
    )
    session.add(peer)
    await session.commit()
    factory = async_sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    [result] = await pull_all_peers(session_factory=factory, names=["district"], options=FAST)
    await session.refresh(peer)
    assert result.error == peer.last_error
    return result.ok, peer.last_error


async def test_a_peer_that_resolves_to_loopback_at_pull_time_is_not_reached(
    connection: AsyncConnection, session: AsyncSession, strict: None, receivers: list[Receiver]
) -> None:
    receivers.append(fake := Receiver(200, b"{}"))
    ok, error = await _pull_one(connection, session, base_url=f"http://localhost:{fake.port}")
    assert not ok and error == "address not allowed" and fake.requests == []


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (403, b'{"detail": "token revoked at /srv/secret/path"}', "HTTP 403"),
        (404, b"<html>admin console of the router</html>", "HTTP 404"),
        (503, b"upstream secret", "HTTP 503 (after 2 attempts)"),
        (200, b"<html>not json: internal page</html>", "invalid answer (after 2 attempts)"),
    ],
)
async def test_a_peer_s_last_error_is_a_status_or_a_generic_reason(
    connection: AsyncConnection,
    session: AsyncSession,
    receivers: list[Receiver],
    status: int,
    body: bytes,
    expected: str,
) -> None:
    receivers.append(fake := Receiver(status, body))
    ok, error = await _pull_one(connection, session, base_url=f"http://127.0.0.1:{fake.port}")
    assert not ok and error == expected


async def test_a_closed_port_of_a_peer_is_only_unreachable(connection: AsyncConnection, session: AsyncSession) -> None:
    ok, error = await _pull_one(connection, session, base_url=f"http://127.0.0.1:{free_port()}")
    assert not ok and error == "unreachable (after 2 attempts)"
