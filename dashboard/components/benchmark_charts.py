"""Pure Plotly figure builders of the benchmarks page (the 'benchmarks' family of charts).

Kept apart from the crossing page's builders (``charts.py``) so neither file outgrows a
sitting. Every builder takes plain rows from ``dashboard.queries`` and returns a figure; no
database, no request. Levels always come with their word, never colour alone.

Figures are plain Plotly JSON (``{"data": [...], "layout": {...}}``, what ``dcc.Graph``
takes), not ``plotly.graph_objects``: validating a graph object costs tens of milliseconds
per trace, most of a callback's time budget, for figures whose shape is fixed here.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from dashboard.components.palette import CONTEXT_COLOR, LEVEL_COLORS, NOT_ASSESSED_COLOR, level_color
from dashboard.queries.benchmarks import Administration, Cell, Framework, Overall, Spread
from dashboard.queries.programme import Strategy, YearCount

#: Status map: centre latitude for the aspect ratio, and the view (lon, lat ranges).
MAP_LAT = 42.0
MAP_X = (12.8, 45.2)
MAP_Y = (34.8, 47.2)
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
#: Qualitative colours for topics and agencies (Okabe-Ito, then greys).
SERIES_COLORS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
                 "#000000", "#999999", "#6A3D9A", "#B15928", "#1B9E77")
AREA_COLORS = ("#4575B4", "#1B9E77", "#D95F02")
NOT_ASSESSED = "Not assessed"


Figure = dict[str, Any]


def _figure(data: list[dict[str, Any]], layout: dict[str, Any], *, height: int,
            title: str | None = None) -> Figure:
    base: dict[str, Any] = {
        "height": height, "margin": {"l": 8, "r": 8, "t": 36 if title else 8, "b": 8},
        "font": {"family": FONT, "size": 12}, "paper_bgcolor": "white", "plot_bgcolor": "white",
        "hoverlabel": {"align": "left"},
    }
    if title:
        base["title"] = {"text": title, "font": {"size": 14}, "x": 0.01}
    return {"data": data, "layout": {**base, **layout}}


def empty_figure(message: str, height: int = 300) -> Figure:
    """A blank figure that says why it is blank."""
    note = {"text": message, "showarrow": False, "x": 0.5, "y": 0.5, "xref": "paper",
            "yref": "paper", "font": {"size": 13, "color": "#555"}}
    return _figure([], {"annotations": [note], "xaxis": {"visible": False},
                        "yaxis": {"visible": False}}, height=height)


# -- the status map ------------------------------------------------------------------------------


def _rings(geometry: dict[str, Any]) -> tuple[list[float | None], list[float | None]]:
    """Outer rings of a (Multi)Polygon GeoJSON as one x/y list, parts separated by None."""
    polygons = geometry.get("coordinates") or []
    if geometry.get("type") == "Polygon":
        polygons = [polygons]
    xs: list[float | None] = []
    ys: list[float | None] = []
    for poly in polygons:
        if not poly:
            continue
        for x, y in poly[0]:
            xs.append(x)
            ys.append(y)
        xs.append(None)
        ys.append(None)
    return xs, ys


def status_class(mean: float | None, fw: Framework) -> int | None:
    """The scale step a mean level is shown as (None: not assessed)."""
    return None if mean is None else fw.nearest_level(mean)


def _status_text(o: Overall | None, fw: Framework) -> str:
    if o is None or o.mean is None:
        return NOT_ASSESSED
    text = f"mean level {o.mean:.2f} ({fw.label(fw.nearest_level(o.mean))}), "
    text += f"{o.assessed} of {o.total} components assessed"
    if o.previous_mean is not None:
        text += f"<br>previous round {o.previous_mean:.2f}"
    return text


def status_map(outlines: Sequence[tuple[str, str, bool, dict[str, Any]]],
               overall: dict[str, Overall], fw: Framework,
               admins: Sequence[Administration], round_label: str | None) -> Figure:
    """Choropleth of the administrations by overall status (the mean level of a round).

    Drawn as filled outlines on longitude/latitude axes (no online base map, no topojson):
    neighbours in light grey for context, each administration in the colour of the scale
    step nearest its mean level; the legend names the scale's words. Clicking a country
    gives its ISO code as ``customdata``.
    """
    data: list[dict[str, Any]] = []
    names = {a.iso2: a for a in admins}
    shown: set[int | None] = set()
    for iso2, name, _target, geometry in outlines:
        xs, ys = _rings(geometry)
        if iso2 not in names:
            data.append({"type": "scatter", "x": xs, "y": ys, "mode": "lines", "fill": "toself",
                         "fillcolor": CONTEXT_COLOR, "line": {"color": "#BDBDBD", "width": 0.6},
                         "hoverinfo": "skip", "showlegend": False, "name": name})
            continue
        o = overall.get(iso2)
        step = status_class(o.mean if o else None, fw)
        admin = names[iso2]
        note = f"<br><i>{admin.footnote}</i>" if admin.footnote else ""
        data.append({
            "type": "scatter", "x": xs, "y": ys, "mode": "lines", "fill": "toself",
            "fillcolor": level_color(step), "line": {"color": "#333333", "width": 1},
            "hoveron": "fills", "name": admin.name, "legendgroup": str(step),
            "showlegend": False, "text": f"<b>{admin.name}</b><br>{_status_text(o, fw)}{note}",
            "hoverinfo": "text", "customdata": [iso2] * len(xs),
        })
        shown.add(step)
    for lv in fw.levels:
        data.append(_legend_entry(f"{lv.level} {lv.label}", LEVEL_COLORS.get(lv.level, "#999"),
                                  str(lv.level)))
    if None in shown:
        data.append(_legend_entry(NOT_ASSESSED, NOT_ASSESSED_COLOR, "None"))
    ratio = 1.0 / math.cos(math.radians(MAP_LAT))
    layout = {
        "xaxis": {"range": list(MAP_X), "visible": False, "fixedrange": True,
                  "constrain": "domain"},
        "yaxis": {"range": list(MAP_Y), "visible": False, "fixedrange": True,
                  "scaleanchor": "x", "scaleratio": ratio, "constrain": "domain"},
        "legend": {"title": {"text": "Overall status<br>(nearest step of the mean)"},
                   "x": 0.01, "y": 0.01, "xanchor": "left", "yanchor": "bottom",
                   "bgcolor": "rgba(255,255,255,0.85)", "bordercolor": "#BDBDBD",
                   "borderwidth": 1, "font": {"size": 11}},
        "hovermode": "closest", "dragmode": False,
    }
    title = f"Overall status, round {round_label}" if round_label else "Overall status"
    return _figure(data, layout, height=430, title=title)


def _legend_entry(name: str, color: str, group: str) -> dict[str, Any]:
    return {"type": "scatter", "x": [None], "y": [None], "mode": "markers", "name": name,
            "legendgroup": group, "hoverinfo": "skip", "showlegend": True,
            "marker": {"symbol": "square", "size": 14, "color": color,
                       "line": {"color": "#333", "width": 1}}}


# -- the regional view ---------------------------------------------------------------------------


def regional_chart(items: Sequence[Spread], fw: Framework,
                   admins: Sequence[Administration]) -> Figure:
    """Regional mean level per component (framework order, coloured by result area), with the
    range from the lowest to the highest country as a whisker."""
    if not items:
        return empty_figure("No assessment in this round.")
    comps = {c.component_id: c for c in fw.components}
    areas = [a for a, _ in fw.areas()]
    names = {a.iso2: a.name for a in admins}
    data: list[dict[str, Any]] = []
    for k, area in enumerate(areas):
        mine = [s for s in items if comps[s.component_id].result_area == area]
        if not mine:
            continue
        data.append({
            "type": "bar", "orientation": "h", "name": area,
            "y": [comps[s.component_id].name for s in mine], "x": [s.mean for s in mine],
            "marker": {"color": AREA_COLORS[k % len(AREA_COLORS)]},
            "error_x": {"type": "data", "symmetric": False, "color": "#333", "thickness": 1.2,
                        "array": [round(s.high - s.mean, 3) for s in mine],
                        "arrayminus": [round(s.mean - s.low, 3) for s in mine]},
            "customdata": [[", ".join(names.get(c, c) for c in s.lowest),
                            ", ".join(names.get(c, c) for c in s.highest), s.low, s.high]
                           for s in mine],
            "hovertemplate": "<b>%{y}</b><br>regional mean %{x:.2f}<br>lowest %{customdata[2]}: "
                             "%{customdata[0]}<br>highest %{customdata[3]}: %{customdata[1]}"
                             "<extra></extra>",
        })
    layout = {
        "xaxis": {"range": [-0.05, fw.top + 0.1], "tickvals": [lv.level for lv in fw.levels],
                  "gridcolor": "#E0E0E0",
                  "title": {"text": "regional mean level (scale as on the map); whiskers: "
                                    "lowest to highest", "font": {"size": 11}}},
        "yaxis": {"autorange": "reversed", "categoryorder": "array",
                  "categoryarray": [c.name for c in fw.components], "automargin": True},
        "legend": {"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
        "bargap": 0.25,
    }
    return _figure(data, layout, height=470)


# -- a country across rounds ---------------------------------------------------------------------


def _level_scale(fw: Framework) -> list[list[Any]]:
    steps = [lv.level for lv in fw.levels] or [0]
    lo, hi = min(steps), max(steps)
    span = hi - lo + 1
    scale: list[list[Any]] = []
    for k, step in enumerate(range(lo, hi + 1)):
        color = LEVEL_COLORS.get(step, "#999")
        scale += [[k / span, color], [(k + 1) / span, color]]
    return scale


def history_heatmap(cells: Sequence[Cell], fw: Framework, round_order: Sequence[str],
                    country_name: str) -> Figure:
    """Each component's level across the rounds of one administration (word and colour)."""
    if not cells:
        return empty_figure(f"No assessment of {country_name} yet.")
    rounds = [r for r in round_order if any(c.round == r for c in cells)]
    level = {(c.component_id, c.round): c for c in cells}
    z, text, hover = [], [], []
    for comp in fw.components:
        row_z, row_t, row_h = [], [], []
        for r in rounds:
            c = level.get((comp.component_id, r))
            row_z.append(None if c is None else c.level)
            row_t.append("" if c is None else f"{c.level}")
            row_h.append(f"<b>{comp.name}</b>, round {r}<br>{fw.label(c.level if c else None)}"
                         + (f"<br>{_wrap(c.evidence)}" if c and c.evidence else ""))
        z.append(row_z)
        text.append(row_t)
        hover.append(row_h)
    steps = [lv.level for lv in fw.levels] or [0]
    trace = {
        "type": "heatmap", "z": z, "x": rounds, "y": [c.name for c in fw.components],
        "text": text, "texttemplate": "%{text}", "customdata": hover,
        "hovertemplate": "%{customdata}<extra></extra>", "colorscale": _level_scale(fw),
        "zmin": min(steps) - 0.5, "zmax": max(steps) + 0.5, "xgap": 2, "ygap": 2,
        "colorbar": {"tickvals": steps, "ticktext": [f"{lv.level} {lv.label}" for lv in fw.levels],
                     "title": {"text": "level"}, "len": 0.8},
    }
    layout = {"yaxis": {"autorange": "reversed", "automargin": True},
              "xaxis": {"type": "category", "side": "top", "tickangle": 0}}
    fig = _figure([trace], layout, height=500,
                  title=f"{country_name}: each component across rounds")
    fig["layout"]["margin"]["t"] = 64
    return fig


