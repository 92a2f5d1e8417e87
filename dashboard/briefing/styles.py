"""Fonts, paragraph styles and table styles of the briefing pack (ReportLab).

Fonts are the DejaVu TrueType files matplotlib ships (no system font needed), embedded in the
PDF so every name (Türkiye, Preševo, Kapıkule) prints and extracts as written.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import matplotlib
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import TableStyle

FONT = "BwSans"
BOLD = "BwSans-Bold"
ITALIC = "BwSans-Oblique"
INK = colors.HexColor("#1D2733")
MUTED = colors.HexColor("#5B6673")
LINE = colors.HexColor("#D5DAE0")
HEAD_BG = colors.HexColor("#14263A")
ZEBRA = colors.HexColor("#F4F6F9")
ALERT = colors.HexColor("#B71C1C")
MARGIN = 16 * mm


@cache
def register_fonts() -> None:
    """Register DejaVu Sans (regular, bold, oblique) from matplotlib's data folder, once."""
    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    for name, file in ((FONT, "DejaVuSans.ttf"), (BOLD, "DejaVuSans-Bold.ttf"),
                       (ITALIC, "DejaVuSans-Oblique.ttf")):
        pdfmetrics.registerFont(TTFont(name, str(folder / file)))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=BOLD, italic=ITALIC, boldItalic=BOLD)


def styles() -> dict[str, ParagraphStyle]:
    """The paragraph styles by name."""
    register_fonts()
    base = ParagraphStyle("body", fontName=FONT, fontSize=9, leading=12, textColor=INK,
                          alignment=TA_LEFT)
    return {
        "body": base,
        "small": ParagraphStyle("small", parent=base, fontSize=7.5, leading=9.5, textColor=MUTED),
        "cell": ParagraphStyle("cell", parent=base, fontSize=7.5, leading=9),
        "head": ParagraphStyle("head", parent=base, fontName=BOLD, fontSize=7.5, leading=9,
                               textColor=colors.white),
        "title": ParagraphStyle("title", parent=base, fontName=BOLD, fontSize=24, leading=29,
                                spaceAfter=8),
        "subtitle": ParagraphStyle("subtitle", parent=base, fontSize=13, leading=17,
                                   textColor=MUTED, spaceAfter=14),
        "h1": ParagraphStyle("h1", parent=base, fontName=BOLD, fontSize=16, leading=20,
                             spaceAfter=6),
        "h2": ParagraphStyle("h2", parent=base, fontName=BOLD, fontSize=11.5, leading=15,
                             spaceBefore=8, spaceAfter=4),
        "notice": ParagraphStyle("notice", parent=base, fontName=BOLD, fontSize=9.5, leading=13,
                                 textColor=ALERT, borderColor=ALERT, borderWidth=0.8,
                                 borderPadding=5, spaceBefore=6, spaceAfter=10),
    }


def table_style(header_rows: int = 1, zebra: bool = True) -> TableStyle:
    """Grid, header band and zebra rows of the briefing's tables."""
    commands: list[tuple] = [  # type: ignore[type-arg]
        ("FONTNAME", (0, 0), (-1, -1), FONT),
        ("FONTSIZE", (0, 0), (-1, -1), 7.8),
        ("LEADING", (0, 0), (-1, -1), 9.5),
        ("TEXTCOLOR", (0, 0), (-1, -1), INK),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.3, LINE),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("BACKGROUND", (0, 0), (-1, header_rows - 1), HEAD_BG),
        ("TEXTCOLOR", (0, 0), (-1, header_rows - 1), colors.white),
        ("FONTNAME", (0, 0), (-1, header_rows - 1), BOLD),
    ]
    if zebra:
        commands.append(("ROWBACKGROUNDS", (0, header_rows), (-1, -1), [colors.white, ZEBRA]))
    return TableStyle(commands)
