"""A report as xlsx (one sheet per part) and as PDF with Chinese text in an embedded Noto Sans SC subset (see
shared/reports/fonts.py) and matplotlib charts of task progress and indicator results, labelled in Chinese."""

import asyncio
import io
import threading
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display in a server process
import matplotlib.pyplot as plt
from openpyxl import Workbook
from openpyxl.styles import Font
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth.scope import Principal
from shared.indicators.export import overview_workbook
from shared.orgunits.models import OrgUnit
from shared.reports.calendar import LABEL
from shared.reports.fonts import PDF_FONT, chart_family, pdf_font
from shared.reports.models import Report, ReportKind
from shared.reports.service import get_report
from shared.spreadsheets import append_row

_PDF_LOCK = threading.Lock()  # pyplot and the PDF font registration are process-wide: one PDF at a time
STATUS = {"draft": "草稿", "submitted": "已报送", "returned": "已退回", "accepted": "已采纳"}


def _sections(report: Report, unit: OrgUnit) -> list[tuple[str, list[str], list[list[Any]]]]:
    """The report's parts as (title, header, rows), shared by both formats."""
    content, aggregate = report.content or {}, report.aggregate or {}
    tasks, activities = content.get("tasks") or {}, content.get("activities") or {}
    figures = aggregate.get("figures") or {}
    return [
        (
            "概况",
            ["项目", "内容"],
            [
                ["报送单位", f"{unit.name}（{unit.code}）"],
                ["报告类型", LABEL[report.kind]],
                ["报告期", report.period],
                ["截止日期", report.due_on.isoformat()],
                ["状态", STATUS[report.status.value]],
                ["报送时间", report.submitted_at.isoformat() if report.submitted_at else "未报送"],
                ["工作任务", tasks.get("total", 0)],
                ["已完成", tasks.get("done", 0)],
                ["已逾期", tasks.get("overdue", 0)],
                ["平均完成进度（%）", tasks.get("percent_avg")],
                ["活动场次", activities.get("count", 0)],
                ["参与人次", activities.get("attendance", 0)],
                ["本单位说明", report.text],
            ],
        ),
        (
            "逾期任务",
            ["序号", "工作任务", "完成时限", "逾期说明"],
            [
                [item["code"], item["title"], item["due_date"], item.get("delay_reason", "")]
                for item in content.get("overdue_tasks") or []
            ],
        ),
        (
            "进展变化",
            ["序号", "进度（%）", "状态", "说明", "时间"],
            [
                [item["code"], item["percent_complete"], item["status"], item["note"], item["at"]]
                for item in content.get("changes") or []
            ],
        ),
        (
            "指标",
            ["指标", "现状", "目标", "上期", "变化", "是否达标"],
            [
                [
                    item["code"],
                    item["value"],
                    item.get("target"),
                    item.get("previous"),
                    item.get("movement"),
                    "—" if item.get("passed") is None else ("达标" if item["passed"] else "未达标"),
                ]
                for item in content.get("indicators") or []
            ],
        ),
        (
            "活动",
            ["类型", "场次"],
            [[kind, count] for kind, count in sorted((activities.get("by_type") or {}).items())],
        ),
        (
            "下级报送",
            ["项目", "数值"],
            [
                ["应报单位", aggregate.get("expected", 0)],
                ["已报单位", aggregate.get("submitted", 0)],
                *[
                    [f"下级合计：{group}.{name}", value]
                    for group, names in figures.items()
                    for name, value in names.items()
                ],
                *[
                    [f"未报：{item['name']}（{item['code']}）", STATUS.get(item["status"], item["status"])]
                    for item in aggregate.get("missing") or []
                ],
            ],
        ),
    ]


def report_xlsx(report: Report, unit: OrgUnit) -> bytes:
    """The report as a workbook, one sheet per part."""
    book = Workbook()
    book.remove(book.active)
    for title, header, rows in _sections(report, unit):
        sheet = book.create_sheet(title)
        append_row(sheet, header)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            append_row(sheet, row)
        sheet.column_dimensions["A"].width = 24
        sheet.column_dimensions["B"].width = 48
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _chart(labels: list[str], values: list[float], *, ylabel: str) -> io.BytesIO:
    """A bar chart as PNG, its labels in Noto Sans SC (DejaVu Sans for what that lacks)."""
    with plt.rc_context({"font.family": [chart_family(), "DejaVu Sans"]}):
        figure, axes = plt.subplots(figsize=(6.4, 2.6), dpi=110)
        axes.bar(labels or ["-"], values or [0], color="#3b6ea8")
        axes.set_ylabel(ylabel)
        axes.tick_params(axis="x", labelrotation=45 if len(labels) > 8 else 0, labelsize=7)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        plt.close(figure)
    buffer.seek(0)
    return buffer


