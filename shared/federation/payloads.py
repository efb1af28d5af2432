"""Rows as they travel: one canonical JSON form whatever database wrote them, and back to column values."""

import contextlib
import gc
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, Date, DateTime, Float, Integer, Numeric, Table

from shared.db import UTCDateTime, metadata


def table_of(name: str) -> Table:
    """The metadata table of a tracked table name."""
    if name not in metadata.tables:
        import shared.models  # noqa: F401  (registers every table)
    return metadata.tables[name]


def _kind(column_type: Any) -> str:
    if isinstance(column_type, UTCDateTime | DateTime):
        return "datetime"
    if isinstance(column_type, Date):
        return "date"
    if isinstance(column_type, Boolean):
        return "bool"
    if isinstance(column_type, Numeric | Float):
        return "number"
    if isinstance(column_type, Integer):
        return "int"
    if isinstance(column_type, JSON):
        return "json"
    return "text"


_KINDS: dict[str, dict[str, str]] = {}


def kinds(table: str) -> dict[str, str]:
    """Column name → value kind of a table (cached)."""
    if table not in _KINDS:
        _KINDS[table] = {column.name: _kind(column.type) for column in table_of(table).columns}
    return _KINDS[table]


def _parse_datetime(value: Any) -> datetime:
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace(" ", "T"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def to_python(table: str, name: str, value: Any) -> Any:
    """One travelling value as the column holds it (ValueError/TypeError when it cannot be)."""
    if value is None:
        return None
    kind = kinds(table)[name]
    if kind == "datetime":
        return _parse_datetime(value)
    if kind == "date":
        return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    if kind == "bool":
        if isinstance(value, bool | int):
            return bool(value)
        raise TypeError(f"{name} is not a boolean")
    if kind == "number":
        if isinstance(value, bool):
            raise TypeError(f"{name} is not a number")
        try:
            return Decimal(str(value))
        except ArithmeticError:  # decimal.InvalidOperation is not a ValueError
            raise ValueError(f"{name} is not a number") from None
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise TypeError(f"{name} is not an integer")
        return int(value)
    if kind == "json":
        return json.loads(value) if isinstance(value, str) else value
    if not isinstance(value, str | int | float):
        raise TypeError(f"{name} is not text")
    return str(value)


def _to_json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return getattr(value, "value", value)


def _utc_text(value: Any) -> bool:
    return isinstance(value, str) and len(value) == 32 and value[10] == "T" and value.endswith("+00:00")


_FAST: dict[str, Any] = {
    "text": lambda v: v if isinstance(v, str) else None,
    "int": lambda v: v if type(v) is int else None,
    "number": lambda v: float(v) if type(v) in (int, float) else None,
    "bool": lambda v: v if type(v) is bool else None,
    "date": lambda v: v if isinstance(v, str) and len(v) == 10 else None,
    "datetime": lambda v: v if _utc_text(v) else None,
}


def canonical(table: str, payload: dict[str, Any]) -> dict[str, Any]:
    """A row in the one JSON form the feed serves (known columns only, typed, UTC timestamps)."""
    result: dict[str, Any] = {}
    for name, kind in kinds(table).items():
        if name not in payload:
            continue
        value = payload[name]
        fast = _FAST.get(kind)
        converted = None if value is None or fast is None else fast(value)
        if converted is None and value is not None:
            converted = _to_json(to_python(table, name, value))
        result[name] = converted
    return result


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Hold the cyclic garbage collector while a page of rows is decoded, converted and written.

    A page is thousands of small acyclic dicts (freed by reference counting anyway); each few hundred allocations
    would otherwise start a collection, and the older generations' sweeps walk the whole heap of the process —
    measured at about half the CPU of serving a page. Collection resumes at the end (nested uses leave it to the
    outermost one)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
