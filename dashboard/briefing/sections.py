"""The sections of the briefing pack as ReportLab flowables: the regional situation, the
scorecard with the regional view, and one administration's page."""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.units import cm
from reportlab.platypus import KeepTogether, Paragraph, Spacer, Table

from dashboard.briefing.data import BriefingData
from dashboard.briefing.hotspots import caption as hotspot_caption
from dashboard.briefing.styles import BOLD, table_style
from dashboard.components.benchmark_panels import FLOW_LABELS, arrow
from dashboard.components.palette import CATEGORY_LABELS, IMPACT_LABELS, LEVEL_TEXT, level_color
from dashboard.queries.benchmarks import OVERDUE, Administration, widest_gaps
from etl.warehouse.schema import INCIDENT_CATEGORIES

#: Elevated border sections listed at most in the regional section.
MAX_SECTIONS = 24
#: Overdue recommendations listed at most on a country page.
MAX_OVERDUE = 8


def _p(text: str, style: Any) -> Paragraph:
    return Paragraph(escape(text), style)


def _n(value: int) -> str:
    return f"{value:,}"


def _mean(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


# -- the regional situation ---------------------------------------------------------------------


def regional(data: BriefingData, st: dict[str, Any], map_image: Any) -> list[Any]:
    """The map, the incidents per administration and the sections at high impact."""
    f = data.period
    out: list[Any] = [
        Paragraph(f"Regional situation, {f.date_from} to {f.date_to}", st["h1"]),
        map_image,
        _p(hotspot_caption(data.hotspots, f, data.generated_at) + " Border sections in their "
           "current impact level, as on the situation map.", st["small"]),
        Spacer(1, 0.3 * cm),
        Paragraph("Incidents by administration and category", st["h2"]),
    ]
    head = ["Administration", *[CATEGORY_LABELS[c] for c in INCIDENT_CATEGORIES], "Total"]
    rows: list[list[Any]] = [[_p(h, st["head"]) for h in head]]
    totals = dict.fromkeys(INCIDENT_CATEGORIES, 0)
    for admin in data.admins:
        counts = data.incidents.get(admin.iso2, {})
        rows.append([admin.name, *[_n(counts.get(c, 0)) for c in INCIDENT_CATEGORIES],
                     _n(sum(counts.values()))])
        for c in INCIDENT_CATEGORIES:
            totals[c] += counts.get(c, 0)
    others = {c: sum(v.get(c, 0) for k, v in data.incidents.items()
                     if k not in {a.iso2 for a in data.admins}) for c in INCIDENT_CATEGORIES}
    if any(others.values()):
        rows.append(["Neighbouring countries", *[_n(others[c]) for c in INCIDENT_CATEGORIES],
                     _n(sum(others.values()))])
        for c in INCIDENT_CATEGORIES:
            totals[c] += others[c]
    rows.append(["All", *[_n(totals[c]) for c in INCIDENT_CATEGORIES], _n(sum(totals.values()))])
    table = Table(rows, colWidths=[4.6 * cm] + [2.5 * cm] * 5, repeatRows=1, hAlign="LEFT")
    table.setStyle(table_style())
    table.setStyle([("ALIGN", (1, 1), (-1, -1), "RIGHT"), ("FONTNAME", (0, -1), (-1, -1), BOLD)])
    out.append(table)
    out += _elevated(data, st)
    return out


def _elevated(data: BriefingData, st: dict[str, Any]) -> list[Any]:
    items = data.elevated_sections()
    out: list[Any] = [Paragraph("Border sections at high or critical impact", st["h2"])]
    if not items:
        return out + [_p("No border section of the eight administrations is at high or "
                         "critical impact.", st["body"])]
    rows: list[list[Any]] = [[_p(h, st["head"]) for h in ("Section", "Level", "Since",
                                                           "Reason")]]
    for s in items[:MAX_SECTIONS]:
        since = s["impact_updated_at"].date().isoformat() if s.get("impact_updated_at") else "—"
        rows.append([s["section_id"], IMPACT_LABELS.get(s["impact_level"], s["impact_level"]),
                     since, _p(s.get("impact_reason") or "—", st["cell"])])
    table = Table(rows, colWidths=[2.4 * cm, 1.8 * cm, 2.2 * cm, 11.6 * cm], repeatRows=1,
                  hAlign="LEFT")
    table.setStyle(table_style())
    out.append(table)
    if len(items) > MAX_SECTIONS:
        out.append(_p(f"… and {len(items) - MAX_SECTIONS} more (see the situation map).",
                      st["small"]))
    return out


# -- the scorecard ------------------------------------------------------------------------------


def scorecard(data: BriefingData, st: dict[str, Any]) -> list[Any]:
    """Administrations x components (level and arrow on the level's colour), the overall mean
    and the overdue recommendations; then the regional view."""
    fw = data.fw
    title = f"IBM scorecard, round {data.round}" if data.round else "IBM scorecard"
    out: list[Any] = [Paragraph(title, st["h1"])]
    if not data.cells:
        return out + [_p("No benchmark assessment is loaded.", st["body"])]
    areas = fw.areas()
    comps = [c for _, cs in areas for c in cs]
    head1: list[Any] = ["", ""]
    spans = []
    col = 2
    for area, cs in areas:
        head1 += [_p(area, st["head"])] + [""] * (len(cs) - 1)
        spans.append(("SPAN", (col, 0), (col + len(cs) - 1, 0)))
        col += len(cs)
    head1 += ["", ""]
    head2 = [_p("Administration", st["head"]), _p("Mean", st["head"])]
    head2 += [_p(c.name, st["head"]) for c in comps] + [_p("Overdue", st["head"])]
    head1 = head1[: len(head2)]
    rows: list[list[Any]] = [head1, head2]
    paint: list[tuple[Any, ...]] = []
    by_key = {(c.country, c.component_id): c for c in data.cells}
    overdue = {a.iso2: 0 for a in data.admins}
    for r, admin in enumerate(data.admins, start=2):
        o = data.overall.get(admin.iso2)
        mean_txt = _mean(o.mean if o else None)
        if o and o.mean is not None and o.previous_mean is not None:
            mean_txt += f" {arrow(_sign(o.mean - o.previous_mean))[0]}"
        row: list[Any] = [admin.name, mean_txt]
        if o and o.mean is not None:
            step = fw.nearest_level(o.mean)
            paint += [("BACKGROUND", (1, r), (1, r), colors.HexColor(level_color(step))),
                      ("TEXTCOLOR", (1, r), (1, r), colors.HexColor(LEVEL_TEXT[step]))]
        for k, comp in enumerate(comps, start=2):
            cell = by_key.get((admin.iso2, comp.component_id))
            if cell is None:
                row.append("—")
                continue
            row.append(f"{cell.level} {arrow(cell.change)[0]}")
            paint += [("BACKGROUND", (k, r), (k, r), colors.HexColor(level_color(cell.level))),
                      ("TEXTCOLOR", (k, r), (k, r), colors.HexColor(LEVEL_TEXT[cell.level]))]
            if cell.recommendation_status(data.today) == OVERDUE:
                overdue[admin.iso2] += 1
        row.append(_n(overdue[admin.iso2]))
        rows.append(row)
    widths = [3.9 * cm, 1.3 * cm] + [1.32 * cm] * len(comps) + [1.4 * cm]
    table = Table(rows, colWidths=widths, repeatRows=2, hAlign="LEFT")
    table.setStyle(table_style(header_rows=2, zebra=False))
    table.setStyle([*spans, ("ALIGN", (1, 2), (-1, -1), "CENTER"),
                    ("GRID", (1, 2), (-1, -1), 0.6, colors.white), *paint])
    out.append(table)
    scale = ", ".join(f"{lv.level} {lv.label}" for lv in fw.levels)
    out.append(_p(f"Levels: {scale}. ▲ up, ▼ down, = unchanged against the previous round, "
                  "• first assessment. Mean: over the components assessed in the round. Overdue: "
                  "recommendations past their deadline whose component no later round raised.",
                  st["small"]))
    out += _regional_view(data, st)
    return out


def _sign(x: float) -> int:
    return 1 if x > 0 else -1 if x < 0 else 0


def _regional_view(data: BriefingData, st: dict[str, Any]) -> list[Any]:
    names = {c.component_id: c.name for c in data.fw.components}
    who = {a.iso2: a.name for a in data.admins}
    rows: list[list[Any]] = [[_p(h, st["head"]) for h in ("Component", "Regional mean", "Lowest",
                                                           "Highest", "Gap")]]
    for s in widest_gaps(data.spreads, n=6):
        rows.append([names.get(s.component_id, s.component_id), _mean(s.mean),
                     _p(f"{s.low}: " + ", ".join(who.get(c, c) for c in s.lowest), st["cell"]),
                     _p(f"{s.high}: " + ", ".join(who.get(c, c) for c in s.highest), st["cell"]),
                     str(s.gap)])
    table = Table(rows, colWidths=[5 * cm, 2.4 * cm, 8 * cm, 8 * cm, 1.4 * cm], repeatRows=1,
                  hAlign="LEFT")
    table.setStyle(table_style())
    return [KeepTogether([Paragraph("Regional view: widest gaps between administrations",
                                    st["h2"]), table])]


# -- one administration -----------------------------------------------------------------------


def country(data: BriefingData, st: dict[str, Any], admin: Administration,
            chart: Any = None) -> list[Any]:
    """One administration's key figures for the period, benchmark levels and changes (with the
    ``chart`` of its levels, if given) and trainings."""
    f = data.period
    out: list[Any] = [Paragraph(escape(admin.name), st["h1"])]
    if admin.footnote:
        out.append(_p(admin.footnote, st["small"]))
    out.append(_p(f"Key figures for {f.date_from} to {f.date_to}", st["subtitle"]))
    out += _incidents_and_flows(data, st, admin.iso2)
    out += _benchmark_changes(data, st, admin.iso2, chart)
    out += _programme(data, st, admin.iso2)
    return out


def _incidents_and_flows(data: BriefingData, st: dict[str, Any], iso2: str) -> list[Any]:
    counts = data.incidents.get(iso2, {})
    inc: list[list[Any]] = [[_p("Incidents by category", st["head"]), _p("Incidents", st["head"])]]
    inc += [[CATEGORY_LABELS[c], _n(counts.get(c, 0))] for c in INCIDENT_CATEGORIES]
    inc.append(["All incidents", _n(sum(counts.values()))])
    t1 = Table(inc, colWidths=[5.2 * cm, 2.2 * cm], hAlign="LEFT")
    t1.setStyle(table_style())
    t1.setStyle([("ALIGN", (1, 1), (1, -1), "RIGHT"), ("FONTNAME", (0, -1), (-1, -1), BOLD)])
    flows = data.flows.get(iso2, [])
    fl: list[list[Any]] = [[_p(h, st["head"]) for h in ("Crossings", "Entries + exits",
                                                         "Avg wait (min)", "Max wait (min)")]]
    fl += [[FLOW_LABELS.get(x.category, x.category), _n(x.crossings),
            "—" if x.wait_avg is None else f"{x.wait_avg:.1f}",
            "—" if x.wait_max is None else f"{x.wait_max:.0f}"] for x in flows]
    if not flows:
        fl.append(["No flows reported", "", "", ""])
    t2 = Table(fl, colWidths=[2.4 * cm, 2.4 * cm, 2.2 * cm, 2.2 * cm], hAlign="LEFT")
    t2.setStyle(table_style())
    t2.setStyle([("ALIGN", (1, 1), (-1, -1), "RIGHT")])
    both = Table([[t1, t2]], colWidths=[8.2 * cm, 9.8 * cm], hAlign="LEFT")
    both.setStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)])
    note = _p("Crossings at the administration's BCPs (a crossing point shared by two "
              "administrations counts for both). Average wait: daily average waits weighted by "
              "the traffic of the days that reported one.", st["small"])
    return [both, Spacer(1, 0.15 * cm), note]