def _wrap(text: str, width: int = 70) -> str:
    words, lines, line = text.split(), [], ""
    for w in words:
        if len(line) + len(w) + 1 > width and line:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}".strip()
    lines.append(line)
    return "<br>".join(lines[:6])


# -- strategies and trainings --------------------------------------------------------------------

DOCUMENT_LABELS = {"ibm_strategy": "IBM strategy", "action_plan": "Action plan",
                   "schengen_action_plan": "Schengen action plan", "other": "Other document"}
STATUS_COLORS = {"in_force": "#1B9E77", "under_revision": "#E6AB02", "expired": "#999999",
                 "superseded": "#BDBDBD"}


def strategy_timeline(items: Sequence[Strategy], today: date, country_name: str) -> Figure:
    """Each strategy and action plan as a bar from adoption to the end of its validity
    (open-ended ones run to today), coloured by status, with the share of measures done."""
    if not items:
        return empty_figure(f"No strategy or action plan of {country_name} loaded.", height=220)
    data: list[dict[str, Any]] = []
    seen: set[str] = set()
    for s in items:
        end = s.valid_until or today
        label = DOCUMENT_LABELS.get(s.document, s.document)
        done = "" if s.implemented_pct is None else f"<br>{s.implemented_pct:g}% of measures implemented"
        status = s.status.replace("_", " ")
        data.append({
            "type": "bar", "orientation": "h", "y": [label],
            "x": [(end - s.adopted_on + timedelta(days=1)).days * 86_400_000],
            "base": [s.adopted_on.isoformat()],
            "marker": {"color": STATUS_COLORS.get(s.status, "#999")}, "name": status,
            "legendgroup": s.status, "showlegend": s.status not in seen,
            "text": [f"{s.implemented_pct:g}%" if s.implemented_pct is not None else ""],
            "textposition": "inside", "insidetextanchor": "middle",
            "hovertemplate": (f"<b>{s.title or label}</b><br>adopted {s.adopted_on}, valid until "
                              f"{s.valid_until or 'open-ended'}<br>{status}{done}<extra></extra>"),
        })
        seen.add(s.status)
    today_line = {"type": "line", "x0": today.isoformat(), "x1": today.isoformat(), "xref": "x",
                  "y0": 0, "y1": 1, "yref": "paper",
                  "line": {"color": "#333", "dash": "dot", "width": 1}}
    layout = {"barmode": "overlay", "xaxis": {"type": "date", "gridcolor": "#E0E0E0"},
              "yaxis": {"automargin": True}, "shapes": [today_line],
              "legend": {"orientation": "h", "y": -0.25, "x": 0}}
    return _figure(data, layout, height=240, title=f"{country_name}: strategies and action plans")


