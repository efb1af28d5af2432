"""The table reader: a workbook's zip directory is checked before parsing, rows are streamed and capped."""

import io
import zipfile

import openpyxl
import pytest

from shared.tasks.table_reader import (
    MAX_COLUMNS,
    MAX_PARTS,
    TableLimits,
    TableTooLarge,
    TableUnreadable,
    check_archive,
    read_table,
)

LIMITS = TableLimits(max_uncompressed_bytes=8 * 1024 * 1024, max_compression_ratio=100, max_rows=50)


def workbook(rows: list[list[object]], *, merges: tuple[str, ...] = ()) -> bytes:
    """An xlsx holding the rows on its one sheet."""
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    for cells in merges:
        sheet.merge_cells(cells)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def with_sheet_xml(content: bytes, sheet_xml: bytes) -> bytes:
    """The workbook with its first sheet's xml replaced."""
    source, target = zipfile.ZipFile(io.BytesIO(content)), io.BytesIO()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for part in source.infolist():
            archive.writestr(
                part.filename, sheet_xml if part.filename == "xl/worksheets/sheet1.xml" else source.read(part)
            )
    return target.getvalue()


def sheet_xml(rows: str, *, dimension: str = "A1:B2") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f'<dimension ref="{dimension}"/><sheetData>{rows}</sheetData></worksheet>'
    ).encode()


def test_a_workbook_is_read_row_by_row_with_its_merged_cells_filled_in() -> None:
    content = workbook([["序号", "任务", None], [1, "阅读推广", "2019-12-31"], [None, None, "x"]], merges=("A2:A3",))
    rows = read_table(content=content, filename="tasks.xlsx", limits=LIMITS)
    assert rows == [["序号", "任务", None], ["1", "阅读推广", "2019-12-31"], ["1", None, "x"]]


def test_a_lying_dimension_does_not_widen_every_row() -> None:
    content = with_sheet_xml(
        workbook([["a"]]),
        sheet_xml('<row r="1"><c r="A1" t="inlineStr"><is><t>a</t></is></c></row>', dimension="A1:XFD1048576"),
    )
    assert read_table(content=content, filename="t.xlsx", limits=LIMITS) == [["a"]]


def test_empty_styled_rows_are_not_returned_but_count_towards_the_limit() -> None:
    empty = "".join(f'<row r="{number}"><c r="A{number}" s="0"/></row>' for number in range(1, 45))
    filled = '<row r="45"><c r="B45" t="inlineStr"><is><t>late</t></is></c></row>'
    rows = read_table(
        content=with_sheet_xml(workbook([["a"]]), sheet_xml(empty + filled)), filename="t.xlsx", limits=LIMITS
    )
    assert rows == [[None, None]] * 44 + [[None, "late"]]
    many = "".join(f'<row r="{number}"><c r="A{number}" s="0"/></row>' for number in range(1, 100_000))
    with pytest.raises(TableUnreadable, match=r"more than 50 rows.*IMPORT_MAX_ROWS"):
        read_table(content=with_sheet_xml(workbook([["a"]]), sheet_xml(many)), filename="t.xlsx", limits=LIMITS)


def test_a_row_of_many_empty_cells_is_refused_before_openpyxl_builds_it() -> None:
    cells = "".join(f'<c r="A1" s="{number % 2}"/>' for number in range(MAX_COLUMNS + 1))
    with pytest.raises(TableUnreadable, match=f"more than {MAX_COLUMNS} cells"):
        read_table(
            content=with_sheet_xml(workbook([["a"]]), sheet_xml(f'<row r="1">{cells}</row>')),
            filename="t.xlsx",
            limits=LIMITS,
        )


