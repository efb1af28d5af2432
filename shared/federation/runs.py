"""Applying a run of consecutive rows of one table and op with a few set-based statements.

On PostgreSQL a run travels to the database as one JSON document that json_populate_recordset() turns into typed
rows: Python maps the foreign keys and nothing else, and PostgreSQL parses and checks every value. When PostgreSQL
refuses a value the run is rolled back to its savepoint and applied again through the checked path, which converts
each value in Python and names the row that is wrong."""

from datetime import datetime
from itertools import product
from typing import Any

import orjson
from sqlalchemy import (
    ARRAY,
    Table,
    any_,
    bindparam,
    delete,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import TextClause

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
from shared.federation.natural_keys import by_natural_key, key_of
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
        found = await by_natural_key(session, name=name, keys=[values_list[i] for i in missing])
        key_of_row = key_of(tracked.natural_key)
        for index in missing:
            key = key_of_row(values_list[index])
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
        rows = _with_ids(values_list, local_ids, group)
        await (_update_pg if postgres else _update)(session, table, columns=columns, rows=rows)
    for columns, group in by_columns(values_list, inserts).items():
        if postgres:
            await insert_records(session, table, columns=columns, rows=_with_ids(values_list, local_ids, group))
            continue
        statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        ids = list((await session.scalars(statement, [values_list[i] for i in group])).all())
        for index, local in zip(group, ids, strict=True):
            local_ids[index] = local
    return local_ids


def _with_ids(values_list: list[dict[str, Any]], local_ids: list[int | None], group: list[int]) -> list[dict]:
    """The rows of a group with their local ids (set in place: the values are this run's own)."""
    for index in group:
        values_list[index]["id"] = local_ids[index]
    return [values_list[index] for index in group]


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
    """Where each row came from and when: its provenance row (with the row as pulled for a table kept as pulled)."""
    known = [i for i, item in enumerate(items) if (name, item["id"]) in mapping.local]
    fresh = [i for i, item in enumerate(items) if (name, item["id"]) not in mapping.local]
    common = {"pulled_at": pulled_at, "generation": mapping.peer.generation}
    # A copied row is its own record: storing it again as pulled wrote twice as much as the table itself.
    kept = BY_TABLE[name].mirror_only
    if not is_postgres(session):
        if known:
            statement = (
                update(ROW)
                .where(ROW.c.peer_id == mapping.peer.id, ROW.c.table_name == name, ROW.c.remote_id == bindparam("_r"))
                .values(local_id=bindparam("_local"), payload=bindparam("_payload"), **common)
            )
            await session.execute(
                statement,
                [{"_r": items[i]["id"], "_local": local_ids[i], "_payload": rows[i] if kept else None} for i in known],
            )
        if fresh:
            await session.execute(
                insert(ROW),
                [{"peer_id": mapping.peer.id, "table_name": name, "remote_id": items[i]["id"],
                  "local_id": local_ids[i], "payload": rows[i] if kept else None} | common for i in fresh],
            )  # fmt: skip
        return
    for indexes, fresh_rows in ((known, False), (fresh, True)):
        if not indexes:
            continue
        parameters = {"peer": mapping.peer.id, "name": name} | common
        if kept:  # one JSON document (one C call to encode) carries the rows as pulled
            parameters["rows"] = _document([{"r": items[i]["id"], "l": local_ids[i], "p": rows[i]} for i in indexes])
        else:  # two integer arrays, encoded by asyncpg in C
            parameters |= {"r": [items[i]["id"] for i in indexes], "l": [local_ids[i] for i in indexes]}
        await session.execute(_PROVENANCE[(fresh_rows, kept)], parameters)


def _provenance_sql(*, fresh: bool, kept: bool) -> TextClause:
    source = (
        "json_to_recordset(CAST(CAST(:rows AS text) AS json)) AS u(r bigint, l bigint, p jsonb)"
        if kept
        else "unnest(CAST(:r AS bigint[]), CAST(:l AS bigint[]), CAST(NULL AS jsonb[])) AS u(r, l, p)"
    )
    if fresh:
        return text(
            "INSERT INTO federation_row (peer_id, table_name, remote_id, local_id, payload, generation, pulled_at) "
            f"SELECT :peer, :name, u.r, u.l, u.p, :generation, :pulled_at FROM {source}"
        )
    return text(
        "UPDATE federation_row SET local_id = u.l, payload = u.p, generation = :generation, pulled_at = :pulled_at "
        f"FROM {source} WHERE federation_row.peer_id = :peer AND federation_row.table_name = :name "
        "AND federation_row.remote_id = u.r"
    )


_PROVENANCE = {(new, kept): _provenance_sql(fresh=new, kept=kept) for new, kept in product((True, False), repeat=2)}
