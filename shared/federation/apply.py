"""Applying a peer's rows: map its ids to ours, attach its root under the covered unit, refuse what lies outside."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import (
    ARRAY,
    JSON,
    Boolean,
    Date,
    DateTime,
    Enum,
    Float,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    and_,
    any_,
    bindparam,
    cast,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB, REGCLASS
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import UTCDateTime, utcnow
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
    # Org unit codes known absent when the page began (a code written since is taken out), and ids drawn ahead
    # for the units the page may create (PostgreSQL): a new unit is one INSERT with its path, not three statements.
    absent_codes: set[str] = field(default_factory=set)
    unit_ids: list[int] = field(default_factory=list)


def _foreign_keys(table: Table) -> dict[str, str]:
    return _FOREIGN_KEYS.get(table.name) or _FOREIGN_KEYS.setdefault(
        table.name, {fk.parent.name: fk.column.table.name for fk in table.foreign_keys}
    )


_FOREIGN_KEYS: dict[str, dict[str, str]] = {}


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
            wanted_ids = (
                ROW.c.remote_id == any_(bindparam("ids", chunk, type_=ARRAY(ROW.c.remote_id.type)))
                if session.get_bind().dialect.name == "postgresql"
                else ROW.c.remote_id.in_(chunk)  # one array parameter on PostgreSQL, not thousands
            )
            query = select(ROW.c.remote_id, ROW.c.local_id).where(
                ROW.c.peer_id == mapping.peer.id, ROW.c.table_name == table, wanted_ids
            )
            for remote_id, local_id in (await session.execute(query)).all():
                mapping.local[(table, remote_id)] = local_id


async def _prepare_units(session: AsyncSession, mapping: Mapping, items: list[dict[str, Any]]) -> None:
    """For the page's org units this instance does not know yet: which codes are free, and (PostgreSQL) their ids."""
    codes = {
        item["row"].get("code")
        for item in items
        if item.get("table") == "org_unit"
        and item.get("op") == "upsert"
        and ("org_unit", item.get("id")) not in mapping.local
        and isinstance(item.get("row"), dict)
    }
    codes = {code for code in codes if isinstance(code, str)}
    if not codes:
        return
    org_unit = table_of("org_unit")
    taken = set((await session.scalars(select(org_unit.c.code).where(org_unit.c.code.in_(codes)))).all())
    mapping.absent_codes = codes - taken
    if mapping.absent_codes and session.get_bind().dialect.name == "postgresql":
        mapping.unit_ids = await _draw_ids(session, org_unit, len(mapping.absent_codes))


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
    await _prepare_units(session, mapping, items)
    pulled_at = now or utcnow()
    position = 0
    while position < len(items):
        end = _run_end(items, position)
        try:
            if end - position > 1:
                await _apply_run(session, mapping, items[position:end], pulled_at=pulled_at)
            else:
                await _apply_one(session, mapping, items[position], root_code=root_code, pulled_at=pulled_at)
        except _RowRefused as exc:
            _refuse(items, position + exc.index, exc.detail)
        except PeerRefused as exc:
            _refuse(items, position, exc.detail)
        except (ValueError, TypeError, KeyError) as exc:
            _refuse(items, position, f"malformed ({exc})")
        position = end
    return len(items)


class _RowRefused(PeerRefused):
    """A refusal of the row at `index` of a run."""

    def __init__(self, index: int, detail: str) -> None:
        super().__init__(detail)
        self.index = index


def _refuse(items: list[dict[str, Any]], position: int, detail: str) -> None:
    item = items[position] if position < len(items) else {}
    raise PeerRefused(
        f"row {position} ({item.get('table')} {item.get('id')}): {detail}",
        errors=[{"row": position, "field": str(item.get("table")), "message": detail}],
    )


BULK_MIN = 2


def _bulk_table(name: str) -> bool:
    """Whether rows of a table can be written a run at a time (no self-reference, no path or catalogue rules)."""
    if name not in BY_TABLE or name == "org_unit":
        return False
    return all(target != name for target in _foreign_keys(table_of(name)).values())


def _run_end(items: list[dict[str, Any]], start: int) -> int:
    """The end of the run of same-table, same-op rows from `start` that can be applied together."""
    first = items[start]
    if not isinstance(first, dict) or not _bulk_table(first.get("table", "")):
        return start + 1
    seen: set[int] = set()
    end = start
    while end < len(items) and end - start < 5000:
        item = items[end]
        if item.get("table") != first["table"] or item.get("op") != first.get("op") or item.get("id") in seen:
            break
        seen.add(item["id"])
        end += 1
    return end


