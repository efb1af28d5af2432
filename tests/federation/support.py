"""Instances on loopback for federation tests: databases, seed rows, a fault-injecting proxy, checksums."""

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from shared.auth.models import Role, User
from shared.auth.scope import SYSTEM
from shared.auth.service import issue_api_token
from shared.db import make_engine, write_intent
from shared.federation import cursor as cursors
from shared.federation.mapping import SOURCE_TABLES, foreign_keys
from shared.federation.models import PulledRow
from shared.federation.payloads import canonical, table_of
from shared.federation.registry import BY_TABLE, REGISTRY
from shared.orgunits.models import KIND_LEVELS, OrgUnit, OrgUnitKind
from shared.statistics.elements import sync_elements


@dataclass
class Instance:
    """One CultureZone instance: its database and, once started, its API."""

    name: str
    url: str
    base: str = ""
    peer_token: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def engine(self) -> AsyncEngine:
        """A fresh engine on the instance's database."""
        return make_engine(self.url)


async def seed_tree(url: str, units: list[tuple[str, str, OrgUnitKind, str | None]], *, peer_user: str | None) -> str:
    """Create org units (code, name, kind, parent code) and optionally a peer user scoped to the first; its token."""
    engine = make_engine(url)
    token = ""
    write_intent.set(True)
    try:
        factory = async_sessionmaker(engine, expire_on_commit=False)
        async with factory() as session:
            await sync_elements(session)
            by_code: dict[str, OrgUnit] = {}
            for code, name, kind, parent in units:
                parent_unit = by_code.get(parent) if parent else None
                unit = OrgUnit(
                    code=code,
                    name=name,
                    kind=kind,
                    level=KIND_LEVELS[kind],
                    path="",
                    parent_id=parent_unit.id if parent_unit else None,
                )
                session.add(unit)
                await session.flush()
                unit.path = f"{parent_unit.path if parent_unit else '/'}{unit.id}/"
                by_code[code] = unit
            await session.flush()
            if peer_user:
                user = User(username=peer_user, role=Role.peer, org_unit_id=by_code[units[0][0]].id)
                session.add(user)
                await session.flush()
                _row, token = await issue_api_token(session, actor=SYSTEM, user_id=user.id, name="city")
            await session.commit()
    finally:
        await engine.dispose()
    return token


async def write_values(url: str, values: list[tuple[str, str, str, float]]) -> None:
    """Write (element, org unit code, period, value) figures as a clerk would, through the statistics service."""
    from shared.statistics.schemas import DataValueIn
    from shared.statistics.service import write_values as service_write

    engine = make_engine(url)
    write_intent.set(True)
    try:
        async with async_sessionmaker(engine, expire_on_commit=False)() as session:
            items = [DataValueIn(element=e, org_unit_code=c, period=p, value=v) for e, c, p, v in values]
            await service_write(session, actor=SYSTEM, values=items)
            await session.commit()
    finally:
        await engine.dispose()


def as_copied(table: str, row: dict[str, Any]) -> dict[str, Any]:
    """A row in the canonical form, without what a higher instance sets itself: the `source` of figures and
    activities, columns that mean nothing elsewhere (user ids), and of a catalogue element all but its code (the
    catalogue is every instance's own: a pulled element is mapped to it, not copied)."""
    if table == "data_element":
        return {"code": row["code"]}
    dropped = {*BY_TABLE[table].drop, *(["source"] if table in SOURCE_TABLES else [])}
    return {column: value for column, value in canonical(table, row).items() if column not in dropped}


async def district_state(url: str) -> dict[tuple[str, int], dict[str, Any]]:
    """Every tracked row of an instance as a higher instance copies it, by (table, id)."""
    engine = make_engine(url)
    state: dict[tuple[str, int], dict[str, Any]] = {}
    try:
        async with engine.connect() as connection:
            for tracked in REGISTRY:
                table = table_of(tracked.table)
                for row in (await connection.execute(select(table))).all():
                    state[(tracked.table, row.id)] = as_copied(tracked.table, dict(row._mapping))
    finally:
        await engine.dispose()
    return state


async def city_copy(url: str, peer_name: str) -> dict[tuple[str, int], dict[str, Any]]:
    """What the city holds of a peer, given back in the peer's ids: its local copies (the rows kept as pulled for
    the tables not copied), by (table, the peer's id)."""
    engine = make_engine(url)
    copy: dict[tuple[str, int], dict[str, Any]] = {}
    try:
        async with engine.connect() as connection:
            peer = (
                await connection.execute(
                    text(
                        "SELECT p.id, p.covered_org_unit_id, u.path FROM federation_peer p "
                        "JOIN org_unit u ON u.id = p.covered_org_unit_id WHERE p.name = :name"
                    ),
                    {"name": peer_name},
                )
            ).one()
            pulled = (
                await connection.execute(
                    select(PulledRow.table_name, PulledRow.remote_id, PulledRow.local_id, PulledRow.payload).where(
                        PulledRow.peer_id == peer.id
                    )
                )
            ).all()
            remote = {(t, local): int(r) for t, r, local, _p in pulled if local is not None}
            copied: dict[str, list[int]] = {}
            for name, local in remote:
                copied.setdefault(name, []).append(local)
            local_rows: dict[tuple[str, int], dict[str, Any]] = {}
            for name, ids in copied.items():
                table = table_of(name)
                for row in (await connection.execute(select(table).where(table.c.id.in_(ids)))).all():
                    local_rows[(name, row.id)] = dict(row._mapping)
    finally:
        await engine.dispose()

    def back(name: str, column: str, value: Any) -> Any:
        if name == "org_unit" and column == "parent_id" and value == peer.covered_org_unit_id:
            return None  # the peer's root hangs under the covered unit here; at the peer it has no parent
        return remote.get((foreign_keys(table_of(name))[column], value), f"local id {value}, not the peer's")

    for name, remote_id, local_id, payload in pulled:
        if payload is not None:  # kept as pulled
            copy[(name, int(remote_id))] = as_copied(name, json.loads(payload) if isinstance(payload, str) else payload)
            continue
        row = local_rows.get((name, local_id))
        if row is None:
            continue  # a row missing here: the comparison shows it
        row = row | {"id": int(remote_id)}
        for column in foreign_keys(table_of(name)):
            if row[column] is not None:
                row[column] = back(name, column, row[column])
        if name == "org_unit":
            below = row["path"].removeprefix(peer.path).strip("/").split("/")
            row["path"] = "/" + "".join(f"{remote.get(('org_unit', int(i)), i)}/" for i in below)
        copy[(name, int(remote_id))] = as_copied(name, row)
    return copy