def trainings_chart(rows: Sequence[YearCount], *, by: str, country_name: str) -> Figure:
    """Trainings per year stacked by topic (``by='topic'``) or by agency (``by='agency'``),
    participants in the hover. Per agency a joint training counts under each agency."""
    if not rows:
        return empty_figure(f"No training of {country_name} loaded.", height=300)
    years = sorted({r.year for r in rows})
    totals_by_key: dict[str, int] = defaultdict(int)
    for r in rows:
        totals_by_key[r.key] += r.trainings
    keys = sorted(totals_by_key, key=lambda k: (-totals_by_key[k], k))
    grid: dict[tuple[int, str], YearCount] = {(r.year, r.key): r for r in rows}
    data: list[dict[str, Any]] = []
    for k, key in enumerate(keys):
        mine = [grid.get((y, key)) for y in years]
        name = key.replace("_", " ")
        data.append({
            "type": "bar", "x": years, "y": [m.trainings if m else 0 for m in mine], "name": name,
            "marker": {"color": SERIES_COLORS[k % len(SERIES_COLORS)]},
            "customdata": [m.participants if m else 0 for m in mine],
            "hovertemplate": f"<b>{name}</b>, %{{x}}<br>%{{y}} training(s), "
                             "%{customdata} participants<extra></extra>",
        })
    layout: dict[str, Any] = {
        "barmode": "stack", "legend": {"orientation": "h", "y": -0.15, "x": 0},
        "yaxis": {"title": {"text": "trainings"}, "gridcolor": "#E0E0E0"},
        "xaxis": {"dtick": 1, "tickformat": "d"},
    }
    if by == "topic":
        people: dict[int, int] = defaultdict(int)
        for r in rows:
            people[r.year] += r.participants
        data.append({"type": "scatter", "x": years, "y": [people[y] for y in years],
                     "name": "participants", "yaxis": "y2", "mode": "lines+markers",
                     "line": {"color": "#333"},
                     "hovertemplate": "%{x}: %{y} participants<extra></extra>"})
        layout["yaxis2"] = {"overlaying": "y", "side": "right", "title": {"text": "participants"},
                            "showgrid": False, "rangemode": "tozero"}
    title = (f"{country_name}: trainings per year by topic" if by == "topic" else
             f"{country_name}: trainings per year by agency taking part")
    return _figure(data, layout, height=340, title=title)
