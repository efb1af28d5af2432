"""Read a task table from xlsx or csv bytes into rows of cell texts, merged cells filled in."""

import csv
import io
from datetime import date, datetime, time
from pathlib import PurePath

import openpyxl
from openpyxl.worksheet.worksheet import Worksheet

from shared.tasks.table_parser import find_header

Rows = list[list[str | None]]
_XLSX_SUFFIXES = {".xlsx", ".xlsm"}
_TEXT_SUFFIXES = {".csv", ".tsv", ".txt"}
_ENCODINGS = ("utf-8-sig", "gb18030")
_DELIMITERS = (",", "\t")


class TableUnreadable(Exception):
    """The file is not a readable xlsx or csv table."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


def read_table(*, content: bytes, filename: str) -> Rows:
    """Rows of the table (row 1 first, so index + 1 is the spreadsheet row); None for an empty cell."""
    suffix = PurePath(filename).suffix.lower()
    if suffix in _XLSX_SUFFIXES or (suffix not in _TEXT_SUFFIXES and content.startswith(b"PK")):
        return _read_xlsx(content, filename)
    if suffix == ".xls":
        raise TableUnreadable(f"{filename}: old .xls files are not read; save it as .xlsx")
    return _read_csv(content, filename)


def _read_xlsx(content: bytes, filename: str) -> Rows:
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=False, data_only=True)
    except Exception as error:  # openpyxl raises many kinds (zip, xml, key, value) for a file that is not xlsx
        raise TableUnreadable(f"{filename}: not a valid xlsx file ({type(error).__name__})") from error
    sheets = [_sheet_rows(sheet) for sheet in workbook.worksheets]
    if not sheets:
        raise TableUnreadable(f"{filename}: the workbook has no sheets")
    return next((rows for rows in sheets if find_header(rows) is not None), sheets[0])


def _sheet_rows(sheet: Worksheet) -> Rows:
    rows: Rows = [
        [_cell_text(value) for value in values]
        for values in sheet.iter_rows(
            min_row=1, min_col=1, max_row=sheet.max_row, max_col=sheet.max_column, values_only=True
        )
    ]
    for merged in sheet.merged_cells.ranges:
        value = rows[merged.min_row - 1][merged.min_col - 1]
        for row in range(merged.min_row, merged.max_row + 1):
            for column in range(merged.min_col, merged.max_col + 1):
                rows[row - 1][column - 1] = value
    return rows


def _cell_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value)
    return text if text.strip() else None


def _read_csv(content: bytes, filename: str) -> Rows:
    text = _decoded(content, filename)
    candidates = [_csv_rows(text, delimiter) for delimiter in _DELIMITERS]
    with_header = [rows for rows in candidates if find_header(rows) is not None]
    if with_header:
        return with_header[0]
    return max(candidates, key=lambda rows: max((len(row) for row in rows), default=0))


def _decoded(content: bytes, filename: str) -> str:
    if b"\x00" in content:
        raise TableUnreadable(f"{filename}: not a text (csv) file")
    for encoding in _ENCODINGS:
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise TableUnreadable(f"{filename}: cannot decode the csv as UTF-8 or GB18030")


def _csv_rows(text: str, delimiter: str) -> Rows:
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as error:
        raise TableUnreadable(f"not a readable csv table: {error}") from error
    return [[cell if cell.strip() else None for cell in record] for record in records]