async def city_figures(url: str, *, source: str | None = None) -> set[tuple[str, str, str, float]]:
    """(element, org unit code, period, value) of every unit-level figure (of one source)."""
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            query = (
                "SELECT e.code, u.code, v.period, v.value FROM data_value v JOIN data_element e ON e.id = v.element_id "
                "JOIN org_unit u ON u.id = v.org_unit_id"
            )
            params = {}
            if source:
                query += " WHERE v.source = :source"
                params["source"] = source
            rows = (await connection.execute(text(query), params)).all()
    finally:
        await engine.dispose()
    return {(e, u, p, float(v)) for e, u, p, v in rows}


async def replay(base: str, token: str, *, until: str | None, limit: int) -> dict[tuple[str, int], dict[str, Any]]:
    """The state a reader has after reading the feed from its start up to a cursor, with the puller's page size."""
    state: dict[tuple[str, int], dict[str, Any]] = {}
    if until is None:
        return state
    since: str | None = None
    goal = cursors.decode(until)
    async with httpx.AsyncClient() as client:
        for _ in range(100_000):
            step = limit
            while True:  # big pages until one would pass the goal, then one change at a time
                params: dict[str, Any] = {"limit": step} | ({"since": since} if since else {})
                body = (
                    await client.get(
                        f"{base}/federation/v1/changes", params=params, headers={"Authorization": f"Bearer {token}"}
                    )
                ).json()
                if step == 1 or cursors.decode(body["next_cursor"]) <= goal:
                    break
                step = 1
            for item in body["items"]:
                key = (item["table"], item["id"])
                if item["op"] == "delete":
                    state.pop(key, None)
                else:
                    state[key] = as_copied(item["table"], item["row"])
            since = body["next_cursor"]
            if since == until or not body["has_more"]:
                break
    assert since == until, "the city's cursor is not a page boundary of the district's feed"
    return state


class FaultProxy:
    """A loopback HTTP proxy in front of a district that misbehaves on request: faults are (path part, kind)."""

    KINDS = ("reset", "500", "timeout", "truncate", "replay")

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.faults: list[tuple[str, str]] = []
        self.served: list[tuple[str, str]] = []
        self.last_body: dict[str, bytes] = {}
        self.rewrite_manifest: Any = None
        self.inject_items: list[dict[str, Any]] | None = None
        self.port = 0
        self._server: asyncio.base_events.Server | None = None
        self._client = httpx.AsyncClient()

    @property
    def base(self) -> str:
        """The proxy's URL."""
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        """Listen on a free loopback port."""
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
        await self._client.aclose()

    def _fault_for(self, target: str) -> str | None:
        for index, (part, kind) in enumerate(self.faults):
            if part in target:
                del self.faults[index]
                return kind
        return None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.close()
            return
        lines = head.decode("latin-1").split("\r\n")
        _method, target, _version = lines[0].split(" ", 2)
        headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:] if ":" in line)}
        kind = self._fault_for(target)
        self.served.append((target, kind or "ok"))
        path = target.split("?", 1)[0]
        try:
            if kind == "timeout":
                await asyncio.sleep(5)
                return
            if kind == "500":
                await self._send(writer, 500, b'{"detail": "injected"}')
                return
            if kind == "replay" and path in self.last_body:
                await self._send(writer, 200, self.last_body[path])
                return
            upstream = await self._client.get(
                self.upstream + target, headers={"authorization": headers.get("authorization", "")}, timeout=30
            )
            body = upstream.content
            if upstream.status_code == 200:
                self.last_body[path] = body
            if upstream.status_code == 200 and path.endswith("/manifest") and self.rewrite_manifest is not None:
                body = json.dumps(self.rewrite_manifest(json.loads(body))).encode()
            if upstream.status_code == 200 and path.endswith("/changes") and self.inject_items is not None:
                body = json.dumps(json.loads(body) | {"items": self.inject_items}).encode()
                self.inject_items = None
            if kind == "reset":
                writer.write(
                    f"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n".encode()
                    + body[: len(body) // 2]
                )
                await writer.drain()
                writer.transport.abort()
                return
            if kind == "truncate":
                body = body[: max(1, len(body) * 2 // 3)]
            await self._send(writer, upstream.status_code, body, content_type=upstream.headers.get("content-type", ""))
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    @staticmethod
    async def _send(
        writer: asyncio.StreamWriter, status: int, body: bytes, *, content_type: str = "application/json"
    ) -> None:
        writer.write(
            f"HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\ncontent-length: {len(body)}\r\n"
            "connection: close\r\n\r\n".encode()
            + body
        )
        await writer.drain()


@contextlib.asynccontextmanager
async def proxy_to(upstream: str) -> AsyncIterator[FaultProxy]:
    """A running fault proxy."""
    proxy = FaultProxy(upstream)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.stop()


YEAR = "2019"
TODAY = date(2019, 6, 1)