async def _apply_run(
    session: AsyncSession, mapping: Mapping, items: list[dict[str, Any]], *, pulled_at: datetime
) -> None:
    """Apply consecutive rows of one table and op with a few set-based statements."""
    name, op = items[0]["table"], items[0]["op"]
    tracked = BY_TABLE[name]
    table = table_of(name)
    peer_id = mapping.peer.id
    if op == "delete":
        known = [item["id"] for item in items if (name, item["id"]) in mapping.local]
        local_ids = [mapping.local[(name, remote)] for remote in known]
        if not tracked.mirror_only and (ids := [i for i in local_ids if i is not None]):
            await session.execute(delete(table).where(table.c.id.in_(ids)))
        if known:
            await session.execute(
                delete(ROW).where(ROW.c.peer_id == peer_id, ROW.c.table_name == name, ROW.c.remote_id.in_(known))
            )
        for remote in known:
            mapping.local.pop((name, remote), None)
        return
    if op != "upsert":
        raise _RowRefused(0, f"unknown op {op!r}")
    rows: list[dict[str, Any]] = []
    values_list: list[dict[str, Any]] = []
    foreign = _foreign_keys(table)
    for index, item in enumerate(items):
        try:
            row = canonical(name, item["row"])
            values = {column: to_python(name, column, value) for column, value in row.items() if column != "id"}
        except (ValueError, TypeError, KeyError) as exc:
            raise _RowRefused(index, f"malformed ({exc})") from exc
        for column in tracked.drop:
            values[column] = None
        for column, target in foreign.items():
            remote = values.get(column)
            if remote is None:
                continue
            if target not in BY_TABLE:
                values[column] = None
                continue
            mapped = mapping.local.get((target, int(remote)))
            if mapped is None:
                raise _RowRefused(
                    index, f"{column} refers to {target} {remote}, which lies outside the subtree the peer covers"
                )
            values[column] = mapped
        if name in SOURCE_TABLES:
            values["source"] = f"peer:{mapping.peer.name}"[:40]
        rows.append(row)
        values_list.append(values)
    local_ids: list[int | None] = [mapping.local.get((name, item["id"])) for item in items]
    if not tracked.mirror_only:
        local_ids = await _write_run(session, mapping, name=name, values_list=values_list, local_ids=local_ids)
    known = [i for i, item in enumerate(items) if (name, item["id"]) in mapping.local]
    fresh = [i for i, item in enumerate(items) if (name, item["id"]) not in mapping.local]
    common = {"pulled_at": pulled_at, "generation": mapping.peer.generation}
    if known:
        statement = (
            update(ROW)
            .where(ROW.c.peer_id == peer_id, ROW.c.table_name == name, ROW.c.remote_id == bindparam("_remote"))
            .values(local_id=bindparam("_local"), payload=bindparam("_payload"), **common)
        )
        await session.execute(
            statement, [{"_remote": items[i]["id"], "_local": local_ids[i], "_payload": rows[i]} for i in known]
        )
    if fresh:
        await _remember_fresh(
            session, peer_id=peer_id, name=name, remote_ids=[items[i]["id"] for i in fresh],
            local_ids=[local_ids[i] for i in fresh], rows=[rows[i] for i in fresh], common=common,
        )  # fmt: skip
    for i, item in enumerate(items):
        mapping.local[(name, item["id"])] = local_ids[i]


