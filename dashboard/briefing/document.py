"""The layout of the briefing pack (ReportLab platypus): cover, regional situation, scorecard,
one page per administration; the footer of every page gives the period, the data's last load
time and the sharing level."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import cm, mm
from reportlab.platypus import (
    BaseDocTemplate,
    Frame,
    Image,
    NextPageTemplate,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
)

from dashboard.briefing import sections
from dashboard.briefing.data import BriefingData
from dashboard.briefing.figures import country_levels
from dashboard.briefing.styles import FONT, ITALIC, MARGIN, MUTED, styles

Step = Callable[[str], None]


def when(moment: datetime | None) -> str:
    """A time as printed in the pack (UTC; naive times are taken as UTC)."""
    if moment is None:
        return "never"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def footer_text(data: BriefingData) -> str:
    """The footer line: period, last load, sharing level."""
    f = data.period
    return (f"Period {f.date_from} to {f.date_to}  ·  data last loaded {when(data.last_load)}  ·  "
            f"sharing level: {data.request.scope.sharing}")


def footer_size(text: str, room: float, width_of: Callable[[str, str, float], float]) -> float:
    """The footer's font size: 7 pt, smaller (down to 5 pt) when a long sharing level would
    otherwise run into the page number."""
    size = 7.0
    while size > 5.0 and width_of(text, FONT, size) > room:
        size -= 0.25
    return size


class _Doc(BaseDocTemplate):
    """Portrait pages, and landscape ones for the scorecard; footer on every page."""

    def __init__(self, out: io.BytesIO, data: BriefingData) -> None:
        super().__init__(out, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN,
                         topMargin=MARGIN, bottomMargin=MARGIN + 6 * mm,
                         title="Forum briefing pack", author="borderwatch",
                         subject=footer_text(data))
        self.data = data
        self.pages = 0
        portrait = Frame(MARGIN, MARGIN + 6 * mm, A4[0] - 2 * MARGIN, A4[1] - 2 * MARGIN - 6 * mm,
                         id="p", leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
        wide = landscape(A4)
        land = Frame(MARGIN, MARGIN + 6 * mm, wide[0] - 2 * MARGIN, wide[1] - 2 * MARGIN - 6 * mm,
                     id="l", leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
        self.addPageTemplates([
            PageTemplate(id="portrait", frames=[portrait], onPage=self._decorate, pagesize=A4),
            PageTemplate(id="landscape", frames=[land], onPage=self._decorate, pagesize=wide),
        ])

    def _decorate(self, canvas: Any, doc: Any) -> None:
        self.pages += 1
        width, _ = canvas._pagesize
        canvas.saveState()
        canvas.setStrokeColor(colors.HexColor("#D5DAE0"))
        canvas.line(MARGIN, MARGIN + 3 * mm, width - MARGIN, MARGIN + 3 * mm)
        canvas.setFillColor(MUTED)
        number = f"page {doc.page}"
        text = footer_text(self.data)
        room = width - 2 * MARGIN - canvas.stringWidth(number, FONT, 7) - 4 * mm
        canvas.setFont(FONT, footer_size(text, room, canvas.stringWidth))
        canvas.drawString(MARGIN, MARGIN, text)
        canvas.setFont(FONT, 7)
        canvas.drawRightString(width - MARGIN, MARGIN, number)
        if self.data.illustrative:
            canvas.setFont(ITALIC, 7)
            canvas.drawString(MARGIN, MARGIN - 3.2 * mm,
                              "Illustrative demo data: no figure describes a real event or "
                              "assessment.")
        canvas.restoreState()


def render(data: BriefingData, map_png: bytes, step: Step | None = None) -> tuple[bytes, int]:
    """Lay the pack out; return the PDF bytes and its number of pages."""
    say = step or (lambda _label: None)
    st = styles()
    story: list[Any] = []
    story += _cover(data, st)
    story.append(PageBreak())
    story += sections.regional(data, st, Image(io.BytesIO(map_png), width=18 * cm,
                                               height=_height(map_png, 18 * cm)))
    story += [NextPageTemplate("landscape"), PageBreak()]
    story += sections.scorecard(data, st)
    story += [NextPageTemplate("portrait")]
    for admin in data.admins:
        say(admin.name)
        cells = data.cells_of(admin.iso2)
        chart = None
        if cells:
            png = country_levels(cells, data.fw, width_cm=16)
            chart = Image(io.BytesIO(png), width=16 * cm, height=_height(png, 16 * cm))
        story += [PageBreak()]
        story += sections.country(data, st, admin, chart)
    out = io.BytesIO()
    doc = _Doc(out, data)
    say("writing the PDF")
    doc.build(story)
    return out.getvalue(), doc.pages


def _height(png: bytes, width: float) -> float:
    from PIL import Image as PILImage

    with PILImage.open(io.BytesIO(png)) as img:
        w, h = img.size
    return width * h / w


def _cover(data: BriefingData, st: dict[str, Any]) -> list[Any]:
    f = data.period
    rows = [
        ["Period", f"{f.date_from} to {f.date_to}"],
        ["Assessment round", data.round or "none loaded"],
        ["Generated", when(data.generated_at)],
        ["Data last loaded", when(data.last_load)],
        ["Made for", data.request.scope.name],
        ["Sharing level", data.request.scope.sharing + ": the incident figures include every "
         "incident the reader may see; handle the pack at this level"],
    ]
    table = Table([[Paragraph(f"<b>{escape(k)}</b>", st["body"]), Paragraph(escape(v), st["body"])]
                   for k, v in rows], colWidths=[4.2 * cm, 12 * cm], hAlign="LEFT")
    out: list[Any] = [
        Spacer(1, 3 * cm),
        Paragraph("Regional forum of heads of border services", st["title"]),
        Paragraph("Briefing pack: Western Balkans and Türkiye", st["subtitle"]),
    ]
    if data.illustrative:
        out.append(Paragraph("ILLUSTRATIVE DEMO DATA: this pack was generated from borderwatch's "
                             "synthetic demo data set. No figure in it describes a real event, "
                             "count or assessment.", st["notice"]))
    out += [table, Spacer(1, 1 * cm), Paragraph("Contents", st["h2"])]
    contents = ["Regional situation for the period: map of hotspots and border sections by "
                "impact level; incidents by administration", "IBM scorecard and regional view"]
    contents += [f"{a.name}: key figures for the period" for a in data.admins]
    out += [Paragraph(f"{k}. {escape(text)}", st["body"]) for k, text in enumerate(contents, 1)]
    notes = [f"{a.name}: {a.footnote}" for a in data.admins if a.footnote]
    out += [Spacer(1, 1 * cm)] + [Paragraph(escape(n), st["small"]) for n in notes]
    out.append(Paragraph("Every figure is read from the borderwatch warehouse when the pack is "
                         "generated, through the same queries as the dashboard's pages.",
                         st["small"]))
    return out