def _benchmark_changes(data: BriefingData, st: dict[str, Any], iso2: str,
                       chart: Any = None) -> list[Any]:
    fw = data.fw
    cells = data.cells_of(iso2)
    o = data.overall.get(iso2)
    out: list[Any] = [Paragraph(f"Benchmarks, round {data.round}" if data.round else "Benchmarks",
                                st["h2"])]
    if not cells or o is None or o.mean is None:
        return out + [_p("Not assessed in this round.", st["body"])]
    line = (f"Overall: mean level {o.mean:.2f} ({fw.label(fw.nearest_level(o.mean))}) over "
            f"{o.assessed} of {o.total} components")
    if o.previous_mean is not None:
        line += f"; previous round {o.previous_mean:.2f}"
    out.append(_p(line + ".", st["body"]))
    if chart is not None:
        out += [chart, _p("Filled dot: the level in this round; hollow dot and arrow: the "
                          "previous round's level.", st["small"])]
    names = {c.component_id: c.name for c in fw.components}
    order = {c.component_id: c.ordering for c in fw.components}
    changed = sorted((c for c in cells if c.change), key=lambda c: order.get(c.component_id, 0))
    prev = next((c.previous_round for c in cells if c.previous_round), None)
    if changed:
        moves = "; ".join(f"{names.get(c.component_id, c.component_id)} {c.previous} → {c.level} "
                          f"({fw.label(c.level)})" for c in changed)
        out.append(_p(f"Changed since round {prev}: {moves}.", st["body"]))
    else:
        out.append(_p(f"No level changed since round {prev}." if prev else
                      "First assessment: no previous round to compare with.", st["body"]))
    late = sorted((c for c in cells if c.recommendation_status(data.today) == OVERDUE),
                  key=lambda c: (c.deadline or data.today, order.get(c.component_id, 0)))
    if late:
        out.append(_p(f"Overdue recommendations: {len(late)}", st["h2"]))
        rows = [[_p(h, st["head"]) for h in ("Component", "Recommendation", "Deadline")]]
        rows += [[_p(names.get(c.component_id, c.component_id), st["cell"]),
                  _p(c.recommendation or "", st["cell"]),
                  c.deadline.isoformat() if c.deadline else "—"] for c in late[:MAX_OVERDUE]]
        t = Table(rows, colWidths=[4.4 * cm, 11.2 * cm, 2.4 * cm], hAlign="LEFT", repeatRows=1)
        t.setStyle(table_style())
        out.append(t)
        if len(late) > MAX_OVERDUE:
            out.append(_p(f"… and {len(late) - MAX_OVERDUE} more.", st["small"]))
    return out


