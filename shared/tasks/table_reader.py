"""Read a task table from xlsx or csv bytes into rows of cell texts, merged cells filled in."""

import csv
import io
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import PurePath
from typing import IO
from xml.parsers import expat

import openpyxl
from openpyxl.utils.cell import range_boundaries
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet._read_only import ReadOnlyWorksheet
from openpyxl.worksheet._reader import WorkSheetParser

from shared.config import get_settings
from shared.tasks.table_parser import find_header

Rows = list[list[str | None]]
_XLSX_SUFFIXES = {".xlsx", ".xlsm"}
_TEXT_SUFFIXES = {".csv", ".tsv", ".txt"}
_ENCODINGS = ("utf-8-sig", "gb18030")
_DELIMITERS = (",", "\t")
MAX_PARTS = 1000
MAX_COLUMNS = 256
MAX_CELLS = 10_000_000
RATIO_CHECKED_FROM = 1024 * 1024


@dataclass(frozen=True, slots=True)
class TableLimits:
    """What one import may unpack and read."""

    max_uncompressed_bytes: int
    max_compression_ratio: float
    max_rows: int


class TableUnreadable(Exception):
    """The file is not a readable xlsx or csv table."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class TableTooLarge(TableUnreadable):
    """The file unpacks to more than the configured limit."""


def configured_limits() -> TableLimits:
    """The limits from the settings."""
    settings = get_settings()
    return TableLimits(
        max_uncompressed_bytes=settings.import_max_uncompressed_bytes,
        max_compression_ratio=settings.import_max_compression_ratio,
        max_rows=settings.import_max_rows,
    )


def read_table(*, content: bytes, filename: str, limits: TableLimits | None = None) -> Rows:
    """Rows of the table (row 1 first, so index + 1 is the spreadsheet row); None for an empty cell."""
    limits = limits or configured_limits()
    suffix = PurePath(filename).suffix.lower()
    if suffix in _XLSX_SUFFIXES or (suffix not in _TEXT_SUFFIXES and content.startswith(b"PK")):
        return _read_xlsx(content, filename, limits)
    if suffix == ".xls":
        raise TableUnreadable(f"{filename}: old .xls files are not read; save it as .xlsx")
    return _read_csv(content, filename, limits)


def check_archive(*, content: bytes, filename: str, limits: TableLimits) -> None:
    """Refuse a zip whose central directory promises too many parts, too many bytes or a bomb's ratio."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as error:
        raise TableUnreadable(f"{filename}: not a valid xlsx file ({type(error).__name__})") from error
    if len(parts) > MAX_PARTS:
        raise TableUnreadable(f"{filename}: the workbook has {len(parts)} parts, more than the limit of {MAX_PARTS}")
    total = sum(part.file_size for part in parts)
    if total > limits.max_uncompressed_bytes:
        raise TableTooLarge(
            f"{filename}: the workbook unpacks to {total} bytes, more than the limit of "
            f"{limits.max_uncompressed_bytes} bytes (IMPORT_MAX_UNCOMPRESSED_BYTES)"
        )
    for part in parts:
        ratio = part.file_size / max(part.compress_size, 1)
        if part.file_size >= RATIO_CHECKED_FROM and ratio > limits.max_compression_ratio:
            raise TableUnreadable(
                f"{filename}: part {part.filename} is packed {ratio:.0f} to 1, more than the limit of "
                f"{limits.max_compression_ratio:g} (IMPORT_MAX_COMPRESSION_RATIO)"
            )


def _too_many_rows(filename: str, limits: TableLimits) -> TableUnreadable:
    return TableUnreadable(
        f"{filename}: the table has more than {limits.max_rows} rows, the limit of one import (IMPORT_MAX_ROWS)"
    )


def _read_xlsx(content: bytes, filename: str, limits: TableLimits) -> Rows:
    check_archive(content=content, filename=filename, limits=limits)
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        for part in archive.infolist():
            if part.filename.lower().endswith(".xml"):
                with archive.open(part) as source:
                    _scan_part(source, filename, limits)
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds (zip, xml, key, value) for a file that is not xlsx
        raise TableUnreadable(f"{filename}: not a valid xlsx file ({type(error).__name__})") from error
    try:
        sheets = [_sheet_rows(workbook, sheet, filename, limits) for sheet in workbook.worksheets]
    except TableUnreadable:
        raise
    except Exception as error:  # a broken sheet part: bad xml, bad cell reference
        raise TableUnreadable(f"{filename}: not a valid xlsx file ({type(error).__name__})") from error
    finally:
        workbook.close()
    if not sheets:
        raise TableUnreadable(f"{filename}: the workbook has no sheets")
    return next((rows for rows in sheets if find_header(rows) is not None), sheets[0])


