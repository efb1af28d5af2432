"""Applying a peer's rows: map its ids to ours, attach its root under the covered unit, refuse what lies outside."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Table, and_, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import utcnow
from shared.errors import AppError
from shared.federation.models import Peer, PulledRow
from shared.federation.payloads import canonical, table_of, to_python
from shared.federation.registry import BY_TABLE, ORDER

ROW = PulledRow.__table__
SOURCE_TABLES = ("data_value", "activity")  # tables whose `source` column says where a figure came from


class PeerRefused(AppError):
    """A peer sent something this instance will not apply (nothing of the page was)."""

    status_code = 422
    title = "Peer refused"
    type_slug = "peer-refused"


@dataclass
class Mapping:
    """The peer's ids this instance knows, and the local copies' paths (org units)."""

    peer: Peer
    covered_path: str
    covered_id: int
    local: dict[tuple[str, int], int | None] = field(default_factory=dict)
    paths: dict[int, str] = field(default_factory=dict)


def _foreign_keys(table: Table) -> dict[str, str]:
    return {fk.parent.name: fk.column.table.name for fk in table.foreign_keys}


async def _load(session: AsyncSession, mapping: Mapping, items: list[dict[str, Any]]) -> None:
    wanted: dict[str, set[int]] = {}
    for item in items:
        wanted.setdefault(item["table"], set()).add(item["id"])
        if item["table"] not in BY_TABLE:
            continue
        for column, target in _foreign_keys(table_of(item["table"])).items():
            value = item["row"].get(column)
            if target in BY_TABLE and isinstance(value, int):
                wanted.setdefault(target, set()).add(value)
    for table, ids in wanted.items():
        ids -= {key[1] for key in mapping.local if key[0] == table}
        for start in range(0, len(ids), 5000):
            chunk = list(ids)[start : start + 5000]
            query = select(ROW.c.remote_id, ROW.c.local_id).where(
                ROW.c.peer_id == mapping.peer.id, ROW.c.table_name == table, ROW.c.remote_id.in_(chunk)
            )
            for remote_id, local_id in (await session.execute(query)).all():
                mapping.local[(table, remote_id)] = local_id


async def _path(session: AsyncSession, mapping: Mapping, unit_id: int) -> str | None:
    if unit_id not in mapping.paths:
        org_unit = table_of("org_unit")
        path = await session.scalar(select(org_unit.c.path).where(org_unit.c.id == unit_id))
        if path is None:
            return None
        mapping.paths[unit_id] = path
    return mapping.paths[unit_id]


def _where_key(table: Table, key: dict[str, Any]) -> Any:
    return and_(
        *[(table.c[name].is_(None) if value is None else table.c[name] == value) for name, value in key.items()]
    )


async def apply_items(
    session: AsyncSession, *, peer: Peer, items: list[dict[str, Any]], root_code: str, now: datetime | None = None
) -> int:
    """Apply a page of a peer's rows in order inside the caller's transaction; PeerRefused when anything is off."""
    covered = table_of("org_unit")
    covered_path = await session.scalar(select(covered.c.path).where(covered.c.id == peer.covered_org_unit_id))
    if covered_path is None:
        raise PeerRefused("the covered org unit no longer exists")
    mapping = Mapping(peer=peer, covered_path=covered_path, covered_id=peer.covered_org_unit_id)
    await _load(session, mapping, items)
    pulled_at = now or utcnow()
    for position, item in enumerate(items):
        try:
            await _apply_one(session, mapping, item, root_code=root_code, pulled_at=pulled_at)
        except PeerRefused as exc:
            raise PeerRefused(
                f"row {position} ({item['table']} {item['id']}): {exc.detail}",
                errors=[{"row": position, "field": item["table"], "message": exc.detail}],
            ) from exc
        except (ValueError, TypeError, KeyError) as exc:
            raise PeerRefused(
                f"row {position} ({item.get('table')} {item.get('id')}): malformed ({exc})",
                errors=[{"row": position, "message": f"malformed: {exc}"}],
            ) from exc
    return len(items)


async def _apply_one(
    session: AsyncSession, mapping: Mapping, item: dict[str, Any], *, root_code: str, pulled_at: datetime
) -> None:
    name, remote_id, op = item["table"], item["id"], item["op"]
    tracked = BY_TABLE.get(name)
    if tracked is None:
        raise PeerRefused(f"table {name} is not one this instance federates")
    table = table_of(name)
    key = (name, remote_id)
    local_id = mapping.local.get(key)
    if op == "delete":
        if key in mapping.local:
            if local_id is not None and not tracked.mirror_only and name != "data_element":
                await session.execute(delete(table).where(table.c.id == local_id))
            await session.execute(
                delete(ROW).where(
                    ROW.c.peer_id == mapping.peer.id, ROW.c.table_name == name, ROW.c.remote_id == remote_id
                )
            )
            mapping.local.pop(key, None)
        return
    if op != "upsert":
        raise PeerRefused(f"unknown op {op!r}")
    row = canonical(name, item["row"])
    if not tracked.mirror_only:
        local_id = await _write_local(session, mapping, name=name, row=row, local_id=local_id, root_code=root_code)
    await _remember(session, mapping, name=name, remote_id=remote_id, local_id=local_id, row=row, pulled_at=pulled_at)


async def _write_local(
    session: AsyncSession, mapping: Mapping, *, name: str, row: dict[str, Any], local_id: int | None, root_code: str
) -> int:
    tracked = BY_TABLE[name]
    table = table_of(name)
    values = {column: to_python(name, column, value) for column, value in row.items() if column != "id"}
    for column in tracked.drop:
        values[column] = None
    for column, target in _foreign_keys(table).items():
        remote = values.get(column)
        if remote is None:
            continue
        if target not in BY_TABLE:
            values[column] = None  # users and other instance-local rows do not travel
            continue
        if name == "org_unit" and column == "parent_id" and row.get("code") == root_code:
            continue
        mapped = mapping.local.get((target, int(remote)))
        if mapped is None:
            raise PeerRefused(f"{column} refers to {target} {remote}, which lies outside the subtree the peer covers")
        values[column] = mapped
    if name == "data_element":
        existing = await session.scalar(select(table.c.id).where(table.c.code == values["code"]))
        if existing is not None:
            return existing  # the catalogue is shared: map, never overwrite
    if name in SOURCE_TABLES:
        values["source"] = f"peer:{mapping.peer.name}"[:40]
    if name == "org_unit":
        return await _write_unit(session, mapping, values=values, local_id=local_id, root_code=root_code)
    if local_id is None and tracked.natural_key:
        found = await session.scalar(
            select(table.c.id).where(_where_key(table, {k: values.get(k) for k in tracked.natural_key}))
        )
        if found is not None:
            await _check_adoptable(session, mapping, name=name, local_id=found)
            local_id = found
    if local_id is not None:
        done = await session.execute(update(table).where(table.c.id == local_id).values(**values))
        if done.rowcount:
            return local_id
    return await session.scalar(insert(table).values(**values).returning(table.c.id))


async def _check_adoptable(session: AsyncSession, mapping: Mapping, *, name: str, local_id: int) -> None:
    """A local row with the same natural key may be taken over only inside the covered subtree, from no other peer."""
    other = await session.scalar(
        select(ROW.c.peer_id).where(
            ROW.c.table_name == name, ROW.c.local_id == local_id, ROW.c.peer_id != mapping.peer.id
        )
    )
    if other is not None:
        raise PeerRefused(f"the same {name} already comes from peer {other}")
    table = table_of(name)
    if "org_unit_id" in table.c and name != "org_unit":
        unit_id = await session.scalar(select(table.c.org_unit_id).where(table.c.id == local_id))
        path = await _path(session, mapping, unit_id) if unit_id is not None else None
        if path is None or not path.startswith(mapping.covered_path):
            raise PeerRefused(f"a {name} with the same key exists outside the subtree the peer covers")


async def _write_unit(
    session: AsyncSession, mapping: Mapping, *, values: dict[str, Any], local_id: int | None, root_code: str
) -> int:
    org_unit = table_of("org_unit")
    code = values["code"]
    if code == root_code:
        values["parent_id"] = mapping.covered_id
    elif values.get("parent_id") is None:
        raise PeerRefused(f"org unit {code} is a second root: only {root_code} may be the peer's root")
    parent_path = await _path(session, mapping, values["parent_id"])
    if parent_path is None or not parent_path.startswith(mapping.covered_path):
        raise PeerRefused(f"org unit {code} would lie outside the covered unit")
    if local_id is None:
        existing = (
            await session.execute(select(org_unit.c.id, org_unit.c.path).where(org_unit.c.code == code))
        ).first()
        if existing is not None:
            if not existing.path.startswith(mapping.covered_path) or existing.id == mapping.covered_id:
                raise PeerRefused(f"org unit code {code} already belongs to a unit outside the subtree the peer covers")
            await _check_adoptable(session, mapping, name="org_unit", local_id=existing.id)
            local_id = existing.id
    if local_id is not None:
        old_path = await _path(session, mapping, local_id)
        if old_path is not None:
            new_path = f"{parent_path}{local_id}/"
            values["path"] = new_path
            await session.execute(update(org_unit).where(org_unit.c.id == local_id).values(**values))
            if new_path != old_path:  # moved: its subtree's paths follow
                await _repath(session, mapping, old_path=old_path, new_path=new_path)
            mapping.paths[local_id] = new_path
            return local_id
    values["path"] = ""
    local_id = await session.scalar(insert(org_unit).values(**values).returning(org_unit.c.id))
    path = f"{parent_path}{local_id}/"
    await session.execute(update(org_unit).where(org_unit.c.id == local_id).values(path=path))
    mapping.paths[local_id] = path
    return local_id


async def _repath(session: AsyncSession, mapping: Mapping, *, old_path: str, new_path: str) -> None:
    org_unit = table_of("org_unit")
    rows = (
        await session.execute(select(org_unit.c.id, org_unit.c.path).where(org_unit.c.path.startswith(old_path)))
    ).all()
    for unit_id, path in rows:
        if path != old_path:
            moved = new_path + path[len(old_path) :]
            await session.execute(update(org_unit).where(org_unit.c.id == unit_id).values(path=moved))
            mapping.paths[unit_id] = moved


async def _remember(
    session: AsyncSession,
    mapping: Mapping,
    *,
    name: str,
    remote_id: int,
    local_id: int | None,
    row: dict[str, Any],
    pulled_at: datetime,
) -> None:
    values = {"local_id": local_id, "payload": row, "pulled_at": pulled_at, "generation": mapping.peer.generation}
    if (name, remote_id) in mapping.local:
        await session.execute(
            update(ROW)
            .where(ROW.c.peer_id == mapping.peer.id, ROW.c.table_name == name, ROW.c.remote_id == remote_id)
            .values(**values)
        )
    else:
        await session.execute(
            insert(ROW).values(peer_id=mapping.peer.id, table_name=name, remote_id=remote_id, **values)
        )
    mapping.local[(name, remote_id)] = local_id


async def forget_stale(session: AsyncSession, *, peer: Peer, root_code: str) -> int:
    """After a full snapshot: delete what the peer no longer has (rows of an older generation), children first."""
    stale = (
        await session.execute(
            select(ROW.c.table_name, ROW.c.remote_id).where(
                ROW.c.peer_id == peer.id, ROW.c.generation < peer.generation
            )
        )
    ).all()

    items = [
        {"table": table, "id": remote_id, "op": "delete", "row": {}}
        for table, remote_id in sorted(stale, key=lambda r: (-ORDER.get(r[0], 0), -r[1]))
    ]
    await apply_items(session, peer=peer, items=items, root_code=root_code)
    return len(items)
