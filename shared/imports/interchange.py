"""Interchange tables: a header row with fixed column names, one record per row."""

import asyncio
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, ParamSpec, TypeVar

from shared.errors import AppError, ImportRefused, PayloadTooLarge
from shared.spreadsheets import restore_text
from shared.tasks.table_reader import TableTooLarge, TableUnreadable, read_table

PARSERS_AT_ONCE = 2
_Params = ParamSpec("_Params")
_Result = TypeVar("_Result")
_gates: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore]" = weakref.WeakKeyDictionary()


@dataclass(slots=True)
class RowErrors:
    """Every problem found in a file, by row and column."""

    errors: list[dict[str, Any]] = field(default_factory=list)

    def add(self, *, row: int | None, column: str | None, message: str) -> None:
        """Note one problem."""
        self.errors.append({"row": row, "column": column, "message": message})

    def raise_if_any(self, *, what: str) -> None:
        """Refuse the import when anything was noted."""
        if self.errors:
            raise ImportRefused(
                f"{what}: {len(self.errors)} problem(s) found, nothing was imported", errors=self.errors
            )


async def parse_off_loop(work: Callable[_Params, _Result], *args: _Params.args, **kwargs: _Params.kwargs) -> _Result:
    """Run a file's parsing in a worker thread, a few at once per process, so the service keeps answering."""
    loop = asyncio.get_running_loop()
    gate = _gates.get(loop)
    if gate is None:
        gate = _gates[loop] = asyncio.Semaphore(PARSERS_AT_ONCE)
    async with gate:
        return await asyncio.to_thread(work, *args, **kwargs)


def unreadable(exc: TableUnreadable) -> AppError:
    """The answer to a file that cannot be read: 413 when it unpacks too large, else 422."""
    error = {"row": None, "column": None, "message": exc.message}
    if isinstance(exc, TableTooLarge):
        return PayloadTooLarge(exc.message, errors=[{"field": "file", "message": exc.message}])
    return ImportRefused(exc.message, errors=[error])


async def read_records(
    *, content: bytes, filename: str, columns: tuple[str, ...], required: tuple[str, ...]
) -> list[tuple[int, dict[str, str]]]:
    """Rows under the header as (spreadsheet row number, {column: text}); refuses unreadable files."""
    return await parse_off_loop(_records, content=content, filename=filename, columns=columns, required=required)


def _records(
    *, content: bytes, filename: str, columns: tuple[str, ...], required: tuple[str, ...]
) -> list[tuple[int, dict[str, str]]]:
    try:
        rows = read_table(content=content, filename=filename)
    except TableUnreadable as exc:
        raise unreadable(exc) from exc
    for index, row in enumerate(rows[:10]):
        names = [(cell or "").strip().lower() for cell in row]
        if set(required) <= set(names):
            positions = {name: names.index(name) for name in columns if name in names}
            return [
                (index + offset + 2, {name: _cell(values, position) for name, position in positions.items()})
                for offset, values in enumerate(rows[index + 1 :])
                if any((cell or "").strip() for cell in values)
            ]
    message = f"no header row with the columns {', '.join(required)}"
    raise ImportRefused(message, errors=[{"row": None, "column": None, "message": message}])


def _cell(values: list[str | None], position: int) -> str:
    return restore_text((values[position] or "").strip()).strip() if position < len(values) else ""


def parse_date_cell(text: str, *, row: int, column: str, errors: RowErrors) -> date | None:
    """An ISO date or blank; notes an error otherwise."""
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        errors.add(row=row, column=column, message=f"{text!r} is not a date (use YYYY-MM-DD)")
        return None