def test_rows_beyond_the_limit_are_refused_naming_it() -> None:
    content = workbook([["code", "name"]] + [[f"U{n}", "x"] for n in range(50)])
    with pytest.raises(TableUnreadable, match="more than 50 rows, the limit of one import"):
        read_table(content=content, filename="units.xlsx", limits=LIMITS)
    assert (
        len(read_table(content=workbook([["code"]] + [[n] for n in range(49)]), filename="u.xlsx", limits=LIMITS)) == 50
    )
    csv = "code,name\n" + "".join(f"U{n},x\n" for n in range(50))
    with pytest.raises(TableUnreadable, match="more than 50 rows"):
        read_table(content=csv.encode(), filename="units.csv", limits=LIMITS)


def test_a_cell_beyond_the_column_limit_is_refused() -> None:
    book = openpyxl.Workbook()
    book.active.cell(row=1, column=MAX_COLUMNS + 1, value="far")
    buffer = io.BytesIO()
    book.save(buffer)
    with pytest.raises(TableUnreadable, match=f"beyond column {MAX_COLUMNS}"):
        read_table(content=buffer.getvalue(), filename="wide.xlsx", limits=LIMITS)


def test_the_unpacked_size_is_checked_before_parsing() -> None:
    archive = io.BytesIO()
    with (
        zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bomb,
        bomb.open("xl/worksheets/sheet1.xml", "w") as part,
    ):
        for _ in range(9):
            part.write(b"<row/>" * (1024 * 1024 // 6 + 1))
    with pytest.raises(TableTooLarge, match="more than the limit of 8388608 bytes"):
        check_archive(content=archive.getvalue(), filename="bomb.xlsx", limits=LIMITS)


def test_a_part_packed_beyond_the_ratio_is_refused_and_a_small_one_is_not_looked_at() -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bomb:
        bomb.writestr("xl/sharedStrings.xml", b" " * (1024 * 1024 - 1))
    check_archive(content=archive.getvalue(), filename="small.xlsx", limits=LIMITS)
    with zipfile.ZipFile(archive, "a", zipfile.ZIP_DEFLATED) as bomb:
        bomb.writestr("xl/worksheets/sheet1.xml", b" " * (2 * 1024 * 1024))
    with pytest.raises(
        TableUnreadable, match=r"xl/worksheets/sheet1.xml is packed \d+ to 1.*IMPORT_MAX_COMPRESSION_RATIO"
    ):
        check_archive(content=archive.getvalue(), filename="bomb.xlsx", limits=LIMITS)


def test_too_many_parts_are_refused() -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as parts:
        for number in range(MAX_PARTS + 1):
            parts.writestr(f"xl/media/{number}.bin", b"")
    with pytest.raises(TableUnreadable, match=f"{MAX_PARTS + 1} parts, more than the limit of {MAX_PARTS}"):
        read_table(content=archive.getvalue(), filename="parts.xlsx", limits=LIMITS)


def test_an_xml_entity_bomb_is_refused() -> None:
    entities = '<!DOCTYPE w [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    xml = sheet_xml('<row r="1"><c r="A1" t="inlineStr"><is><t>&b;</t></is></c></row>').replace(
        b"<worksheet", entities.encode() + b"<worksheet", 1
    )
    with pytest.raises(TableUnreadable, match="declares XML entities"):
        read_table(content=with_sheet_xml(workbook([["a"]]), xml), filename="laughs.xlsx", limits=LIMITS)


def test_merged_ranges_spanning_too_many_cells_are_refused() -> None:
    merges = "".join(f'<mergeCell ref="A{n}:IV50"/>' for n in range(1, 50)) * 20
    xml = sheet_xml('<row r="1"><c r="A1" t="inlineStr"><is><t>a</t></is></c></row>').replace(
        b"</sheetData>", f"</sheetData><mergeCells>{merges}</mergeCells>".encode()
    )
    assert len(read_table(content=with_sheet_xml(workbook([["a"]]), xml), filename="m.xlsx", limits=LIMITS)) == 50
    with pytest.raises(TableUnreadable, match="spans more than 10000000 cells"):
        read_table(
            content=with_sheet_xml(
                workbook([["a"]]), xml.replace(b"</mergeCells>", b'<mergeCell ref="A1:IV50"/>' * 800 + b"</mergeCells>")
            ),
            filename="m.xlsx",
            limits=LIMITS,
        )
