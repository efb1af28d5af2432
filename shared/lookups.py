"""Looking many codes or ids up at once, in chunks that keep each IN list a sane size."""

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import Row, Select
from sqlalchemy.ext.asyncio import AsyncSession

# Below SQLite's oldest limit of 999 variables, with room for the query's own parameters.
LOOKUP_CHUNK = 900


async def lookup_in_chunks(session: AsyncSession, query: Select[Any], column: Any, values: set[Any]) -> list[Row[Any]]:
    """The rows of `query` whose `column` is one of `values`, one query per chunk of values."""
    ordered, rows = sorted(values), []
    for start in range(0, len(ordered), LOOKUP_CHUNK):
        rows += (await session.execute(query.where(column.in_(ordered[start : start + LOOKUP_CHUNK])))).all()
    return rows


async def scalars_in_chunks(session: AsyncSession, query: Select[Any], column: Any, values: Iterable[Any]) -> list[Any]:
    """The objects of `query` whose `column` is one of `values`, one query per chunk of values."""
    ordered, found = sorted(set(values)), []
    for start in range(0, len(ordered), LOOKUP_CHUNK):
        found += (await session.scalars(query.where(column.in_(ordered[start : start + LOOKUP_CHUNK])))).all()
    return found


def named_place(
    source: Any, places: dict[str, dict[Any, Row[Any]]], *, what: str, note: Callable[[str, str], None]
) -> Row[Any] | None:
    """The org unit or facility an item names by `{what}_id` or `{what}_code` (both, if given, must agree);
    every problem goes to `note(field, message)`."""
    by_id, code = getattr(source, f"{what}_id"), (getattr(source, f"{what}_code") or "").strip()
    label = what.replace("_", " ")
    row = places[f"{what}_id"].get(by_id) if by_id is not None else None
    if by_id is not None and row is None:
        note(f"{what}_id", f"{label} {by_id} does not exist")
    if code:
        named = places[f"{what}_code"].get(code)
        if named is None:
            note(f"{what}_code", f"{label} {code} does not exist")
        elif row is not None and named.id != row.id:
            note(f"{what}_code", f"{label} {code} is not {label} {by_id}")
        row = row or (named if by_id is None else None)
    return row
