"""Text written to a spreadsheet stays text: CSV cells that a spreadsheet program would read as a formula are
prefixed with an apostrophe, xlsx text cells are written as strings, never formulas."""

import csv
import io
from collections.abc import Iterable
from typing import Any

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.worksheet.worksheet import Worksheet

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
NEUTRALISER = "'"


def csv_text(value: str) -> str:
    """A text cell for a CSV file: one that would start a formula gets a leading apostrophe."""
    return NEUTRALISER + value if value.startswith(FORMULA_STARTS) else value


def restore_text(value: str) -> str:
    """The text of a cell we neutralised on export (the importers' inverse of `csv_text`)."""
    if value.startswith(NEUTRALISER) and value[1:].startswith(FORMULA_STARTS):
        return value[1:]
    return value


def csv_bytes(rows: Iterable[Iterable[Any]], *, bom: bool = True) -> bytes:
    """A UTF-8 CSV file of rows; text neutralised, other values written with `str` (None as blank)."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")  # so that a CR inside a cell is quoted too
    for row in rows:
        writer.writerow(["" if v is None else csv_text(v) if isinstance(v, str) else str(v) for v in row])
    return buffer.getvalue().encode("utf-8-sig" if bom else "utf-8")


def append_row(sheet: Worksheet, values: Iterable[Any]) -> None:
    """Append a row to an xlsx sheet; text cells are strings (characters xlsx cannot hold dropped)."""
    sheet.append([ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in values])
    for cell in sheet[sheet.max_row]:
        if isinstance(cell.value, str):
            cell.data_type = "s"  # openpyxl would otherwise store "=…" as a formula
