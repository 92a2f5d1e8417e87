"""The hotspot layer (Gi* classes, or emerging patterns) and its legend: pure builders.

Cells arrive from :func:`dashboard.queries.hotspots.significant_cells`; styling and tooltips
happen in the browser (``assets/hotspots.js``) from each hexagon's compact properties and the
layer's ``hideout`` (which of class or pattern colours the map, the colours and the labels).
Counts below ``min_shown`` are sent as a range, so a hexagon never tells that one single
incident happened there.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from dash import dcc, html
from h3.api import basic_int as h3int

from dashboard.components.layers import FeatureCollection, collection, shape
from etl.warehouse.schema import HOTSPOT_CLASSES

#: Fill colour and label of each class (ESRI's hot spot ramp: red hot, blue cold).
CLASS_STYLE: dict[str, tuple[str, str]] = {
    "hot_99": ("#d62f27", "Hot spot, 99 % confidence"),
    "hot_95": ("#ed7551", "Hot spot, 95 % confidence"),
    "hot_90": ("#fab984", "Hot spot, 90 % confidence"),
    "not_significant": ("#e8e8e8", "Not significant"),
    "cold_90": ("#c0ccbe", "Cold spot, 90 % confidence"),
    "cold_95": ("#849eba", "Cold spot, 95 % confidence"),
    "cold_99": ("#4575b5", "Cold spot, 99 % confidence"),
}
_KIND_COLORS = {
    "new": ("#ff00c8", "#00c8ff"), "consecutive": ("#e31a1c", "#1f78b4"),
    "intensifying": ("#800026", "#08306b"), "persistent": ("#fc4e2a", "#4292c6"),
    "diminishing": ("#fd8d3c", "#6baed6"), "sporadic": ("#feb24c", "#9ecae1"),
    "oscillating": ("#bd0026", "#2171b5"), "historical": ("#a6761d", "#807dba"),
}
#: Colour and label of each emerging pattern, in ``etl.analytics.hotspots.emerging.PATTERNS``
#: order (hot ones, cold ones, no_pattern).
PATTERN_STYLE: dict[str, tuple[str, str]] = {
    **{f"{k}_hot_spot": (c[0], f"{k.capitalize()} hot spot") for k, c in _KIND_COLORS.items()},
    **{f"{k}_cold_spot": (c[1], f"{k.capitalize()} cold spot") for k, c in _KIND_COLORS.items()},
    "no_pattern": ("#bdbdbd", "No emerging pattern"),
}
CLASS_INDEX = {c: i for i, c in enumerate(HOTSPOT_CLASSES)}
PATTERN_INDEX = {p: i for i, p in enumerate(PATTERN_STYLE)}
MODES = ("class", "pattern")
#: Hexagon vertices rounded to about 10 m.
DIGITS = 4


def count_text(n: int, min_shown: int) -> str:
    """``"12 incidents"``, or ``"1-4 incidents"`` for a count under ``min_shown``."""
    if 0 < n < min_shown:
        return f"1-{min_shown - 1} incidents"
    return f"{n:,} incident{'' if n == 1 else 's'}"


def shown_count(n: int, min_shown: int) -> int | str:
    """The count a hexagon tells: exact, or ``"1-4"`` below ``min_shown``."""
    return f"1-{min_shown - 1}" if 0 < n < min_shown else int(n)


def hotspot_layer(rows: Sequence[dict[str, Any]], min_shown: int) -> FeatureCollection:
    """Hexagons with class index ``k``, pattern index ``pt``, incidents ``n`` (see
    :func:`shown_count`), Gi* ``z`` (2 decimals) and trend ``t``; the browser writes the
    tooltip from them and the labels in the hideout (4,000 hexagons stay under 1 MB). Rows
    without ``n`` and ``z`` (a restricted role's) give hexagons without them."""
    features = []
    for r in rows:
        ring = [[round(lng, DIGITS), round(lat, DIGITS)]
                for lat, lng in h3int.cell_to_boundary(int(r["cell"]))]
        ring.append(ring[0])
        props: dict[str, Any] = {
            "k": CLASS_INDEX.get(r["class"], CLASS_INDEX["not_significant"]),
            "pt": PATTERN_INDEX.get(r["pattern"], PATTERN_INDEX["no_pattern"]),
            "t": int(r.get("trend") or 0),
        }
        if r.get("n") is not None:
            props["n"] = shown_count(int(r["n"]), min_shown)
        if r.get("z") is not None:
            props["z"] = round(float(r["z"]), 2)
        features.append(shape({"type": "Polygon", "coordinates": [ring]}, props))
    return collection(features)


def hotspot_hideout(mode: str) -> dict[str, Any]:
    """What the browser colours by (``class`` or ``pattern``), the colours and the labels of
    both (the tooltips are written from them)."""
    return {"mode": mode if mode in MODES else "class",
            "classColors": [CLASS_STYLE[c][0] for c in HOTSPOT_CLASSES],
            "classLabels": [CLASS_STYLE[c][1] for c in HOTSPOT_CLASSES],
            "patternColors": [color for color, _ in PATTERN_STYLE.values()],
            "patternLabels": [label for _, label in PATTERN_STYLE.values()]}


def _swatch(color: str, text: str) -> html.Li:
    return html.Li([html.Span(className="bw-swatch bw-swatch-hex", style={"background": color}),
                    html.Span(text, className="bw-legend-text")])


#: Longest job message shown on the page.
MESSAGE_CHARS = 200


def job_message(state: str, message: str | None = None) -> str:
    """What the page says about an on-demand recompute (``message`` cut to MESSAGE_CHARS)."""
    if state == "running":
        return "Recomputing…"
    if state == "busy":
        return "A recompute is already running."
    if state == "failed":
        text = (message or "see borderwatch runs")[:MESSAGE_CHARS]
        return f"Recompute failed: {text}"
    return "Recomputed."


def analysis_status(analysis: Any, withheld: bool = False) -> str:
    """When the analysis was computed, over what, and whether it is stale; ``withheld``: the
    user's role may not see its cells (finer than its aggregates)."""
    if analysis is None:
        return ("No hotspot analysis yet: run borderwatch analyse hotspots.")
    when = analysis.computed_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    step = "weekly" if analysis.step_days == 7 else f"{analysis.step_days}-day steps"
    cats = ", ".join(c.replace("_", " ") for c in analysis.categories) or "all categories"
    text = (f"Computed {when} over {analysis.period_from:%Y-%m-%d} to "
            f"{analysis.period_to:%Y-%m-%d} ({analysis.steps} {step} steps, {cats}), H3 "
            f"resolution {analysis.resolution}, {analysis.incidents:,} incidents.")
    if analysis.stale:
        text += (f" Stale: loads changed incidents on {analysis.stale_days:,} "
                 f"day{'' if analysis.stale_days == 1 else 's'} since.")
    if withheld:
        text += (" Its cells are finer than the aggregates your role sees (resolution-5 cells): "
                 "not shown.")
    return text


def hotspot_legend(mode: str, present: Sequence[dict[str, Any]]) -> list[html.Li]:
    """Legend rows: the six significant classes (class mode), or the patterns on the map
    (pattern mode); cells neither significant nor patterned are not drawn."""
    if mode == "pattern":
        seen = {r["pattern"] for r in present}
        rows = [_swatch(color, label) for p, (color, label) in PATTERN_STYLE.items()
                if p in seen and p != "no_pattern"]
        if "no_pattern" in seen:
            rows.append(_swatch(PATTERN_STYLE["no_pattern"][0],
                                "Significant over the period, no emerging pattern"))
        return rows or [html.Li("No emerging pattern in view", className="bw-legend-empty")]
    rows = [_swatch(color, label) for c, (color, label) in CLASS_STYLE.items()
            if c != "not_significant"]
    rows.append(html.Li("Getis-Ord Gi*, FDR-corrected; not significant cells are not drawn",
                        className="bw-legend-note"))
    return rows


def hotspot_legend_section(ids: Any, can_recompute: bool = True) -> html.Div:
    """The legend's hotspot section: colour-by switch, the colour rows and the analysis status
    (filled by the page's callback). ``can_recompute``: the role may run the analysis; the
    Recompute button is not offered otherwise (the server refuses such a request anyway)."""
    recompute = [html.Button("Recompute", id=ids("hotspot-recompute"), n_clicks=0,
                             className="bw-button",
                             title="Run borderwatch analyse hotspots now (only the weeks "
                                   "changed since are recounted)")] if can_recompute else []
    return html.Div(
        [
            html.H4("Hotspots (Getis-Ord Gi*)"),
            dcc.RadioItems(
                id=ids("hotspot-mode"),
                options=[{"label": "Gi* class", "value": "class"},
                         {"label": "Emerging pattern", "value": "pattern"}],
                value="class", inline=True, className="bw-hotspot-mode",
            ),
            html.Ul(id=ids("legend-gistar"), className="bw-legend-hotspots"),
            html.P(id=ids("hotspot-status"), className="bw-legend-note bw-hotspot-status"),
            html.Div(
                [*recompute, html.Span(id=ids("hotspot-job"), className="bw-muted", role="status")],
                className="bw-hotspot-actions",
            ),
            dcc.Interval(id=ids("hotspot-poll"), interval=2000, disabled=True),
            dcc.Store(id=ids("hotspot-version")),
            dcc.Store(id=ids("hotspot-since")),
        ],
        className="bw-legend-section",
    )
