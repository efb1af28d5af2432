"""The change feed an instance serves to the level above: manifest, changes in commit order, snapshot, compaction."""

import functools
import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypedDict

import orjson
from sqlalchemy import Text, case, cast, delete, func, literal, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth.models import Role
from shared.auth.scope import Principal
from shared.db import is_postgres, utcnow
from shared.errors import AppError, NotFound
from shared.federation import cursor as cursors
from shared.federation.models import ChangeLogEntry, Compaction, Instance
from shared.federation.payloads import canonical, paused_gc, table_of
from shared.federation.registry import BY_TABLE, REGISTRY
from shared.orgunits.models import OrgUnit

FEED_FORMAT = "cz-federation-1"
READERS = (Role.peer, Role.admin)
CHANGE = ChangeLogEntry.__table__


class ResyncFromSnapshot(AppError):
    """The reader's cursor lies below the compaction floor: it must start again from a snapshot."""

    status_code = 410
    title = "Resync from snapshot"
    type_slug = "resync-from-snapshot"


class Item(TypedDict):
    """One row as the feed sends it."""

    table: str
    id: int
    op: str
    row: dict[str, Any] | orjson.Fragment  # a Fragment: JSON text the database logged, sent as it is


@dataclass
class ChangesPage:
    """A page of the feed."""

    items: list[Item]
    next_cursor: str
    has_more: bool
    remaining: int
    scanned: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


async def schema_version(session: AsyncSession) -> str:
    """The feed format and the database's migration revision: two instances exchange rows only when both match."""
    revision = await session.scalar(text("SELECT version_num FROM alembic_version"))
    return f"{FEED_FORMAT}/{revision}"


@functools.cache
def catalogue_version() -> str:
    """A digest of the standards catalogue files this instance ships (they change only with a release)."""
    folder = Path(__file__).resolve().parents[1] / "indicators" / "catalogue"
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:16]


async def _scope_root(session: AsyncSession, *, actor: Principal, org_unit: str | None) -> OrgUnit | None:
    """The subtree served: the one asked for (inside the caller's scope, else 403), else the caller's own."""
    actor.require_role(READERS)
    if org_unit is not None:
        unit = await session.scalar(select(OrgUnit).where(OrgUnit.code == org_unit))
        if unit is None:
            raise NotFound(f"org unit {org_unit} does not exist")
        # A peer token without an org unit reads the whole tree's feed (covers() grants staff only).
        if actor.scope_path is not None:
            actor.require_covers(unit.path, what="org unit asked for")
        return unit
    if actor.scope_path is not None:
        unit_id = int(actor.scope_path.rstrip("/").rsplit("/", 1)[-1])
        return await session.get(OrgUnit, unit_id)
    return await session.scalar(
        select(OrgUnit).where(OrgUnit.parent_id.is_(None)).order_by(OrgUnit.level, OrgUnit.id).limit(1)
    )


async def manifest(session: AsyncSession, *, actor: Principal, org_unit: str | None = None) -> dict[str, Any]:
    """Who this instance is and what it serves."""
    root = await _scope_root(session, actor=actor, org_unit=org_unit)
    return {
        "instance_id": await session.scalar(select(Instance.instance_id).order_by(Instance.id).limit(1)),
        "schema_version": await schema_version(session),
        "root_org_unit_code": root.code if root else None,
        "catalogue_version": catalogue_version(),
        "tables": [tracked.table for tracked in REGISTRY],
    }


async def _bound(session: AsyncSession) -> tuple[int, int]:
    """(safe, newest): every change with txid < safe is committed or rolled back; txids beyond newest do not exist.

    Only transactions of this database count: a long transaction elsewhere on the cluster does not stall the feed.
    Read before the changes, in its own statement, so every txid below `safe` is already visible to the next one."""
    if not is_postgres(session):
        return cursors.MAX, cursors.MAX
    await session.execute(text("SELECT pg_stat_clear_snapshot()"))
    row = (
        await session.execute(
            text(
                "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS xmin, "
                "pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS xmax, "
                "(SELECT rolsuper OR pg_has_role(current_user, 'pg_read_all_stats', 'MEMBER') "
                " FROM pg_roles WHERE rolname = current_user) AS sees_all, "
                "ARRAY(SELECT backend_xid::text::bigint FROM pg_stat_activity "
                "      WHERE datname = current_database() AND backend_xid IS NOT NULL) AS running"
            )
        )
    ).one()
    xmax = int(row.xmax)
    if not row.sees_all:
        return int(row.xmin), xmax
    safe = xmax
    for xid32 in row.running:
        # Widen the 32-bit xid to the 64-bit one nearest xmax (it may be a little newer than the snapshot).
        delta = (int(xid32) - xmax) & 0xFFFFFFFF
        full = xmax + (delta - (1 << 32) if delta >= 1 << 31 else delta)
        safe = min(safe, full)
    return safe, xmax