async def _write_run(
    session: AsyncSession,
    mapping: Mapping,
    *,
    name: str,
    values_list: list[dict[str, Any]],
    local_ids: list[int | None],
) -> list[int | None]:
    """Update the rows this instance has (by origin, else by natural key) and insert the rest; their local ids."""
    tracked = BY_TABLE[name]
    table = table_of(name)
    present = {i for i in local_ids if i is not None}
    if present:
        stored = set((await session.scalars(select(table.c.id).where(table.c.id.in_(present)))).all())
        local_ids = [i if i in stored else None for i in local_ids]
    missing = [index for index, local in enumerate(local_ids) if local is None]
    if missing and tracked.natural_key:
        found = await _by_natural_key(session, name=name, keys=[values_list[i] for i in missing])
        for index in missing:
            key = tuple(values_list[index].get(column) for column in tracked.natural_key)
            if key in found:
                if name != "data_element":  # the catalogue is shared by every peer
                    try:
                        await _check_adoptable(session, mapping, name=name, local_id=found[key])
                    except PeerRefused as exc:
                        raise _RowRefused(index, exc.detail) from exc
                local_ids[index] = found[key]
    # The catalogue is shared: a data element is mapped, never overwritten.
    updates = [] if name == "data_element" else [index for index, local in enumerate(local_ids) if local is not None]
    for columns, group in _by_columns(updates, values_list).items():
        statement = (
            update(table)
            .where(table.c.id == bindparam("_id"))
            .values({column: bindparam(f"v_{column}") for column in columns})
        )
        await session.execute(
            statement,
            [{"_id": local_ids[i]} | {f"v_{c}": values_list[i][c] for c in columns} for i in group],
        )
    inserts = [index for index, local in enumerate(local_ids) if local is None]
    for columns, group in _by_columns(inserts, values_list).items():
        if session.get_bind().dialect.name == "postgresql" and _arrayable(table, columns):
            ids = await _insert_unnest(session, table, columns=columns, rows=[values_list[i] for i in group])
        else:
            statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
            ids = list((await session.scalars(statement, [values_list[i] for i in group])).all())
        for index, local in zip(group, ids, strict=True):
            local_ids[index] = local
    return local_ids


def _plain_type(column_type: Any) -> bool:
    """Whether a column's values travel as a PostgreSQL array parameter as they are."""
    if isinstance(column_type, Enum | JSON):
        return False
    return isinstance(column_type, Integer | String | Numeric | Float | Boolean | Date | DateTime | UTCDateTime)


def _defaults(table: Table, columns: tuple[str, ...]) -> dict[str, Any]:
    """The client-side defaults of the columns a run does not carry (None: one of them has none we can compute)."""
    values: dict[str, Any] = {}
    for column in table.columns:
        if column.name in columns or column.name == "id" or column.default is None:
            continue
        if column.default.is_scalar:
            values[column.name] = column.default.arg
        elif column.default.is_callable:
            values[column.name] = column.default.arg(None)
    return values


def _arrayable(table: Table, columns: tuple[str, ...]) -> bool:
    names = set(columns) | set(_defaults(table, columns))
    return "id" not in columns and all(_plain_type(table.c[name].type) for name in names)


_SEQUENCES: dict[str, str] = {}


async def _draw_ids(session: AsyncSession, table: Table, count: int) -> list[int]:
    """`count` new ids from the table's sequence (PostgreSQL), in one statement."""
    sequence = _SEQUENCES.get(table.name) or _SEQUENCES.setdefault(
        table.name, await session.scalar(select(func.pg_get_serial_sequence(table.name, "id")))
    )
    draw = select(func.nextval(cast(literal(sequence), REGCLASS))).select_from(func.generate_series(1, count))
    return list((await session.scalars(draw)).all())


async def _insert_unnest(
    session: AsyncSession, table: Table, *, columns: tuple[str, ...], rows: list[dict[str, Any]]
) -> list[int]:
    """Insert rows with one statement on PostgreSQL: ids drawn from the table's sequence first, then every column
    as one array parameter (a run of thousands of rows is a few parameters, not thousands of bound values)."""
    ids = await _draw_ids(session, table, len(rows))
    defaults = _defaults(table, columns)
    arrays = {"id": ids} | {name: [row[name] for row in rows] for name in columns}
    arrays |= {name: [value] * len(rows) for name, value in defaults.items()}
    names = list(arrays)
    source = select(
        *[func.unnest(bindparam(f"a_{name}", arrays[name], type_=ARRAY(table.c[name].type))) for name in names]
    )
    await session.execute(insert(table).from_select(names, source, include_defaults=False))
    return ids


async def _remember_fresh(
    session: AsyncSession, *, peer_id: int, name: str, remote_ids: list[int], local_ids: list[int | None],
    rows: list[dict[str, Any]], common: dict[str, Any],
) -> None:  # fmt: skip
    """Provenance rows of a run first pulled; on PostgreSQL one INSERT … SELECT over arrays."""
    if session.get_bind().dialect.name != "postgresql":
        await session.execute(
            insert(ROW),
            [
                {"peer_id": peer_id, "table_name": name, "remote_id": remote, "local_id": local, "payload": row}
                | common
                for remote, local, row in zip(remote_ids, local_ids, rows, strict=True)
            ],
        )
        return
    payloads = [orjson.dumps(row).decode() for row in rows]
    source = select(
        bindparam("peer", peer_id, type_=ROW.c.peer_id.type),
        bindparam("name", name, type_=ROW.c.table_name.type),
        func.unnest(bindparam("remote", remote_ids, type_=ARRAY(ROW.c.remote_id.type))),
        func.unnest(bindparam("local", local_ids, type_=ARRAY(ROW.c.local_id.type))),
        cast(func.unnest(bindparam("payload", payloads, type_=ARRAY(Text))), JSONB),
        bindparam("generation", common["generation"], type_=ROW.c.generation.type),
        bindparam("pulled_at", common["pulled_at"], type_=ROW.c.pulled_at.type),
    )
    columns = ["peer_id", "table_name", "remote_id", "local_id", "payload", "generation", "pulled_at"]
    await session.execute(insert(ROW).from_select(columns, source, include_defaults=False))


