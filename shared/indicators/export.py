"""The 主要指标一览表 (indicator overview table) as xlsx, filled from stored results."""

import io

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth.scope import Principal
from shared.indicators.schemas import IndicatorResultPublic
from shared.indicators.service import read_indicators
from shared.orgunits.service import get_org_unit
from shared.spreadsheets import append_row

HEADER = ["序号", "指标项目", "创建标准", "项目现状", "创建目标", "是否达标"]
SECTIONS = (
    ("key", "一、重点指标项目（共{n}项）"),
    ("general", "二、一般指标项目（共{n}项）"),
    ("local", "三、地方指标（共{n}项）"),
)


def _status(item: IndicatorResultPublic) -> str:
    if item.value is None:
        return "无数据：" + "、".join(item.missing)
    if item.kind == "milestone":
        return "已达到（评估确认）" if item.value >= 1 else "未达到（评估确认）"
    shown = f"{item.value:.2%}" if item.unit == "ratio" else f"{item.value:,.4g} {item.unit}"
    if item.numerator is not None and item.denominator is not None:
        shown += f"（{item.numerator:,.0f}/{item.denominator:,.0f}）"
    return shown


def _target(item: IndicatorResultPublic) -> str:
    if item.target is not None:
        return f"{item.target_op} {item.target:g}"
    return f"{item.threshold_op} {item.threshold:g}（标准）" if item.threshold is not None else "按标准"


def _verdict(item: IndicatorResultPublic) -> str:
    passed = item.target_passed if item.target is not None else item.passed
    return "—" if passed is None else ("达标" if passed else "未达标")


async def overview_workbook(session: AsyncSession, *, actor: Principal, unit_id: int, period: str) -> bytes:
    """The overview table of a unit for a period, in the seeds' layout."""
    unit = await get_org_unit(session, actor=actor, unit_id=unit_id)
    listing = await read_indicators(session, actor=actor, unit_id=unit_id, period=period)
    book = Workbook()
    sheet = book.active
    sheet.title = "主要指标一览表"
    append_row(sheet, [f"{unit.name}创建国家公共文化服务体系示范区主要指标一览表（{listing.period}）"])
    append_row(sheet, HEADER)
    for category, title in SECTIONS:
        items = [item for item in listing.items if item.category == category]
        if not items:
            continue
        append_row(sheet, [title.format(n=len(items))])
        for number, item in enumerate(items, start=1):
            append_row(sheet, [number, item.name, item.standard, _status(item), _target(item), _verdict(item)])
    for column, width in zip("ABCDEF", (6, 36, 48, 36, 18, 10), strict=True):
        sheet.column_dimensions[column].width = width
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