async def floor(session: AsyncSession) -> tuple[int, int] | None:
    """The oldest position still served (after a compaction), if any."""
    row = (
        await session.execute(
            select(Compaction.floor_txid, Compaction.floor_id).order_by(Compaction.id.desc()).limit(1)
        )
    ).first()
    return (int(row[0]), int(row[1])) if row else None


def _after(position: tuple[int, int], *, postgres: bool) -> Any:
    if postgres:
        return tuple_(CHANGE.c.txid, CHANGE.c.id) > tuple_(literal(position[0]), literal(position[1]))
    return CHANGE.c.id > position[1]


async def changes(
    session: AsyncSession, *, actor: Principal, since: str | None, limit: int, org_unit: str | None = None
) -> ChangesPage:
    """The changes after a cursor in commit order, never past a transaction still in flight, inside the subtree."""
    root = await _scope_root(session, actor=actor, org_unit=org_unit)
    position = cursors.decode(since)
    postgres = is_postgres(session)
    compacted = await floor(session)
    if compacted is not None and position < compacted:
        raise ResyncFromSnapshot(
            "the change log was compacted past this cursor: resync from GET /federation/v1/snapshot",
            errors=[{"field": "since", "message": "below the compaction floor"}],
        )
    safe, newest = await _bound(session)
    last_id = 0 if postgres else await session.scalar(select(func.max(CHANGE.c.id))) or 0
    if (postgres and position[0] >= newest) or (not postgres and position[1] > last_id):
        raise cursors.BadCursor("the cursor lies beyond the newest change of this instance")
    query = (_logged_rows() if postgres else select(CHANGE)).where(_after(position, postgres=postgres))
    if postgres:
        query = query.where(CHANGE.c.txid < safe).order_by(CHANGE.c.txid, CHANGE.c.id)
    else:
        query = query.order_by(CHANGE.c.id)
    with paused_gc():
        rows = (await session.execute(query.limit(limit + 1))).all()
        has_more = len(rows) > limit
        rows = rows[:limit]
        if rows:
            position = (int(rows[-1].txid) if postgres else 0, int(rows[-1].id))
        if postgres:
            # Unpacked by position (the columns of _logged_rows): a Row's attributes cost 40% of serving a page.
            scopes = [(table, row_id, scope) for _txid, _id, table, row_id, _op, _payload, scope in rows]
            inside = await _inside(session, root=root, rows=scopes)
            items: list[Item] = [
                {"table": table, "id": row_id, "op": op, "row": orjson.Fragment(payload or "{}")}
                for (_txid, _id, table, row_id, op, payload, _scope), keep in zip(rows, inside, strict=True)
                if keep and table in BY_TABLE
            ]
        else:
            scopes = [(r.table_name, r.row_id, _scope_of(r.table_name, r.payload or {})) for r in rows]
            inside = await _inside(session, root=root, rows=scopes)
            items = [
                Item(table=r.table_name, id=r.row_id, op=r.op, row=canonical(r.table_name, r.payload or {}))
                for r, keep in zip(rows, inside, strict=True)
                if keep and r.table_name in BY_TABLE
            ]
    remaining = 0
    if not has_more:
        rest = select(CHANGE.c.id).where(_after(position, postgres=postgres))
        if postgres:
            rest = rest.where(CHANGE.c.txid < safe)
        remaining = await session.scalar(select(func.count()).select_from(rest.limit(100_000).subquery())) or 0
    return ChangesPage(
        items=items, next_cursor=cursors.encode(position), has_more=has_more, remaining=remaining, scanned=len(rows)
    )


