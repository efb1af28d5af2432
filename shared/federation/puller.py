"""Pulling every active peer concurrently: manifest check, then pages of changes (or a snapshot), each page applied
in one transaction together with the cursor that follows it."""

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import orjson
from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared import outbound
from shared.clock import now as clock_now
from shared.config import Settings, get_settings
from shared.db import get_sessionmaker, utcnow, write_intent
from shared.errors import AppError
from shared.federation.apply import PeerRefused, apply_items, forget_stale
from shared.federation.crypto import decrypt_token
from shared.federation.feed import schema_version
from shared.federation.models import Peer, PeerStatus
from shared.federation.payloads import paused_gc

log = logging.getLogger("culturezone.federation")


def _setting(name: str) -> Any:
    """The default of a FEDERATION_* setting: an operator's setting and a test's options start from the same value."""
    return Settings.model_fields[f"federation_{name}"].default


@dataclass
class PullOptions:
    """How hard to try."""

    timeout_s: float = _setting("timeout_seconds")
    attempts: int = _setting("attempts")
    backoff_s: float = 0.2
    backoff_max_s: float = 5.0
    page_limit: int = _setting("page_limit")
    max_pages: int = 100_000
    # Peers pulled at once: memory is about this many pages, whatever the number of peers and rows.
    concurrency: int = _setting("peers_at_once")
    # Peers writing pages at once, while the others fetch: with more, the city's backends fight over the same index
    # pages and shared parent rows (20 districts on two cores, eight peers at once: 3,093 rows/s with one writer,
    # 4,586 with two, about 4,000 with eight).
    writers: int = _setting("writers")

    @classmethod
    def configured(cls) -> "PullOptions":
        """The options the operator set (FEDERATION_* in the environment); the defaults otherwise."""
        settings = get_settings()
        return cls(
            timeout_s=settings.federation_timeout_seconds,
            attempts=settings.federation_attempts,
            page_limit=settings.federation_page_limit,
            concurrency=settings.federation_peers_at_once,
            writers=settings.federation_writers,
        )


@dataclass
class PullResult:
    """What one peer's pull did."""

    peer: str
    rows: int = 0
    pages: int = 0
    ok: bool = True
    error: str | None = None
    seconds: float = 0.0


class PeerUnavailable(Exception):
    """The peer could not be reached or answered nonsense after every retry."""


class Overtaken(Exception):
    """Another pull of the same peer moved it on meanwhile: this one stops, nothing wrong with the peer."""


class PeerAnswer(Exception):
    """The peer answered with a client error (no retry); only its status is kept, never what it said."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


async def _get(client: httpx.AsyncClient, url: str, *, token: str, params: dict, options: PullOptions) -> dict:
    """GET JSON with retries (exponential backoff with full jitter) on transport errors, 5xx and broken bodies.

    What fails is told by a status or a generic reason only: the peer's answer or the socket's error would make the
    peer's health (which viewers read) a window on whatever the URL reached."""
    last = "no attempt"
    for attempt in range(options.attempts):
        if attempt:
            await asyncio.sleep(random.uniform(0, min(options.backoff_max_s, options.backoff_s * 2**attempt)))
        try:
            response = await client.get(
                url, params=params, headers={"Authorization": f"Bearer {token}"}, timeout=options.timeout_s
            )
            if response.status_code >= 500:
                last = f"HTTP {response.status_code}"
                continue
            if response.status_code >= 300:  # redirects are not followed: the base URL is the peer's
                raise PeerAnswer(response.status_code)
            with paused_gc():
                body = orjson.loads(response.content)  # orjson.JSONDecodeError is a ValueError
            if not isinstance(body, dict):
                raise ValueError("not a JSON object")
            return body
        except (httpx.TransportError, ValueError) as exc:  # reset, timeout, truncated or broken JSON
            last = outbound.reason(exc)
        except outbound.AddressRefused:
            raise PeerUnavailable(outbound.REFUSED) from None
    raise PeerUnavailable(f"{last} (after {options.attempts} attempts)")


def _items(body: dict, *, key: str = "items") -> list[dict[str, Any]]:
    items = body.get(key)
    if not isinstance(items, list) or not all(
        isinstance(i, dict)
        and isinstance(i.get("table"), str)
        and isinstance(i.get("id"), int)
        and i.get("op") in ("upsert", "delete")
        and isinstance(i.get("row"), dict)
        for i in items
    ):
        raise PeerRefused("the peer's page is not a list of {table, id, op, row}")
    return items


@contextlib.asynccontextmanager
async def _writing() -> AsyncIterator[None]:
    """Sessions opened inside will write (on SQLite: take the write lock when they begin)."""
    token = write_intent.set(True)
    try:
        yield
    finally:
        write_intent.reset(token)


