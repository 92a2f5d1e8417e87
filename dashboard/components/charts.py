"""Plotly figure builders of the crossing page: pure functions from analysis tables to figures.

Every builder takes the DataFrame the CSV export writes too, so a chart and its CSV always show
the same numbers. Figures are plain Plotly JSON (``{"data": [...], "layout": {...}}``, what
``dcc.Graph`` takes), not ``plotly.graph_objects``: validating graph objects cost more than
the rest of a callback (a blank two-panel figure took ~60 ms). SVG traces only (no WebGL).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from dashboard.analysis.waits import BANDS
from dashboard.components.palette import CATEGORY_COLORS

INK = "#1d2733"
MUTED = "#8a94a0"
ACCENT = "#0b5cad"
FLAG = "#B71C1C"
LAST_YEAR = "#7b8794"
BASELINE = "#E69F00"
FONT = "DejaVu Sans, Arial, sans-serif"
DIRECTION_COLORS = {"entry": "#0072B2", "exit": "#009E73"}
BAND_FILLS = ("rgba(46,125,50,0.10)", "rgba(249,168,37,0.14)", "rgba(183,28,28,0.10)")
#: Distinct colours for incident subtypes (Okabe-Ito, then a few more).
SUBTYPE_COLORS = ("#D55E00", "#0072B2", "#CC79A7", "#009E73", "#E69F00", "#56B4E9", "#F0E442",
                  "#6B6B6B", "#8C564B", "#17BECF", "#7F3C8D", "#B8860B")
#: Plotly config of every chart on the page (no logo, no cloud, a PNG download).
GRAPH_CONFIG: dict[str, Any] = {
    "displaylogo": False,
    "responsive": True,
    "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d"],
    "toImageButtonOptions": {"format": "png", "scale": 2},
}

Figure = dict[str, Any]
_AXIS = {"showgrid": False, "linecolor": "#c8ced6", "ticks": "outside", "automargin": True}
_YAXIS = {"gridcolor": "#eef0f3", "zeroline": False, "rangemode": "tozero",
          "separatethousands": True, "automargin": True}


def _figure(data: list[dict[str, Any]], layout: dict[str, Any], height: int) -> Figure:
    base: dict[str, Any] = {
        "height": height, "margin": {"l": 56, "r": 16, "t": 36, "b": 36},
        "paper_bgcolor": "white", "plot_bgcolor": "white",
        "font": {"family": FONT, "size": 12, "color": INK},
        "legend": {"orientation": "h", "y": -0.12, "x": 0, "font": {"size": 11}},
        "hovermode": "x unified", "xaxis": dict(_AXIS), "yaxis": dict(_YAXIS),
    }
    return {"data": data, "layout": {**base, **layout}}


def empty_figure(message: str, height: int = 220) -> Figure:
    """A blank chart that says why it is blank."""
    note = {"text": message, "x": 0.5, "y": 0.5, "xref": "paper", "yref": "paper",
            "showarrow": False, "font": {"size": 14, "color": MUTED}}
    return _figure([], {"annotations": [note], "xaxis": {"visible": False},
                        "yaxis": {"visible": False}, "hovermode": False}, height)


def _values(series: Iterable[Any]) -> list[Any]:
    """JSON-safe values: NaN as None (a gap in the line, never a zero)."""
    out: list[Any] = []
    for v in series:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            out.append(None)
        elif isinstance(v, np.generic):
            out.append(v.item())
        else:
            out.append(v)
    return out


def _days(series: pd.Series) -> list[str]:
    days = pd.to_datetime(series).to_numpy(dtype="datetime64[D]")
    return np.datetime_as_string(days, unit="D").tolist()  # type: ignore[no-any-return]


def _two_panels(titles: list[str], height: int) -> dict[str, Any]:
    """Layout of two panels above each other sharing the x axis (``x``/``y`` on top)."""
    return {
        "xaxis": {**_AXIS, "anchor": "y", "matches": "x2", "showticklabels": False},
        "xaxis2": {**_AXIS, "anchor": "y2"},
        "yaxis": {**_YAXIS, "domain": [0.56, 1.0], "anchor": "x"},
        "yaxis2": {**_YAXIS, "domain": [0.0, 0.44], "anchor": "x2"},
        "annotations": [
            {"text": t, "x": 0.5, "y": y, "xref": "paper", "yref": "paper", "showarrow": False,
             "xanchor": "center", "yanchor": "bottom", "font": {"size": 14}}
            for t, y in zip(titles, (1.0, 0.44), strict=False)],
        "height": height,
    }


def _line(x: list[str], y: Iterable[Any], name: str, panel: int, group: str, **style: Any,
          ) -> dict[str, Any]:
    return {"type": "scatter", "x": x, "y": _values(y), "name": name,
            "xaxis": "x" if panel == 1 else "x2", "yaxis": "y" if panel == 1 else "y2",
            "legendgroup": group, "showlegend": panel == 1, **style}


def flows_figure(table: pd.DataFrame, category: str, titles: dict[str, str]) -> Figure:
    """Daily counts of one category, one panel per direction: the day, its 7-day mean, the same
    weeks a year earlier, the seasonal baseline and the flagged days.

    Parameters
    ----------
    table
        ``dashboard.analysis.flows.flow_table`` rows (any categories; ``category`` is drawn).
    titles
        Direction -> panel title ("Entering Serbia").
    """
    mine = table[table["category"] == category]
    if mine.empty or mine["count"].notna().sum() == 0:
        return empty_figure(f"No {category} counts reported in this period.")
    data = []
    for panel, direction in enumerate(("entry", "exit"), start=1):
        part = mine[mine["direction"] == direction]
        x, color = _days(part["date"]), DIRECTION_COLORS[direction]
        data += [
            _line(x, part["count"], "daily count", panel, "day", mode="lines", opacity=0.55,
                  line={"color": color, "width": 1}, hovertemplate="%{y:,.0f}"),
            _line(x, part["mean7"], "7-day mean", panel, "mean", mode="lines",
                  line={"color": color, "width": 2.5}, hovertemplate="%{y:,.0f}"),
            _line(x, part["last_year_mean7"], "7-day mean a year earlier", panel, "yoy",
                  mode="lines", line={"color": LAST_YEAR, "width": 1.5, "dash": "dash"},
                  hovertemplate="%{y:,.0f}"),
            _line(x, part["baseline"], "seasonal baseline", panel, "base", mode="lines",
                  line={"color": BASELINE, "width": 1.5, "dash": "dot"},
                  hovertemplate="%{y:,.0f}"),
        ]
        flagged = part[part["flagged"].astype(bool)]
        data.append(_line(_days(flagged["date"]), flagged["count"], "anomaly (robust z)", panel,
                          "flag", mode="markers",
                          marker={"color": FLAG, "size": 10, "symbol": "x"},
                          customdata=[round(float(z), 1) for z in flagged["z"]],
                          hovertemplate="%{y:,.0f} (z = %{customdata})"))
    titles_list = [titles.get("entry", "entry"), titles.get("exit", "exit")]
    return _figure(data, _two_panels(titles_list, 460), 460)


def waits_figure(days: pd.DataFrame, titles: dict[str, str]) -> Figure:
    """Average and maximum waiting time per day, one panel per direction, over the Green Lanes
    bands (under 20, 20-60, over 60 minutes)."""
    if days.empty:
        return empty_figure("No waiting times reported in this period.")
    peak = days["wait_minutes_max"].fillna(days["wait_minutes_avg"])
    top = max(90.0, float(np.nanmax(peak.to_numpy(dtype=float)))) * 1.05
    data = []
    for panel, direction in enumerate(("entry", "exit"), start=1):
        part = days[days["direction"] == direction]
        x = _days(part["date"])
        data += [
            _line(x, part["wait_minutes_avg"], "average wait", panel, "avg",
                  mode="lines+markers", marker={"size": 4},
                  line={"color": DIRECTION_COLORS[direction]}, customdata=list(part["band"]),
                  hovertemplate="%{y:.0f} min (%{customdata})"),
            _line(x, part["wait_minutes_max"], "maximum wait", panel, "max", mode="markers",
                  marker={"color": INK, "size": 5, "symbol": "triangle-up"},
                  hovertemplate="max %{y:.0f} min"),
        ]
    layout = _two_panels([titles.get("entry", "entry"), titles.get("exit", "exit")], 420)
    layout["shapes"] = [
        {"type": "rect", "xref": f"x{'' if p == 1 else '2'} domain", "x0": 0, "x1": 1,
         "yref": "y" if p == 1 else "y2", "y0": low, "y1": min(high, top), "fillcolor": fill,
         "line": {"width": 0}, "layer": "below"}
        for p in (1, 2) for (_label, low, high), fill in zip(BANDS, BAND_FILLS, strict=True)]
    for axis in ("yaxis", "yaxis2"):
        layout[axis] = {**layout[axis], "title": {"text": "minutes"}, "range": [0, top]}
    return _figure(data, layout, 420)


def mirror_figure(table: pd.DataFrame, category: str, names: dict[str, str]) -> Figure:
    """Per way across: what the leaving side counted against what the arriving side counted,
    with the flagged days marked."""
    mine = table[table["category"] == category]
    if mine.empty:
        return empty_figure(f"No {category} counts to compare in this period.")
    ways = list(dict.fromkeys(zip(mine["from_country"], mine["to_country"], strict=True)))[:2]
    data = []
    for panel, (leaving, arriving) in enumerate(ways, start=1):
        part = mine[(mine["from_country"] == leaving) & (mine["to_country"] == arriving)]
        x = _days(part["date"])
        flagged = part[part["flagged"].astype(bool)]
        gap = ["n/a" if pd.isna(p) else f"{p:+.1f} %" for p in flagged["gap_pct"]]
        data += [
            _line(x, part["exit_count"], "counted leaving (exit)", panel, "exit", mode="lines",
                  line={"color": DIRECTION_COLORS["exit"], "width": 2},
                  hovertemplate="exit %{y:,.0f}"),
            _line(x, part["entry_count"], "counted arriving (entry)", panel, "entry",
                  mode="lines", line={"color": DIRECTION_COLORS["entry"], "width": 2,
                                      "dash": "dash"}, hovertemplate="entry %{y:,.0f}"),
            _line(_days(flagged["date"]), flagged["entry_count"], "gap past the threshold",
                  panel, "flag", mode="markers",
                  marker={"color": FLAG, "size": 10, "symbol": "x"}, customdata=gap,
                  hovertemplate="gap %{customdata}"),
        ]
    titles = [f"{names.get(a, a)} → {names.get(b, b)}" for a, b in ways]
    return _figure(data, _two_panels(titles, 420), 420)


def incidents_figure(weekly: list[dict[str, Any]]) -> Figure:
    """Incidents near the crossing per week, stacked by subtype."""
    if not weekly:
        return empty_figure("No incidents near the crossing in this period.", height=240)
    frame = pd.DataFrame(weekly)
    order = frame.groupby("subtype")["n"].sum().sort_values(ascending=False).index.tolist()
    data = []
    for i, subtype in enumerate(order):
        part = frame[frame["subtype"] == subtype]
        data.append({"type": "bar", "x": _days(part["week"]), "y": _values(part["n"]),
                     "name": str(subtype).replace("_", " "),
                     "marker": {"color": SUBTYPE_COLORS[i % len(SUBTYPE_COLORS)]},
                     "hovertemplate": "%{y}"})
    layout = {"barmode": "stack",
              "yaxis": {**_YAXIS, "title": {"text": "incidents per week"}}}
    return _figure(data, layout, 300)


def risk_figure(table: pd.DataFrame) -> Figure:
    """Detections per 10,000 crossings against the average wait: this BCP and its peers."""
    plotted = table[table["per_10k"].notna() & table["wait_avg_min"].notna()]
    if plotted.empty:
        return empty_figure("No crossing here and among its peers has both counts and waiting "
                            "times in this period.", height=260)
    data = []
    for is_this, color, size, label in ((False, MUTED, 12, "peers"),
                                        (True, ACCENT, 18, "this crossing")):
        part = plotted[plotted["is_this"] == is_this]
        if part.empty:
            continue
        data.append({
            "type": "scatter", "mode": "markers+text", "name": label,
            "x": _values(part["wait_avg_min"]), "y": _values(part["per_10k"]),
            "text": list(part["name"]), "textposition": "top center",
            "marker": {"color": color, "size": size, "line": {"color": "white", "width": 1}},
            "customdata": [[int(d), float(c)] for d, c in zip(part["detections"],
                                                                part["crossings"], strict=True)],
            "hovertemplate": ("%{text}<br>%{y:.2f} per 10,000 (%{customdata[0]:,} detections, "
                              "%{customdata[1]:,.0f} crossings)<br>average wait %{x:.0f} min"
                              "<extra></extra>"),
        })
    top_x = float(plotted["wait_avg_min"].max()) * 1.12 + 1
    top_y = float(plotted["per_10k"].max()) * 1.25 or 1.0
    layout = {"hovermode": "closest",
              "xaxis": {**_AXIS, "title": {"text": "average wait (minutes, vehicles)"},
                        "range": [0, top_x]},
              "yaxis": {**_YAXIS, "title": {"text": "detections per 10,000 crossings"},
                        "range": [0, top_y]}}
    return _figure(data, layout, 340)


def category_color(category: str) -> str:
    """Colour of an incident category (as on the map)."""
    return CATEGORY_COLORS.get(category, MUTED)