def _programme(data: BriefingData, st: dict[str, Any], iso2: str) -> list[Any]:
    t = data.trainings.get(iso2)
    out: list[Any] = [Paragraph("Strategy and trainings", st["h2"])]
    docs = data.strategies.get(iso2, [])
    if docs:
        for s in docs:
            extra = f", {s.implemented_pct:g}% of measures implemented" \
                if s.implemented_pct is not None else ""
            out.append(_p(f"In force: {s.title or s.document} (adopted {s.adopted_on}, valid "
                          f"until {s.valid_until or 'open-ended'}, {s.status.replace('_', ' ')}"
                          f"{extra}).", st["body"]))
    else:
        out.append(_p("No strategy or action plan in force at the end of the period.",
                      st["body"]))
    if t is None or not t.trainings:
        return out + [_p("No training in the period.", st["body"])]
    out.append(_p(f"Trainings in the period: {_n(t.trainings)}, participants: "
                  f"{_n(t.participants)}.", st["body"]))
    topics = sorted(t.by_topic.items(), key=lambda kv: (-kv[1][0], kv[0]))
    out.append(_p("By topic: " + "; ".join(f"{topic.replace('_', ' ')} {_n(n)} ({_n(p)} "
                                           "participants)" for topic, (n, p) in topics) + ".",
                  st["body"]))
    return out