async def _record(factory: async_sessionmaker[AsyncSession], peer_id: int, **values: Any) -> None:
    async with _writing(), factory() as session:
        await session.execute(update(Peer).where(Peer.id == peer_id).values(**values))
        await session.commit()


async def _apply_page(
    factory: async_sessionmaker[AsyncSession],
    *,
    peer_id: int,
    expect: tuple[str | None, str | None],
    items: list[dict[str, Any]],
    root_code: str,
    after: dict[str, Any],
    new_generation: bool = False,
    finish_snapshot: bool = False,
    clock: Callable[[], datetime] = utcnow,
) -> bool:
    """One page and its cursor in one transaction; False when another puller moved the peer on meanwhile."""
    async with _writing(), factory() as session:
        query = select(Peer).where(Peer.id == peer_id).execution_options(populate_existing=True)
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update()
        peer = await session.scalar(query)
        if peer is None or (peer.cursor, peer.snapshot_token) != expect:
            await session.rollback()
            return False
        for key, value in after.items():
            setattr(peer, key, value)
        if new_generation:
            peer.generation += 1
        with paused_gc():
            await apply_items(session, peer=peer, items=items, root_code=root_code, now=clock())
        if finish_snapshot:
            await forget_stale(session, peer=peer, root_code=root_code)
        peer.rows_pulled += len(items)
        await session.commit()
        return True


class _WriterSlot:
    """A peer's turn at writing pages: taken for one page, or kept across pages while the peer has more to send
    (a bulk pull then runs `writers` peers at a time end to end, while the other peers' first pages, in a quiet
    round their only ones, go on at once)."""

    def __init__(self, gate: asyncio.Semaphore) -> None:
        self.gate = gate
        self.kept = False

    async def keep(self) -> None:
        if not self.kept:
            await self.gate.acquire()
            self.kept = True

    def release(self) -> None:
        if self.kept:
            self.gate.release()
            self.kept = False

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        if self.kept:
            yield
            return
        async with self.gate:
            yield


def _drop(ahead: "asyncio.Future[dict] | None") -> None:
    """Let go of a page fetched ahead that will not be applied (its failure, if any, is not this pull's)."""
    if ahead is None:
        return
    if ahead.done():
        if not ahead.cancelled():
            ahead.exception()  # retrieved: asyncio would otherwise log it as never retrieved
        return
    ahead.cancel()