def _logged_rows() -> Any:
    """PostgreSQL: the log's rows with the payload as the JSON text to_json() wrote (already typed JSON: it is sent
    without being decoded and encoded again) and, beside it, the value the subtree check reads (_scope_of: each read
    parses the text, so only the table's own)."""
    scope_value = case(
        {t.table: CHANGE.c.payload[t.scope[0]].as_string() for t in REGISTRY if t.scope is not None}
        | {"org_unit": CHANGE.c.payload["path"].as_string()},
        value=CHANGE.c.table_name,
    )
    return select(
        CHANGE.c.txid, CHANGE.c.id, CHANGE.c.table_name, CHANGE.c.row_id, CHANGE.c.op,
        cast(CHANGE.c.payload, Text).label("payload_text"), scope_value.label("scope_value"),
    )  # fmt: skip


def _scope_of(table: str, row: dict[str, Any]) -> Any:
    """The value of a row that places it in the tree: its scope column's, or an org unit's own path."""
    if table == "org_unit":
        return row.get("path")
    tracked = BY_TABLE.get(table)
    return row.get(tracked.scope[0]) if tracked is not None and tracked.scope is not None else None


async def _inside(session: AsyncSession, *, root: OrgUnit | None, rows: list[tuple[str, int, Any]]) -> list[bool]:
    """Whether each (table, id, scope value: _scope_of) belongs to the served subtree (global tables always do)."""
    if root is None:
        return [False] * len(rows)
    prefix = root.path
    # Resolve each row to an org unit id by following its scope column, one batched lookup per hop.
    unit_of: list[int | None] = [None] * len(rows)
    pending: dict[tuple[str, int], list[int]] = {}
    verdict: list[bool | None] = [None] * len(rows)
    for index, (table, row_id, scope) in enumerate(rows):
        tracked = BY_TABLE.get(table)
        if tracked is None:
            verdict[index] = False
        elif table == "org_unit":
            unit_of[index] = row_id
        elif tracked.scope is None:
            verdict[index] = True
        else:
            target = tracked.scope[1]
            if scope is None:
                verdict[index] = False
            elif target == "org_unit":
                unit_of[index] = int(scope)
            else:
                pending.setdefault((target, int(scope)), []).append(index)
    while pending:
        following: dict[tuple[str, int], list[int]] = {}
        for target in {key[0] for key in pending}:
            ids = [key[1] for key in pending if key[0] == target]
            column, next_target = BY_TABLE[target].scope or ("org_unit_id", "org_unit")
            table = table_of(target)
            found = dict((await session.execute(select(table.c.id, table.c[column]).where(table.c.id.in_(ids)))).all())
            for row_id in ids:
                indexes = pending[(target, row_id)]
                value = found.get(row_id)
                if value is None:
                    for index in indexes:
                        verdict[index] = False
                elif next_target == "org_unit":
                    for index in indexes:
                        unit_of[index] = int(value)
                else:
                    following.setdefault((next_target, int(value)), []).extend(indexes)
        pending = following
    unit_ids = {unit for unit in unit_of if unit is not None}
    paths: dict[int, str] = {}
    for start in range(0, len(unit_ids), 5000):
        chunk = list(unit_ids)[start : start + 5000]
        paths |= dict((await session.execute(select(OrgUnit.id, OrgUnit.path).where(OrgUnit.id.in_(chunk)))).all())
    result = []
    for index, (table, _row_id, scope) in enumerate(rows):
        if verdict[index] is not None:
            result.append(bool(verdict[index]))
            continue
        unit = unit_of[index]
        path = paths.get(unit) if unit is not None else None
        if path is None and table == "org_unit":
            path = scope  # a deleted unit: where it was
        result.append(path is not None and path.startswith(prefix))
    return result


def _snapshot_order(table: str) -> list[Any]:
    columns = table_of(table).c
    if table == "org_unit":
        return [func.length(columns.path), columns.id]  # parents before their children
    return [columns.id]


