"""Applying a run of consecutive rows of one table and op with a few set-based statements.

On PostgreSQL a run travels to the database as one JSON document that json_populate_recordset() turns into typed
rows: Python maps the foreign keys and nothing else, and PostgreSQL parses and checks every value. When PostgreSQL
refuses a value the run is rolled back to its savepoint and applied again through the checked path, which converts
each value in Python and names the row that is wrong."""

from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import (
    ARRAY,
    Enum,
    Integer,
    String,
    Table,
    any_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import is_postgres
from shared.federation.mapping import (
    ROW,
    SOURCE_TABLES,
    Mapping,
    PeerRefused,
    RowRefused,
    check_adoptable,
    draw_ids,
    foreign_keys,
    mapped_foreign_keys,
)
from shared.federation.payloads import canonical, kinds, table_of, to_python
from shared.federation.registry import BY_TABLE

RUN_MAX = 5000


def bulk_table(name: str) -> bool:
    """Whether rows of a table can be written a run at a time (no self-reference, no path or catalogue rules)."""
    if name not in BY_TABLE or name == "org_unit":
        return False
    return all(target != name for target in foreign_keys(table_of(name)).values())


def run_end(items: list[dict[str, Any]], start: int) -> int:
    """The end of the run of same-table, same-op rows from `start` that can be applied together."""
    first = items[start]
    if not isinstance(first, dict) or not bulk_table(first.get("table", "")):
        return start + 1
    seen: set[int] = set()
    end = start
    while end < len(items) and end - start < RUN_MAX:
        item = items[end]
        if item.get("table") != first["table"] or item.get("op") != first.get("op") or item.get("id") in seen:
            break
        seen.add(item["id"])
        end += 1
    return end


async def apply_run(
    session: AsyncSession, mapping: Mapping, items: list[dict[str, Any]], *, pulled_at: datetime
) -> None:
    """Apply consecutive rows of one table and op; RowRefused names the first row that cannot be applied."""
    op = items[0]["op"]
    if op == "delete":
        await _delete_run(session, mapping, items)
        return
    if op != "upsert":
        raise RowRefused(0, f"unknown op {op!r}")
    if is_postgres(session):
        try:
            async with session.begin_nested():
                await _upsert_run(session, mapping, items, pulled_at=pulled_at, checked=False)
            return
        except DBAPIError:
            pass  # a value PostgreSQL would not take: the checked pass below names the row
    await _upsert_run(session, mapping, items, pulled_at=pulled_at, checked=True)


async def _delete_run(session: AsyncSession, mapping: Mapping, items: list[dict[str, Any]]) -> None:
    name = items[0]["table"]
    table = table_of(name)
    known = [item["id"] for item in items if (name, item["id"]) in mapping.local]
    local_ids = [mapping.local[(name, remote)] for remote in known]
    shared = BY_TABLE[name].mirror_only or name == "data_element"  # the catalogue is every peer's: kept
    if not shared and (ids := [i for i in local_ids if i is not None]):
        await session.execute(delete(table).where(table.c.id.in_(ids)))
    if known:
        await session.execute(
            delete(ROW).where(ROW.c.peer_id == mapping.peer.id, ROW.c.table_name == name, ROW.c.remote_id.in_(known))
        )
    for remote in known:
        mapping.local.pop((name, remote), None)


def _row_values(name: str, row: dict[str, Any], *, checked: bool, index: int) -> tuple[dict[str, Any], dict]:
    """(the row as remembered, the column values to write); checked: converted and checked here, value by value."""
    if not checked:
        columns = kinds(name)
        if row.keys() <= columns.keys():  # the usual case: a copy made in C, not a comprehension
            values = dict(row)
            values.pop("id", None)
            return row, values
        return row, {column: value for column, value in row.items() if column in columns and column != "id"}
    try:
        row = canonical(name, row)
        return row, {column: to_python(name, column, value) for column, value in row.items() if column != "id"}
    except (ValueError, TypeError, KeyError) as exc:
        raise RowRefused(index, f"malformed ({exc})") from exc


async def _upsert_run(
    session: AsyncSession, mapping: Mapping, items: list[dict[str, Any]], *, pulled_at: datetime, checked: bool
) -> None:
    name = items[0]["table"]
    tracked = BY_TABLE[name]
    source = f"peer:{mapping.peer.name}"[:40]
    rows: list[dict[str, Any]] = []
    values_list: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        row, values = _row_values(name, item["row"], checked=checked, index=index)
        for column in tracked.drop:
            values[column] = None
        mapped_foreign_keys(mapping, name=name, values=values, index=index)
        if name in SOURCE_TABLES:
            values["source"] = source
        rows.append(row)
        values_list.append(values)
    local_ids: list[int | None] = [mapping.local.get((name, item["id"])) for item in items]
    if not tracked.mirror_only:
        local_ids = await _write_run(session, mapping, name=name, values_list=values_list, local_ids=local_ids)
    await remember_run(session, mapping, name=name, items=items, rows=rows, local_ids=local_ids, pulled_at=pulled_at)
    for item, local in zip(items, local_ids, strict=True):
        mapping.local[(name, item["id"])] = local


async def _write_run(
    session: AsyncSession, mapping: Mapping, *, name: str, values_list: list[dict[str, Any]],
    local_ids: list[int | None],
) -> list[int | None]:  # fmt: skip
    """Update the rows this instance has (by origin, else by natural key) and insert the rest; their local ids."""
    tracked = BY_TABLE[name]
    table = table_of(name)
    local_ids = await _still_stored(session, table, local_ids)
    missing = [index for index, local in enumerate(local_ids) if local is None]
    if missing and tracked.natural_key:
        found = await _by_natural_key(session, name=name, keys=[values_list[i] for i in missing])
        for index in missing:
            key = tuple(values_list[index].get(column) for column in tracked.natural_key)
            if key in found:
                if name != "data_element":  # the catalogue is shared by every peer
                    try:
                        await check_adoptable(session, mapping, name=name, local_id=found[key])
                    except PeerRefused as exc:
                        raise RowRefused(index, exc.detail) from exc
                local_ids[index] = found[key]
    # The catalogue is shared: a data element is mapped, never overwritten.
    updates = [] if name == "data_element" else [index for index, local in enumerate(local_ids) if local is not None]
    inserts = [index for index, local in enumerate(local_ids) if local is None]
    postgres = is_postgres(session)
    if postgres and inserts:
        for index, drawn in zip(inserts, await draw_ids(session, table, len(inserts)), strict=True):
            local_ids[index] = drawn
    for columns, group in by_columns(values_list, updates).items():
        rows = [values_list[i] | {"id": local_ids[i]} for i in group]
        await (_update_pg if postgres else _update)(session, table, columns=columns, rows=rows)
    for columns, group in by_columns(values_list, inserts).items():
        if postgres:
            rows = [values_list[i] | {"id": local_ids[i]} for i in group]
            await insert_records(session, table, columns=columns, rows=rows)
            continue
        statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        ids = list((await session.scalars(statement, [values_list[i] for i in group])).all())
        for index, local in zip(group, ids, strict=True):
            local_ids[index] = local
    return local_ids


async def _still_stored(session: AsyncSession, table: Table, local_ids: list[int | None]) -> list[int | None]:
    """The local ids whose rows still exist here (None for the rest: deleted here since, written again)."""
    present = list({i for i in local_ids if i is not None})
    if not present:
        return local_ids
    wanted = (
        table.c.id == any_(bindparam("ids", present, type_=ARRAY(table.c.id.type)))
        if is_postgres(session)
        else table.c.id.in_(present)
    )
    stored = set((await session.scalars(select(table.c.id).where(wanted))).all())
    return [i if i in stored else None for i in local_ids]


def by_columns(rows: list[dict[str, Any]], indexes: list[int] | None = None) -> dict[tuple[str, ...], list[int]]:
    """The indexes of the rows (all, or these) by the sorted names of their columns other than id."""
    orders: dict[tuple[str, ...], list[int]] = {}
    for index in range(len(rows)) if indexes is None else indexes:
        orders.setdefault(tuple(rows[index]), []).append(index)
    groups: dict[tuple[str, ...], list[int]] = {}
    for order, group in orders.items():  # a peer's rows list their columns in one order: sorted once, not per row
        groups.setdefault(tuple(sorted(column for column in order if column != "id")), []).extend(group)
    return groups


def _defaults(table: Table, columns: tuple[str, ...]) -> dict[str, Any]:
    """The client-side defaults of the columns a run does not carry."""
    values: dict[str, Any] = {}
    for column in table.columns:
        if column.name in columns or column.name == "id" or column.default is None:
            continue
        if column.default.is_scalar:
            values[column.name] = column.default.arg
        elif column.default.is_callable:
            values[column.name] = column.default.arg(None)
    return values


def _recordset(session: AsyncSession, table: Table) -> str:
    """The SQL of a run's rows as typed records of the table, from the JSON parameter :rows."""
    name = session.get_bind().dialect.identifier_preparer.quote(table.name)
    # json, not jsonb: the document is read once, and building jsonb first cost a third more (5 µs a row).
    return f"json_populate_recordset(NULL::{name}, CAST(CAST(:rows AS text) AS json))"


def _document(value: Any) -> str:
    return orjson.dumps(value, default=str).decode()  # Decimal values of the checked path travel as text


async def insert_records(session: AsyncSession, table: Table, *, columns: tuple[str, ...], rows: list[dict]) -> None:
    """One INSERT … SELECT of the whole group; the ids were drawn from the table's sequence beforehand."""
    defaults = _defaults(table, columns)
    quote = session.get_bind().dialect.identifier_preparer.quote
    names = ", ".join(quote(column) for column in ["id", *columns, *defaults])
    statement = text(f"INSERT INTO {quote(table.name)} ({names}) SELECT {names} FROM {_recordset(session, table)}")
    await session.execute(statement, {"rows": _document([row | defaults for row in rows] if defaults else rows)})


async def _update_pg(session: AsyncSession, table: Table, *, columns: tuple[str, ...], rows: list[dict]) -> None:
    quote = session.get_bind().dialect.identifier_preparer.quote
    assignments = ", ".join(f"{quote(column)} = cz_run.{quote(column)}" for column in columns)
    statement = text(
        f"UPDATE {quote(table.name)} SET {assignments} FROM {_recordset(session, table)} AS cz_run "
        f"WHERE {quote(table.name)}.id = cz_run.id"
    )
    await session.execute(statement, {"rows": _document(rows)})


async def _update(session: AsyncSession, table: Table, *, columns: tuple[str, ...], rows: list[dict]) -> None:
    assignments = {column: bindparam(f"v_{column}") for column in columns}
    statement = update(table).where(table.c.id == bindparam("_id")).values(assignments)
    await session.execute(statement, [{"_id": row["id"]} | {f"v_{c}": row[c] for c in columns} for row in rows])


async def remember_run(
    session: AsyncSession, mapping: Mapping, *, name: str, items: list[dict[str, Any]], rows: list[dict[str, Any]],
    local_ids: list[int | None], pulled_at: datetime,
) -> None:  # fmt: skip
    """Where each row came from and when: its provenance row, the row as pulled."""
    known = [i for i, item in enumerate(items) if (name, item["id"]) in mapping.local]
    fresh = [i for i, item in enumerate(items) if (name, item["id"]) not in mapping.local]
    common = {"pulled_at": pulled_at, "generation": mapping.peer.generation}
    if not is_postgres(session):
        if known:
            statement = (
                update(ROW)
                .where(ROW.c.peer_id == mapping.peer.id, ROW.c.table_name == name, ROW.c.remote_id == bindparam("_r"))
                .values(local_id=bindparam("_local"), payload=bindparam("_payload"), **common)
            )
            await session.execute(
                statement, [{"_r": items[i]["id"], "_local": local_ids[i], "_payload": rows[i]} for i in known]
            )
        if fresh:
            await session.execute(
                insert(ROW),
                [{"peer_id": mapping.peer.id, "table_name": name, "remote_id": items[i]["id"],
                  "local_id": local_ids[i], "payload": rows[i]} | common for i in fresh],
            )  # fmt: skip
        return
    for indexes, sql in ((known, _UPDATE_ROWS), (fresh, _INSERT_ROWS)):
        if indexes:
            parameters = {
                "peer": mapping.peer.id, "name": name, "remote": [items[i]["id"] for i in indexes],
                "local": [local_ids[i] for i in indexes], "payload": [_document(rows[i]) for i in indexes],
            } | common  # fmt: skip
            await session.execute(sql, parameters)


_ARRAYS = "unnest(CAST(:remote AS bigint[]), CAST(:local AS bigint[]), CAST(:payload AS text[])) AS u(r, l, p)"
_UPDATE_ROWS = text(
    f"UPDATE federation_row SET local_id = u.l, payload = CAST(u.p AS jsonb), generation = :generation, "
    f"pulled_at = :pulled_at FROM {_ARRAYS} "
    "WHERE federation_row.peer_id = :peer AND federation_row.table_name = :name AND federation_row.remote_id = u.r"
)
_INSERT_ROWS = text(
    "INSERT INTO federation_row (peer_id, table_name, remote_id, local_id, payload, generation, pulled_at) "
    f"SELECT :peer, :name, u.r, u.l, CAST(u.p AS jsonb), :generation, :pulled_at FROM {_ARRAYS}"
)


async def _by_natural_key(session: AsyncSession, *, name: str, keys: list[dict[str, Any]]) -> dict[tuple, int]:
    """Local rows whose natural key matches one of these, by key (one query over the distinct values per column)."""
    tracked = BY_TABLE[name]
    table = table_of(name)
    if is_postgres(session):
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
    """The same on PostgreSQL, exactly: the keys travel as arrays, one query per pattern of NULL columns, and each key
    is one probe of the table's unique index (a correlated subquery: a join's plan follows the planner's guess of
    the arrays' size and the table's, and once scanned the whole table for every page). None when a key column is
    not a plain integer or string."""
    if not all(_plain(table.c[column]) for column in columns):
        return None
    patterns: dict[tuple[bool, ...], set[tuple]] = {}
    for key in keys:
        values = tuple(key.get(column) for column in columns)
        patterns.setdefault(tuple(value is None for value in values), set()).add(values)
    found: dict[tuple, int] = {}
    for nulls, wanted in patterns.items():
        present = [n for n, null in enumerate(nulls) if not null]
        absent = [table.c[columns[n]].is_(None) for n, null in enumerate(nulls) if null]
        if not present:
            query = select(table.c.id, *[table.c[column] for column in columns]).where(*absent)
            found |= {tuple(row[1:]): row[0] for row in (await session.execute(query)).all()}
            continue
        rows = list(wanted)
        keyset = select(
            *[
                func.unnest(bindparam(f"k{n}", [row[n] for row in rows], type_=ARRAY(table.c[columns[n]].type))).label(
                    f"k{n}"
                )
                for n in present
            ]
        ).subquery("k")
        matches = [table.c[columns[n]] == keyset.c[f"k{n}"] for n in present]
        probe = select(table.c.id).where(*absent, *matches).limit(1).scalar_subquery()
        for row in (await session.execute(select(probe, *[keyset.c[f"k{n}"] for n in present]))).all():
            if row[0] is not None:
                values = dict(zip(present, row[1:], strict=True))
                found[tuple(values.get(n) for n in range(len(columns)))] = row[0]
    return found
