"""The Chinese font of report exports: Noto Sans SC (SIL OFL 1.1, Simplified Chinese glyph forms) from the
pylopdf-fonts-zh-cn package. The file has CFF outlines, which reportlab cannot embed, so every PDF embeds a
TrueType font built for the characters that PDF uses: each glyph is converted from cubic CFF to quadratic glyf
outlines (fontTools cu2qu) the first time a process needs it and kept, so a report costs only its new glyphs.
Charts (matplotlib renders CFF itself) use the original file."""

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import pylopdf_fonts_zh_cn
from fontTools.fontBuilder import FontBuilder
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTFont
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont as ReportlabTTFont

PDF_FONT = "NotoSansSC"
CHART_FAMILY = "Noto Sans SC"
ALWAYS = "".join(chr(code) for code in range(0x20, 0x7F)) + "—–…·“”‘’、。，：；？！（）《》【】％"
_lock = threading.Lock()
_glyphs: dict[str, Any] = {}
pdfmetrics.registerFontFamily(PDF_FONT, normal=PDF_FONT)  # a Paragraph maps its font to a family when it is made


def font_path() -> Path:
    """The installed Noto Sans SC Regular (OpenType with CFF outlines)."""
    return pylopdf_fonts_zh_cn.sans_path()


@cache
def _source() -> tuple[TTFont, dict[int, str]]:
    font = TTFont(font_path(), lazy=True)
    return font, font.getBestCmap()


def _glyph(font: TTFont, name: str) -> Any:
    glyph = _glyphs.get(name)
    if glyph is None:
        pen = TTGlyphPen(None)
        font.getGlyphSet()[name].draw(Cu2QuPen(pen, max_err=1.0, reverse_direction=True))
        glyph = _glyphs[name] = pen.glyph()
    return glyph


def truetype_subset(text: str) -> bytes:
    """A TrueType (glyf) font with the glyphs of `text` (and ASCII and common punctuation), for embedding."""
    font, cmap = _source()
    codes = sorted({ord(char) for char in text + ALWAYS} & cmap.keys())
    names = [".notdef", *sorted({cmap[code] for code in codes} - {".notdef"})]
    metrics, hhea, os2 = font["hmtx"].metrics, font["hhea"], font["OS/2"]
    builder = FontBuilder(font["head"].unitsPerEm, isTTF=True)
    builder.setupGlyphOrder(names)
    builder.setupCharacterMap({code: cmap[code] for code in codes})
    builder.setupGlyf({name: _glyph(font, name) for name in names})
    builder.setupHorizontalMetrics({name: metrics[name] for name in names})
    builder.setupHorizontalHeader(ascent=hhea.ascent, descent=hhea.descent)
    builder.setupNameTable({"familyName": CHART_FAMILY, "styleName": "Regular", "psName": "NotoSansSC-Regular"})
    builder.setupOS2(
        sTypoAscender=os2.sTypoAscender,
        sTypoDescender=os2.sTypoDescender,
        sTypoLineGap=os2.sTypoLineGap,
        usWinAscent=os2.usWinAscent,
        usWinDescent=os2.usWinDescent,
        fsType=os2.fsType,
    )
    builder.setupPost()
    buffer = io.BytesIO()
    builder.save(buffer)
    return buffer.getvalue()


@contextmanager
def pdf_font(text: str) -> Iterator[str]:
    """Register, for the PDF built inside the block, a font with the glyphs of `text`; yields its reportlab name.

    One name serves every export, so the blocks are serialised; reportlab's registerFont keeps the first font of a
    name, hence the later ones replace the registry entry directly."""
    with _lock:
        font = ReportlabTTFont(PDF_FONT, io.BytesIO(truetype_subset(text)))
        if PDF_FONT in pdfmetrics.getRegisteredFontNames():
            pdfmetrics._fonts[PDF_FONT] = font
        else:
            pdfmetrics.registerFont(font)
        yield PDF_FONT


@cache
def chart_family() -> str:
    """The matplotlib font family for Chinese chart labels, added to matplotlib's font list once."""
    from matplotlib import font_manager

    font_manager.fontManager.addfont(str(font_path()))
    return CHART_FAMILY