def _by_columns(indexes: list[int], values_list: list[dict[str, Any]]) -> dict[tuple[str, ...], list[int]]:
    groups: dict[tuple[str, ...], list[int]] = {}
    for index in indexes:
        groups.setdefault(tuple(sorted(values_list[index])), []).append(index)
    return groups


async def _by_natural_key(session: AsyncSession, *, name: str, keys: list[dict[str, Any]]) -> dict[tuple, int]:
    """Local rows whose natural key matches one of these, by key (one query over the distinct values per column)."""
    tracked = BY_TABLE[name]
    table = table_of(name)
    if session.get_bind().dialect.name == "postgresql":
        exact = await _by_natural_key_pg(session, table=table, columns=tracked.natural_key, keys=keys)
        if exact is not None:
            return exact
    conditions = []
    for column in tracked.natural_key:
        values = {key.get(column) for key in keys}
        known = [value for value in values if value is not None]
        clause = table.c[column].in_(known) if known else None
        if None in values:
            clause = table.c[column].is_(None) if clause is None else or_(clause, table.c[column].is_(None))
        conditions.append(clause)
    wanted = {tuple(key.get(column) for column in tracked.natural_key) for key in keys}
    query = select(table.c.id, *[table.c[column] for column in tracked.natural_key]).where(*conditions)
    found: dict[tuple, int] = {}
    for row in (await session.execute(query)).all():
        key = tuple(row[1:])
        if key in wanted:
            found[key] = row[0]
    return found


def _plain(column: Any) -> bool:
    return isinstance(column.type, Integer) or (isinstance(column.type, String) and not isinstance(column.type, Enum))


async def _by_natural_key_pg(
    session: AsyncSession, *, table: Table, columns: tuple[str, ...], keys: list[dict[str, Any]]
) -> dict[tuple, int] | None:
    """The same on PostgreSQL, exactly: the keys travel as arrays and meet the table's unique index in one join per
    pattern of NULL columns (the IN lists above match every combination of the values, which grows with the rows
    already stored). None when a key column is not a plain integer or string."""
    if not all(_plain(table.c[column]) for column in columns):
        return None
    patterns: dict[tuple[bool, ...], set[tuple]] = {}
    for key in keys:
        values = tuple(key.get(column) for column in columns)
        patterns.setdefault(tuple(value is None for value in values), set()).add(values)
    found: dict[tuple, int] = {}
    for nulls, wanted in patterns.items():
        present = [n for n, null in enumerate(nulls) if not null]
        rows = list(wanted)
        selected = select(table.c.id, *[table.c[column] for column in columns]).where(
            *[table.c[columns[n]].is_(None) for n, null in enumerate(nulls) if null]
        )
        if present:
            arrays = [
                func.unnest(bindparam(f"k{n}", [row[n] for row in rows], type_=ARRAY(table.c[columns[n]].type))).label(
                    f"k{n}"
                )
                for n in present
            ]
            keyset = select(*arrays).subquery("k")
            selected = selected.join(keyset, and_(*[table.c[columns[n]] == keyset.c[f"k{n}"] for n in present]))
        for row in (await session.execute(selected)).all():
            found[tuple(row[1:])] = row[0]
    return found


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
            None
            if code in mapping.absent_codes
            else (await session.execute(select(org_unit.c.id, org_unit.c.path).where(org_unit.c.code == code))).first()
        )
        if existing is not None:
            if not existing.path.startswith(mapping.covered_path) or existing.id == mapping.covered_id:
                raise PeerRefused(f"org unit code {code} already belongs to a unit outside the subtree the peer covers")
            await _check_adoptable(session, mapping, name="org_unit", local_id=existing.id)
            local_id = existing.id
    mapping.absent_codes.discard(code)  # written below: it exists from now on
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
