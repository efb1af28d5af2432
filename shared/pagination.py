"""Opaque keyset cursors and the page envelope every list returns."""

import base64
import json
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from shared.errors import InvalidInput

T = TypeVar("T")
MAX_LIMIT = 500
BIGINT = 2**63 - 1  # ids are BIGINT; a larger number in a cursor would fail in the database, not here
INTEGER = 2**31 - 1
MAX_CURSOR_LENGTH = 200


class Page(BaseModel, Generic[T]):
    """One page of a list and the cursor of the next (null on the last page)."""

    items: list[T]
    next_cursor: str | None = None


def encode_cursor(values: list[Any]) -> str:
    """An opaque cursor for the sort key of the last row of a page."""
    return base64.urlsafe_b64encode(json.dumps(values, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, *, size: int, bounds: tuple[int, ...] | None = None) -> list[Any] | None:
    """The sort key inside a cursor (integers, each within its column's bound, BIGINT by default); a 422 naming
    `cursor` when it was not made by us."""
    if not cursor:
        return None
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise InvalidInput("cursor is not one this API issued", field="cursor")
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput("cursor is not one this API issued", field="cursor") from exc
    if (
        not isinstance(values, list)
        or len(values) != size
        or not all(
            isinstance(v, int) and not isinstance(v, bool) and -bound - 1 <= v <= bound
            for v, bound in zip(values, bounds or (BIGINT,) * size, strict=False)
        )
    ):
        raise InvalidInput("cursor is not one this API issued", field="cursor")
    return values


def page_of(rows: list[Any], *, limit: int, key: Any) -> tuple[list[Any], str | None]:
    """Cut a limit+1 fetch into a page and the next cursor."""
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, encode_cursor(key(rows[-1]))
    return rows, None
