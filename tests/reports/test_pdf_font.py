"""A report's PDF embeds the Noto Sans SC it is set in (TrueType outlines converted from the installed CFF font),
its Chinese text reads back through the PDF's own maps, and the charts have a font for Chinese labels."""

import io
import warnings
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime

from fontTools.ttLib import TTFont

from shared.orgunits.models import OrgUnit, OrgUnitKind
from shared.reports.export import _chart, report_pdf
from shared.reports.models import Report, ReportKind, ReportStatus
from tests.support.pdf import embedded_fonts, page_text

# More than 256 distinct characters, so reportlab spreads them over several embedded subsets.
MANY = "".join(chr(code) for code in range(0x4E00, 0x4E00 + 300))


def _report(text: str, unit_name: str = "翠苑街道文化站") -> tuple[Report, OrgUnit]:
    unit = OrgUnit(id=7, code="330106001", name=unit_name, level=4, kind=OrgUnitKind.street, path="/1/7/")
    report = Report(
        id=1,
        org_unit_id=7,
        kind=ReportKind.monthly_update,
        period="2026-03",
        opens_on=date(2026, 3, 1),
        due_on=date(2026, 3, 20),
        status=ReportStatus.submitted,
        submitted_at=datetime(2026, 3, 18, 9, tzinfo=UTC),
        text=text,
        content={
            "tasks": {"total": 3, "done": 1, "overdue": 1, "percent_avg": 55.0},
            "overdue_tasks": [
                {
                    "code": "2.1",
                    "title": "建成镇（街道）综合文化站",
                    "due_date": "2026-02-28",
                    "delay_reason": "用地未批",
                }
            ],
            "indicators": [{"code": "1.1", "value": 0.82, "target": 0.8, "passed": True}],
        },
    )
    return report, unit


def _glyph_has_outline(program: bytes, code: int) -> bool:
    font = TTFont(io.BytesIO(program))
    name = font["cmap"].tables[0].cmap[code]
    return font["glyf"][name].numberOfContours > 0


def test_the_pdf_embeds_noto_sans_sc_as_truetype_and_its_chinese_text_reads_back() -> None:
    text = "本月开展“我们的节日”文化活动三场，惠及群众1,200人次；鑫犇喆堃等生僻字亦可显示。"
    pdf = report_pdf(*_report(text))
    fonts = [font for font in embedded_fonts(pdf) if font.base_font.endswith("+NotoSansSC-Regular")]
    assert fonts, [font.base_font for font in embedded_fonts(pdf)]
    assert all(font.file_key == "FontFile2" for font in fonts)
    assert b"STSong-Light" not in pdf
    shown = page_text(pdf)
    for expected in ("翠苑街道文化站2026-03工作动态", "报送单位", text, "用地未批", "达标", "已报送"):
        assert expected in shown, expected
    # Every Chinese character shown has a real outline in the embedded font, not an empty box.
    for font in fonts:
        for code, char in font.to_unicode.items():
            if "\u4e00" <= char <= "\u9fff":
                assert _glyph_has_outline(font.program, code), char


def test_each_export_embeds_the_characters_of_its_own_report() -> None:
    first = page_text(report_pdf(*_report("第一份报告只有这些字。")))
    second_pdf = report_pdf(*_report(MANY, unit_name="龘靐齉爩站"))
    second = page_text(second_pdf)
    assert "第一份报告只有这些字。" in first
    assert MANY in second.replace("\n", "") and "龘靐齉爩站" in second
    fonts = [font for font in embedded_fonts(second_pdf) if font.base_font.endswith("+NotoSansSC-Regular")]
    assert len(fonts) >= 2  # 300+ characters need more than one 256-code subset
    outlined = [
        char
        for font in fonts
        for code, char in font.to_unicode.items()
        if char in MANY + "龘靐齉爩站" and _glyph_has_outline(font.program, code)
    ]
    assert set(outlined) == set(MANY + "龘靐齉爩站")


def test_chart_labels_in_chinese_find_their_glyphs() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = _chart(["已完成", "进行中", "已逾期"], [1, 1, 1], ylabel="任务数").getvalue()
    assert png.startswith(b"\x89PNG")
    assert not [str(warning.message) for warning in caught if "missing from font" in str(warning.message)]


def test_a_text_longer_than_a_page_flows_over_pages() -> None:
    text = "本单位全年开展送戏下乡、送书下乡、送电影下乡活动，群众满意度持续提升。" * 150  # ~5,000 characters
    pdf = report_pdf(*_report(text))
    assert pdf.count(b"/Type /Page\n") >= 3
    # Each page ends in a newline here and the table's header row (项目 内容) repeats atop the next.
    assert text in page_text(pdf).replace("\n项目内容", "")


def test_exports_from_several_threads_each_keep_their_own_characters() -> None:
    texts = ["甲组：图书馆延时开放。", "乙组：乡镇影院放映。", "丙组：非遗传承展演。", "丁组：村晚排练。"]
    with ThreadPoolExecutor(max_workers=4) as pool:
        pdfs = list(pool.map(lambda text: report_pdf(*_report(text)), texts))
    for text, pdf in zip(texts, pdfs, strict=True):
        assert text in page_text(pdf)
