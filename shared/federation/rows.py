"""Applying a peer's rows one at a time: org units (attached under the covered unit, paths rebuilt) and whatever
cannot go a run at a time."""

from datetime import datetime
from typing import Any

from sqlalchemy import Table, and_, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.federation.mapping import (
    ROW,
    SOURCE_TABLES,
    Mapping,
    PeerRefused,
    check_adoptable,
    mapped_foreign_keys,
    unit_path,
)
from shared.federation.payloads import canonical, table_of, to_python
from shared.federation.registry import BY_TABLE


def _where_key(table: Table, key: dict[str, Any]) -> Any:
    return and_(
        *[(table.c[name].is_(None) if value is None else table.c[name] == value) for name, value in key.items()]
    )


async def apply_one(
    session: AsyncSession, mapping: Mapping, item: dict[str, Any], *, root_code: str, pulled_at: datetime
) -> None:
    """One row of a page: written here (unless the table is mirrored only), and remembered with where it came from."""
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
    if name == "org_unit" and row.get("code") == root_code:
        values.pop("parent_id", None)  # the peer's root: _write_unit hangs it under the covered unit
    mapped_foreign_keys(mapping, name=name, values=values, index=0)
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
            await check_adoptable(session, mapping, name=name, local_id=found)
            local_id = found
    if local_id is not None:
        done = await session.execute(update(table).where(table.c.id == local_id).values(**values))
        if done.rowcount:
            return local_id
    return await session.scalar(insert(table).values(**values).returning(table.c.id))


async def _write_unit(
    session: AsyncSession, mapping: Mapping, *, values: dict[str, Any], local_id: int | None, root_code: str
) -> int:
    org_unit = table_of("org_unit")
    code = values["code"]
    if code == root_code:
        values["parent_id"] = mapping.covered_id
    elif values.get("parent_id") is None:
        raise PeerRefused(f"org unit {code} is a second root: only {root_code} may be the peer's root")
    parent_path = await unit_path(session, mapping, values["parent_id"])
    if parent_path is None or not parent_path.startswith(mapping.covered_path):
        raise PeerRefused(f"org unit {code} would lie outside the covered unit")
    if local_id is None:
        existing = (
            None
            if code in mapping.absent_codes
            else (await session.execute(select(org_unit.c.id, org_unit.c.path).where(org_unit.c.code == code))).first()
        )
        if existing is not None:
            if not existing.path.startswith(mapping.covered_path) or existing.id == mapping.covered_id:
                raise PeerRefused(f"org unit code {code} already belongs to a unit outside the subtree the peer covers")
            await check_adoptable(session, mapping, name="org_unit", local_id=existing.id)
            local_id = existing.id
    mapping.absent_codes.discard(code)  # written below: it exists from now on
    if local_id is not None:
        old_path = await unit_path(session, mapping, local_id)
        if old_path is not None:
            new_path = f"{parent_path}{local_id}/"
            values["path"] = new_path
            await session.execute(update(org_unit).where(org_unit.c.id == local_id).values(**values))
            if new_path != old_path:  # moved: its subtree's paths follow
                await _repath(session, mapping, old_path=old_path, new_path=new_path)
            mapping.paths[local_id] = new_path
            return local_id
    if mapping.unit_ids:
        local_id = mapping.unit_ids.pop()
        values["path"] = path = f"{parent_path}{local_id}/"
        await session.execute(insert(org_unit).values(id=local_id, **values))
        mapping.paths[local_id] = path
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
    payload = row if BY_TABLE[name].mirror_only else None  # a copied row is its own record
    values = {"local_id": local_id, "payload": payload, "pulled_at": pulled_at, "generation": mapping.peer.generation}
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
