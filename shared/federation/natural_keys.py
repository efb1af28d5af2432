"""Finding the local rows a peer's rows match by natural key (org unit and facility code, element + unit + facility
+ period …), so that a pull adopts a row that already exists here instead of writing a second one."""

from collections.abc import Callable
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    ARRAY,
    Enum,
    Integer,
    String,
    Table,
    bindparam,
    func,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import is_postgres
from shared.federation.payloads import table_of
from shared.federation.registry import BY_TABLE


async def by_natural_key(session: AsyncSession, *, name: str, keys: list[dict[str, Any]]) -> dict[tuple, int]:
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


def key_of(columns: tuple[str, ...]) -> Callable[[dict[str, Any]], tuple]:
    """A row's values of these columns as a tuple (None where the row lacks one), read in C when it has them all."""
    getter = itemgetter(*columns)

    def key(row: dict[str, Any]) -> tuple:
        try:
            value = getter(row)
        except KeyError:
            return tuple(map(row.get, columns))
        return value if len(columns) > 1 else (value,)

    return key


async def _by_natural_key_pg(
    session: AsyncSession, *, table: Table, columns: tuple[str, ...], keys: list[dict[str, Any]]
) -> dict[tuple, int] | None:
    """The same on PostgreSQL, exactly: the keys travel as arrays, one query per pattern of NULL columns, and each key
    is one probe of the table's unique index (a correlated subquery: a join's plan follows the planner's guess of
    the arrays' size and the table's, and once scanned the whole table for every page). None when a key column is
    not a plain integer or string.

    Keep this shape: the same probe fed from a JSON document of keys (json_array_elements) was planned, once cached
    while the table was still empty, on the org unit index, and took five seconds a page when the table had filled.
    """
    if not all(_plain(table.c[column]) for column in columns):
        return None
    key_of_row = key_of(columns)
    patterns: dict[tuple[bool, ...], set[tuple]] = {}
    no_nulls = (False,) * len(columns)
    for key in keys:
        values = key_of_row(key)
        patterns.setdefault(tuple(value is None for value in values) if None in values else no_nulls, set()).add(values)
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
        probed = select(probe.label("id"), *[keyset.c[f"k{n}"] for n in present]).offset(0).subquery("p")
        # Only the keys found come back: a page of new rows (a first pull) returns nothing to decode. OFFSET 0 keeps
        # the probe a subquery of its own: pulled up, it would run twice for every key found (filter, then output).
        for row in (await session.execute(select(probed).where(probed.c.id.is_not(None)))).all():
            values = dict(zip(present, row[1:], strict=True))
            found[tuple(values.get(n) for n in range(len(columns)))] = row[0]
    return found