def report_pdf(report: Report, unit: OrgUnit) -> bytes:
    """The report as an A4 PDF: Chinese text in an embedded Noto Sans SC subset, charts of task progress and
    indicator results. Safe to call from several threads (they take turns)."""
    with _PDF_LOCK:
        return _report_pdf(report, unit)


def _report_pdf(report: Report, unit: OrgUnit) -> bytes:
    title = ParagraphStyle("title", fontName=PDF_FONT, fontSize=16, leading=22)
    body = ParagraphStyle("body", fontName=PDF_FONT, fontSize=9, leading=13)
    heading = ParagraphStyle("heading", fontName=PDF_FONT, fontSize=12, leading=18, spaceBefore=6)
    content = report.content or {}
    tasks = content.get("tasks") or {}
    texts: list[str] = []

    def paragraph(text: str, style: ParagraphStyle) -> Paragraph:
        texts.append(text)
        return Paragraph(text, style)

    story: list[Any] = [paragraph(f"{unit.name}{report.period}{LABEL[report.kind]}", title), Spacer(1, 4 * mm)]
    done, overdue, total = tasks.get("done", 0), tasks.get("overdue", 0), tasks.get("total", 0)
    story += [
        paragraph("任务进展", heading),
        Image(
            _chart(["已完成", "进行中", "已逾期"], [done, max(total - done - overdue, 0), overdue], ylabel="任务数"),
            width=150 * mm,
            height=61 * mm,
        ),
    ]
    indicators = [item for item in content.get("indicators") or [] if item.get("value") is not None][:40]
    if indicators:
        story += [
            paragraph("指标结果", heading),
            Image(
                _chart([item["code"] for item in indicators], [item["value"] for item in indicators], ylabel="指标值"),
                width=150 * mm,
                height=61 * mm,
            ),
        ]
    for section, header, rows in _sections(report, unit):
        if not rows:
            continue
        story.append(paragraph(section, heading))
        cells = [[paragraph(_escape(value), body) for value in row] for row in [header, *rows]]
        table = Table(cells, colWidths=_widths([header, *rows], WIDTH), repeatRows=1, splitInRow=1)
        table.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        story.append(table)
    buffer = io.BytesIO()
    with pdf_font("".join(texts)):
        SimpleDocTemplate(
            buffer, pagesize=A4, title=f"{unit.name} {report.period}", leftMargin=15 * mm, rightMargin=15 * mm
        ).build(story)
    return buffer.getvalue()


WIDTH = A4[0] - 30 * mm  # between the margins


def _widths(rows: list[list[Any]], total: float) -> list[float]:
    """Column widths in proportion to each column's longest text (capped), so a long text wraps instead of
    pushing the other columns to nothing; rows taller than a page split (splitInRow)."""
    weights = [min(max(len(str(row[column] or "")) for row in rows), 40) + 4 for column in range(len(rows[0]))]
    return [total * weight / sum(weights) for weight in weights]


def _escape(value: Any) -> str:
    text = "" if value is None else str(value)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def export_report(session: AsyncSession, *, actor: Principal, report_id: int, fmt: str) -> tuple[bytes, str, str]:
    """(bytes, media type, file name) of a report; a self-assessment's xlsx is the 主要指标一览表 of its year."""
    report, unit = await get_report(session, actor=actor, report_id=report_id)
    name = f"report-{unit.code}-{report.kind.value}-{report.period}.{fmt}"
    if fmt == "pdf":
        # Off the event loop: a first export converts glyphs, a long text takes seconds to lay out.
        return await asyncio.to_thread(report_pdf, report, unit), "application/pdf", name
    if report.kind == ReportKind.self_assessment:
        assert unit.id is not None
        return await overview_workbook(session, actor=actor, unit_id=unit.id, period=report.period), XLSX, name
    return report_xlsx(report, unit), XLSX, name
