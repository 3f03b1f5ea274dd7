"""Printable sheets as PDF (reportlab). The text is set in WenQuanYi Micro Hei,
embedded (a subset), when the machine has it (Debian's fonts-wqy-microhei, which
CI installs): every character printed, "·" included, then has its glyph in the
file and prints the same on any reader. Without it, reportlab's built-in CJK
font (STSong-Light, not embedded) is used, with the few characters it lacks
replaced by ones it has. A ``Sheet`` is what a document says — title, number, facts, text,
tables, signature lines, the content hash — built by the view that owns the
document; the print view and ``render_pdf`` both show that same content."""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from flask_babel import gettext as _


@dataclass
class Table:
    caption: str
    head: list[str]
    rows: list[list[str]]
    weights: list[float] = field(default_factory=list)  # relative column widths (PDF)


@dataclass
class Sheet:
    title: str
    number: str
    issued_on: str
    standard: str
    sha256: str
    facts: list[tuple[str, str]]
    paragraphs: list[str]
    tables: list[Table]
    signatures: list[str]


FALLBACK_FONT = "STSong-Light"
EMBEDDED_FONT = "WenQuanYiMicroHei"
# Where Debian and other distributions put the font; DAIBAN_PDF_FONT names another
# TrueType (.ttf/.ttc) file with CJK glyphs.
FONT_FILES = ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
              "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",
              "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
# What STSong-Light has no glyph for (reportlab maps it, the reader shows a box).
FALLBACK_GLYPHS = str.maketrans({"·": "｜"})


def pdf_font() -> str:
    """The registered font's name: the embedded TrueType one when found."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfbase.ttfonts import TTFont

    registered = pdfmetrics.getRegisteredFontNames()
    if EMBEDDED_FONT in registered:
        return EMBEDDED_FONT
    if FALLBACK_FONT in registered:
        return FALLBACK_FONT
    for path in (os.environ.get("DAIBAN_PDF_FONT"), *FONT_FILES):
        if path and os.path.isfile(path):
            try:
                pdfmetrics.registerFont(TTFont(EMBEDDED_FONT, path, subfontIndex=0))
            except Exception:  # noqa: BLE001 - an unreadable font file: try the next one
                continue
            return EMBEDDED_FONT
    pdfmetrics.registerFont(UnicodeCIDFont(FALLBACK_FONT))
    return FALLBACK_FONT


def render_pdf(content: Sheet) -> bytes:
    """An A4 PDF of the sheet: title, number, facts, text, tables, signature
    lines and the content hash."""
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER, TA_RIGHT
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer
    from reportlab.platypus import Table as PdfTable

    font = pdf_font()
    base = ParagraphStyle("body", fontName=font, fontSize=10.5, leading=16, wordWrap="CJK")
    title = ParagraphStyle("title", parent=base, fontSize=18, leading=26, alignment=TA_CENTER)
    right = ParagraphStyle("right", parent=base, alignment=TA_RIGHT)
    cell = ParagraphStyle("cell", parent=base, fontSize=9.5, leading=13)
    small = ParagraphStyle("small", parent=base, fontSize=7, leading=9)

    def p(text: str, style=base) -> Paragraph:
        text = str(text)
        if font == FALLBACK_FONT:
            text = text.translate(FALLBACK_GLYPHS)
        return Paragraph(escape(text), style)

    grid = [("FONT", (0, 0), (-1, -1), font), ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("GRID", (0, 0), (-1, -1), 0.5, colors.grey)]
    width = A4[0] - 36 * mm
    story = [p(content.title, title), p(content.number, right), Spacer(1, 4 * mm),
             PdfTable([[p(k, cell), p(v, cell)] for k, v in content.facts],
                      colWidths=[32 * mm, width - 32 * mm], style=grid), Spacer(1, 4 * mm)]
    story += [p(text) for text in content.paragraphs]
    for table in content.tables:
        story += [Spacer(1, 3 * mm), p(table.caption)]
        total = sum(table.weights) or 1
        story.append(PdfTable([[p(h, cell) for h in table.head]]
                              + [[p(c, cell) for c in row] for row in table.rows],
                              colWidths=[width * w / total for w in table.weights] or None,
                              repeatRows=1, style=grid + [("BACKGROUND", (0, 0), (-1, 0),
                                                           colors.whitesmoke)]))
    story += [Spacer(1, 12 * mm),
              PdfTable([[p(f"{s}：__________________") for s in content.signatures],
                        [p(_("日期：______年____月____日")), p(_("日期：%(day)s", day=content.issued_on))]],
                       colWidths=[width / 2, width / 2]),
              Spacer(1, 8 * mm),
              p(_("依据 %(standard)s 出具 · 内容校验码（SHA-256）：%(hash)s",
                  standard=content.standard, hash=content.sha256), small)]
    buffer = io.BytesIO()
    SimpleDocTemplate(buffer, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm,
                      topMargin=18 * mm, bottomMargin=18 * mm, title=content.title,
                      author=content.number).build(story)
    return buffer.getvalue()
