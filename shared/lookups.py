"""Looking many codes or ids up at once, in chunks that keep each IN list a sane size."""

from typing import Any

from sqlalchemy import Row, Select
from sqlalchemy.ext.asyncio import AsyncSession

LOOKUP_CHUNK = 5000


async def lookup_in_chunks(session: AsyncSession, query: Select[Any], column: Any, values: set[Any]) -> list[Row[Any]]:
    """The rows of `query` whose `column` is one of `values`, one query per chunk of values."""
    ordered, rows = sorted(values), []
    for start in range(0, len(ordered), LOOKUP_CHUNK):
        rows += (await session.execute(query.where(column.in_(ordered[start : start + LOOKUP_CHUNK])))).all()
    return rows