async def snapshot(
    session: AsyncSession, *, actor: Principal, page: str | None, limit: int, org_unit: str | None = None
) -> dict[str, Any]:
    """The current rows of every tracked table, a page at a time; the last page names the cursor to go on from."""
    root = await _scope_root(session, actor=actor, org_unit=org_unit)
    postgres = is_postgres(session)
    if page:
        token = _decode_page(page)
    else:
        safe, _newest = await _bound(session)
        last_id = await session.scalar(select(func.max(CHANGE.c.id))) or 0
        # Every change of a transaction below `safe` is already visible; the feed goes on from there.
        resume = (safe - 1, cursors.MAX) if postgres else (0, last_id)
        token = {"t": 0, "k": [], "c": list(resume)}
    items: list[Item] = []
    while token["t"] < len(REGISTRY) and len(items) < limit:
        name = REGISTRY[token["t"]].table
        table = table_of(name)
        order = _snapshot_order(name)
        query = select(table).order_by(*order).limit(limit - len(items))
        if token["k"]:
            query = query.where(tuple_(*order) > tuple_(*[literal(v) for v in token["k"]]))
        with paused_gc():
            rows = [dict(row._mapping) for row in (await session.execute(query)).all()]
        if len(rows) < limit - len(items):
            token = {"t": token["t"] + 1, "k": [], "c": token["c"]}
        elif rows:
            last = rows[-1]
            token = {
                "t": token["t"],
                "k": [len(last["path"]), last["id"]] if name == "org_unit" else [last["id"]],
                "c": token["c"],
            }
        inside = await _inside(session, root=root, rows=[(name, row["id"], _scope_of(name, row)) for row in rows])
        with paused_gc():
            items += [
                Item(table=name, id=row["id"], op="upsert", row=canonical(name, row))
                for row, keep in zip(rows, inside, strict=True)
                if keep
            ]
    done = token["t"] >= len(REGISTRY)
    return {
        "items": items,
        "next_page": None if done else _encode_page(token),
        "cursor": cursors.encode(tuple(token["c"])) if done else None,
    }


def _encode_page(token: dict[str, Any]) -> str:
    return cursors.encode((token["t"], token["c"][0])) + "." + ".".join(str(v) for v in [token["c"][1], *token["k"]])


def _decode_page(page: str) -> dict[str, Any]:
    try:
        head, *rest = page.split(".")
        table_index, resume_txid = cursors.decode(head, field="page")
        values = [int(v) for v in rest]
        if not 0 <= table_index < len(REGISTRY) or not values:
            raise ValueError
        return {"t": table_index, "k": values[1:], "c": [resume_txid, values[0]]}
    except ValueError as exc:
        raise cursors.BadCursor("the snapshot page token is not one this instance issued", field="page") from exc


async def compact(session: AsyncSession, *, older_than: timedelta, now: datetime | None = None) -> int:
    """Drop every change superseded by a later change of the same row, older than the horizon; the number dropped.

    Readers whose cursor lies below the new floor get 410 and resync from the snapshot."""
    horizon_time = (now or utcnow()) - older_than
    postgres = is_postgres(session)
    safe, _newest = await _bound(session)
    edge_query = select(CHANGE.c.txid, CHANGE.c.id).where(CHANGE.c.changed_at < horizon_time)
    if postgres:
        edge_query = edge_query.where(CHANGE.c.txid < safe).order_by(CHANGE.c.txid.desc(), CHANGE.c.id.desc())
    else:
        edge_query = edge_query.order_by(CHANGE.c.id.desc())
    edge = (await session.execute(edge_query.limit(1))).first()
    if edge is None:
        return 0
    horizon = (int(edge.txid or 0), int(edge.id))
    # One sort of the log ranks each row's changes, newest first (commit order: txid then id on PostgreSQL), so
    # that writes need no index on (table_name, row_id) for this occasional job.
    newest_first = (CHANGE.c.txid.desc(), CHANGE.c.id.desc()) if postgres else (CHANGE.c.id.desc(),)
    ranked = select(
        CHANGE.c.id,
        func.row_number()
        .over(partition_by=(CHANGE.c.table_name, CHANGE.c.row_id), order_by=newest_first)
        .label("newer_changes"),
    ).subquery("ranked")
    superseded = select(ranked.c.id).where(ranked.c.newer_changes > 1)
    inside_horizon = ~_after(horizon, postgres=postgres) if postgres else CHANGE.c.id <= horizon[1]
    result = await session.execute(delete(CHANGE).where(inside_horizon, CHANGE.c.id.in_(superseded)))
    removed = result.rowcount or 0
    session.add(Compaction(floor_txid=horizon[0] if postgres else 0, floor_id=horizon[1], removed=removed))
    await session.flush()
    return removed
