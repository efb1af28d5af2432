"""Exports write text as text: CSV cells that would start a formula are neutralised, xlsx text cells are strings."""

import csv
import io
from datetime import date

from openpyxl import Workbook, load_workbook

from shared.orgunits.models import OrgUnit
from shared.reports.export import report_xlsx
from shared.reports.models import Report, ReportKind
from shared.spreadsheets import append_row, csv_bytes, csv_text, restore_text

HOSTILE = ["=1+1", "+1+1", "-1+1", "@SUM(A1)", "\t=1", "\r=1", '=HYPERLINK("http://x.example","点我")']


def test_every_formula_start_is_neutralised_and_restored() -> None:
    for text in HOSTILE:
        assert csv_text(text) == "'" + text
        assert restore_text(csv_text(text)) == text
    for text in ["文化站", "a=b", "'quoted", "", "1-2"]:
        assert csv_text(text) == text and restore_text(text) == text


def test_a_csv_file_holds_neutralised_text_and_plain_numbers() -> None:
    content = csv_bytes([["name", "count"], *[[text, -3] for text in HOSTILE]])
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))
    assert [row[0] for row in rows[1:]] == ["'" + text for text in HOSTILE]
    assert {row[1] for row in rows[1:]} == {"-3"}  # numbers are not text: no apostrophe


def test_xlsx_text_cells_are_strings_never_formulas() -> None:
    book = Workbook()
    append_row(book.active, [*HOSTILE, 7, "bell\x07"])
    buffer = io.BytesIO()
    book.save(buffer)
    cells = next(load_workbook(buffer).active.iter_rows())
    assert [cell.data_type for cell in cells[: len(HOSTILE)]] == ["s"] * len(HOSTILE)
    assert [cell.value for cell in cells[: len(HOSTILE)]] == [text.replace("\r", "\n") for text in HOSTILE]  # xlsx XML
    assert cells[len(HOSTILE)].data_type == "n" and cells[-1].value == "bell"


def test_a_reports_text_task_titles_notes_and_delay_reasons_are_string_cells() -> None:
    unit = OrgUnit(id=1, code="=cmd", name='=HYPERLINK("x")', path="/1/")
    report = Report(
        id=1,
        org_unit_id=1,
        kind=ReportKind.monthly_update,
        period="2026-03",
        opens_on=date(2026, 3, 1),
        due_on=date(2026, 4, 5),
        text="=1+1",
        content={
            "overdue_tasks": [{"code": "1", "title": "=2+2", "due_date": "2026-03-01", "delay_reason": "@SUM(A1)"}],
            "changes": [{"code": "1", "percent_complete": 50, "status": "in_progress", "note": "+3", "at": "x"}],
        },
    )
    book = load_workbook(io.BytesIO(report_xlsx(report, unit)))
    texts = {cell.value: cell.data_type for sheet in book for row in sheet.iter_rows() for cell in row if cell.value}
    for text in ["=1+1", "=2+2", "@SUM(A1)", "+3"]:
        assert texts[text] == "s", text