async def pull_peer(
    peer: Peer,
    *,
    client: httpx.AsyncClient,
    factory: async_sessionmaker[AsyncSession],
    options: PullOptions,
    our_schema: str,
    clock: Callable[[], datetime] = utcnow,
    writers: asyncio.Semaphore | None = None,
) -> PullResult:
    """Pull one peer until it has nothing more; record its health either way."""
    assert peer.id is not None
    result = PullResult(peer=peer.name)
    started = time.perf_counter()
    slot = _WriterSlot(writers or asyncio.Semaphore(1))

    async def apply_page(**arguments: Any) -> bool:
        async with slot.turn():
            return await _apply_page(factory, peer_id=peer.id, root_code=root_code, clock=clock, **arguments)

    token = decrypt_token(peer.token_encrypted)
    base = peer.base_url.rstrip("/")
    ahead: asyncio.Future[dict] | None = None

    async def changes_after(since: str | None) -> dict:
        params = {"limit": options.page_limit} | ({"since": since} if since else {})
        return await _get(client, f"{base}/federation/v1/changes", token=token or "", params=params, options=options)

    try:
        outbound.check_url(peer.base_url, field="base_url", base=True)  # a peer registered before URLs were checked
        if token is None:
            raise PeerRefused("the stored token cannot be decrypted (SECRET_KEY changed?): register the peer again")
        manifest = await _get(client, f"{base}/federation/v1/manifest", token=token, params={}, options=options)
        if manifest.get("schema_version") != our_schema:
            raise PeerRefused(
                f"schema version {str(manifest.get('schema_version'))[:40]!r} differs from ours ({our_schema!r}): "
                "upgrade both instances to the same release"
            )
        root_code = manifest.get("root_org_unit_code")
        if not isinstance(root_code, str) or (peer.root_code is not None and root_code != peer.root_code):
            raise PeerRefused(f"the peer's root is {str(root_code)[:40]!r}, not the registered {peer.root_code!r}")
        if peer.root_code is None or peer.instance_id is None:
            await _record(factory, peer.id, root_code=root_code, instance_id=str(manifest.get("instance_id"))[:40])
        cursor, page = peer.cursor, peer.snapshot_token
        wants_snapshot = page is not None  # a fresh peer reads the log from its start; 410 sends it to a snapshot
        remaining = 0
        for _page in range(options.max_pages):
            if wants_snapshot:
                params: dict[str, Any] = {"limit": options.page_limit} | ({"page": page} if page else {})
                body = await _get(client, f"{base}/federation/v1/snapshot", token=token, params=params, options=options)
                items = _items(body)
                next_page, resume = body.get("next_page"), body.get("cursor")
                done = next_page is None
                if (done and not isinstance(resume, str)) or not (done or isinstance(next_page, str)):
                    raise PeerRefused("the peer's snapshot page carries neither a next page nor a cursor")
                after = {"snapshot_token": next_page, "cursor": resume if done else None}
                applied = await apply_page(
                    expect=(cursor, page), items=items, after=after, new_generation=page is None, finish_snapshot=done
                )
                if not applied:
                    raise Overtaken
                cursor, page = after["cursor"], after["snapshot_token"]
                wants_snapshot = not done
                if not done:
                    await slot.keep()
                result.rows += len(items)
                result.pages += 1
                continue
            fetching, ahead = ahead or changes_after(cursor), None
            try:
                body = await fetching
            except PeerAnswer as exc:
                if exc.status == 410:  # compacted past our cursor: start again from a snapshot
                    wants_snapshot = True
                    continue
                raise
            if body.get("since") != (cursor or ""):
                raise PeerRefused("the peer answered for another cursor (a stale or replayed page); nothing applied")
            items = _items(body)
            next_cursor = body.get("next_cursor")
            if not isinstance(next_cursor, str) or not isinstance(body.get("has_more"), bool):
                raise PeerRefused("the peer's page lacks next_cursor / has_more")
            # The next page travels while this one is applied: the peer serves as the city writes.
            ahead = asyncio.ensure_future(changes_after(next_cursor)) if body["has_more"] else None
            if next_cursor != cursor or items:
                applied = await apply_page(expect=(cursor, None), items=items, after={"cursor": next_cursor})
                if not applied:
                    raise Overtaken
                cursor = next_cursor
                result.rows += len(items)
            result.pages += 1
            remaining = int(body.get("remaining") or 0)
            if not body["has_more"]:
                break
            await slot.keep()
        now = clock()
        await _record(
            factory,
            peer.id,
            last_attempt_at=now,
            last_success_at=now,
            last_error=None,
            lag_rows=remaining,
            lag_seconds=0.0,
        )
    except Overtaken:
        result.error = "overtaken by another pull of this peer (which goes on)"
    except Exception as exc:
        # One peer's failure, whatever it is, is that peer's health and no other's.
        if isinstance(exc, AppError):
            message = exc.detail
        elif isinstance(exc, PeerUnavailable | PeerAnswer):
            message = str(exc)
        elif isinstance(exc, DBAPIError):  # what the database said of the peer's rows, without the SQL or its values
            message = "the database refused a page: " + (str(exc.orig).strip().splitlines() or ["?"])[0][:300]
        else:
            log.warning("pulling peer %s failed", peer.name, exc_info=exc)
            message = "internal error"
        result.ok, result.error = False, message[:1000]
        now = clock()
        last_success = peer.last_success_at
        await _record(
            factory,
            peer.id,
            last_attempt_at=now,
            last_error=result.error,
            lag_seconds=(now - last_success).total_seconds() if last_success else None,
        )
    finally:
        _drop(ahead)
        slot.release()
    result.seconds = time.perf_counter() - started
    return result


async def pull_all_peers(
    *,
    engine: AsyncEngine | None = None,
    session_factory: async_sessionmaker[AsyncSession] | None = None,
    now: Callable[[], datetime] | None = None,
    names: list[str] | None = None,
    options: PullOptions | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> list[PullResult]:
    """Pull every active peer (or those named) concurrently; one result per peer. The scheduler's job calls this."""
    clock = now or clock_now
    factory = session_factory or (
        async_sessionmaker(engine, expire_on_commit=False) if engine is not None else get_sessionmaker()
    )
    options = options or PullOptions.configured()
    reading = write_intent.set(False)  # the peer list is only read (a caller's write intent is not ours)
    try:
        async with factory() as session:
            wanted = Peer.name.in_(names) if names else Peer.status == PeerStatus.active
            peers = list((await session.scalars(select(Peer).where(wanted).order_by(Peer.name))).all())
            ours = await schema_version(session)
    finally:
        write_intent.reset(reading)
    limits = httpx.Limits(max_connections=max(10, 2 * len(peers)), max_keepalive_connections=max(10, len(peers)))
    gate = asyncio.Semaphore(max(1, options.concurrency))
    writers = asyncio.Semaphore(max(1, options.writers))

    async def one(peer: Peer) -> PullResult:
        async with gate:
            return await pull_peer(
                peer, client=client, factory=factory, options=options, our_schema=ours, clock=clock, writers=writers
            )

    transport = transport or outbound.GuardedTransport(limits=limits)  # peers' base URLs are the admins' choice
    async with httpx.AsyncClient(limits=limits, transport=transport, trust_env=False) as client:
        return list(await asyncio.gather(*(one(peer) for peer in peers)))