def _sheet_rows(workbook: Workbook, sheet: ReadOnlyWorksheet, filename: str, limits: TableLimits) -> Rows:
    """The sheet's rows streamed from its xml, stopping at the row limit; merged cells filled in."""
    if not isinstance(sheet, ReadOnlyWorksheet):  # a chartsheet holds no table
        return []
    by_row: dict[int, list[str | None]] = {}
    with sheet._get_source() as source:  # the row-by-row parser read_only mode uses, with its merged cells kept
        parser = WorkSheetParser(
            source,
            sheet._shared_strings,
            data_only=True,
            epoch=workbook.epoch,
            date_formats=workbook._date_formats,
            timedelta_formats=workbook._timedelta_formats,
        )
        for number, cells in parser.parse():
            values = {cell["column"]: _cell_text(cell["value"]) for cell in cells if cell["value"] is not None}
            values = {column: text for column, text in values.items() if text is not None}
            if not values:
                continue
            if number > limits.max_rows:
                raise _too_many_rows(filename, limits)
            if max(values) > MAX_COLUMNS:
                raise TableUnreadable(f"{filename}: row {number} has cells beyond column {MAX_COLUMNS}")
            row = [None] * max(values)
            for column, text in values.items():
                row[column - 1] = text
            by_row[number] = row
        merged = [_bounds(str(cell.ref)) for cell in parser.merged_cells.mergeCell] if parser.merged_cells else []
    merged = [bounds for bounds in merged if bounds[2] <= limits.max_rows and bounds[3] <= MAX_COLUMNS]
    height = max([*by_row, *(bounds[2] for bounds in merged)], default=0)
    width = max([*(len(row) for row in by_row.values()), *(bounds[3] for bounds in merged)], default=0)
    merged_cells = sum((bounds[2] - bounds[0] + 1) * (bounds[3] - bounds[1] + 1) for bounds in merged)
    if height * width > MAX_CELLS or merged_cells > MAX_CELLS:
        raise TableUnreadable(f"{filename}: the table spans more than {MAX_CELLS} cells")
    rows: Rows = [[None] * width for _ in range(height)]
    for number, row in by_row.items():
        rows[number - 1][: len(row)] = row
    for min_row, min_col, max_row, max_col in merged:
        value = rows[min_row - 1][min_col - 1]
        for row in range(min_row, max_row + 1):
            for column in range(min_col, max_col + 1):
                rows[row - 1][column - 1] = value
    return rows


def _scan_part(source: IO[bytes], filename: str, limits: TableLimits) -> None:
    """Count a part's sheet rows and cells with expat, which builds no tree, before openpyxl builds one per row (and
    reads a whole sheet to look for its size): millions of empty rows or cells would cost minutes or gigabytes."""
    rows, cells = 0, 0

    def start(name: str, _attributes: dict[str, str]) -> None:
        nonlocal rows, cells
        namespace, _, local = name.rpartition(" ")
        if "spreadsheetml" not in namespace:
            return
        if local == "row":
            rows, cells = rows + 1, 0
            if rows > limits.max_rows:
                raise _too_many_rows(filename, limits)
        elif local == "c":
            cells += 1
            if cells > MAX_COLUMNS:
                raise TableUnreadable(f"{filename}: row {rows} has more than {MAX_COLUMNS} cells")

    def entity(*_args: object) -> None:
        raise TableUnreadable(f"{filename}: a part declares XML entities, which a workbook never needs")

    parser = expat.ParserCreate(namespace_separator=" ")
    parser.StartElementHandler = start
    parser.EntityDeclHandler = entity
    try:
        while chunk := source.read(1024 * 1024):
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except (expat.ExpatError, zipfile.BadZipFile, EOFError, OSError) as error:  # bad xml; a part not as its header says
        raise TableUnreadable(f"{filename}: not a valid xlsx file ({type(error).__name__})") from error


def _bounds(ref: str) -> tuple[int, int, int, int]:
    min_col, min_row, max_col, max_row = range_boundaries(ref)
    return min_row, min_col, max_row, max_col


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


def _read_csv(content: bytes, filename: str, limits: TableLimits) -> Rows:
    text = _decoded(content, filename)
    candidates = [_csv_rows(text, delimiter, filename, limits) for delimiter in _DELIMITERS]
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


def _csv_rows(text: str, delimiter: str, filename: str, limits: TableLimits) -> Rows:
    rows: Rows = []
    try:
        for record in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
            if len(rows) >= limits.max_rows and any(cell.strip() for cell in record):
                raise _too_many_rows(filename, limits)
            rows.append([cell if cell.strip() else None for cell in record])
    except csv.Error as error:
        raise TableUnreadable(f"not a readable csv table: {error}") from error
    return rows
