"""Interchange tables: a header row with fixed column names, one record per row."""

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from shared.errors import ImportRefused
from shared.spreadsheets import restore_text
from shared.tasks.table_reader import TableUnreadable, read_table


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


def read_records(
    *, content: bytes, filename: str, columns: tuple[str, ...], required: tuple[str, ...]
) -> list[tuple[int, dict[str, str]]]:
    """Rows under the header as (spreadsheet row number, {column: text}); refuses unreadable files."""
    try:
        rows = read_table(content=content, filename=filename)
    except TableUnreadable as exc:
        raise ImportRefused(exc.message, errors=[{"row": None, "column": None, "message": exc.message}]) from exc
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
