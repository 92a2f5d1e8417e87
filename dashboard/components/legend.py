"""The map legend: every layer's symbols with words (pure builder)."""

from __future__ import annotations

from collections.abc import Sequence

from dash import html

from dashboard.components.layers import density_colors
from dashboard.components.palette import (
    BCP_MODES,
    CATEGORY_COLORS,
    CATEGORY_LABELS,
    IMPACT_LABELS,
    IMPACT_STYLES,
    PATROL_COLOR,
)

_CSS_DASH: dict[object, str] = {None: "solid", "10 6": "dashed", "4 5": "dotted"}


def _row(symbol: html.Span, text: str) -> html.Li:
    return html.Li([symbol, html.Span(text, className="bw-legend-text")])


def _section(title: str, rows: list[html.Li]) -> html.Div:
    return html.Div([html.H4(title), html.Ul(rows)], className="bw-legend-section")


def hotspot_scale(breaks: Sequence[int], resolution: int | None = None) -> list[html.Li]:
    """Legend rows of the hotspot classes: colour and incident range per hexagon."""
    if not breaks:
        return [html.Li("No incidents in view", className="bw-legend-empty")]
    colors = density_colors(len(breaks))
    rows = []
    for i, (low, color) in enumerate(zip(breaks, colors, strict=True)):
        high = breaks[i + 1] - 1 if i + 1 < len(breaks) else None
        label = f"{low:,}+" if high is None else (f"{low:,}" if high == low else f"{low:,}–{high:,}")
        rows.append(
            _row(
                html.Span(className="bw-swatch bw-swatch-hex", style={"background": color}),
                f"{label} incident{'' if high == low == 1 else 's'}",
            )
        )
    if resolution is not None:
        rows.append(html.Li(f"H3 resolution {resolution} hexagons", className="bw-legend-note"))
    return rows


def legend(density_id: str, hotspots: html.Div | None = None, legend_id: str = "legend") -> html.Details:
    """The whole legend (``legend_id``; open, folded on small screens by the page's script);
    ``density_id`` is the list the density callback fills, ``hotspots`` the hotspot (Gi*)
    section (``dashboard.components.hotspots.hotspot_legend_section``)."""
    incidents = [
        _row(
            html.Span(className="bw-swatch bw-swatch-dot", style={"background": CATEGORY_COLORS[c]}),
            CATEGORY_LABELS[c],
        )
        for c in CATEGORY_COLORS
    ] + [
        _row(html.Span("12", className="bw-swatch bw-swatch-cluster"), "Cluster (incidents in it)"),
        _row(html.Span(className="bw-swatch bw-swatch-new"), "New since the last refresh"),
        _row(html.Span(className="bw-swatch bw-swatch-selected"), "Selected incident"),
    ]
    seen: set[str] = set()
    bcps = []
    for glyph, shape, label in BCP_MODES.values():
        if label in seen or glyph in ("W", "S", "A"):
            continue
        seen.add(label)
        bcps.append(_row(html.Span(glyph, className=f"bw-swatch bw-bcp bw-shape-{shape}"), label))
    bcps.append(
        _row(
            html.Span("R", className="bw-swatch bw-bcp bw-shape-circle bw-bcp-joint"),
            "Joint controls / one-stop",
        )
    )
    sections = []
    for level, label in IMPACT_LABELS.items():
        style = IMPACT_STYLES[level]
        line = html.Span(
            className="bw-swatch bw-swatch-line",
            style={
                "borderTop": f"{style['weight']}px {_CSS_DASH.get(style['dashArray'], 'dashed')} "
                f"{style['color']}"
            },
        )
        sections.append(_row(line, f"{label.upper()} impact"))
    sections.append(html.Li("Level set by the national coordination centre; hover a section "
                            "for its reason and date", className="bw-legend-note"))
    patrol = [
        _row(
            html.Span(className="bw-swatch bw-swatch-area", style={"borderColor": PATROL_COLOR}),
            "Patrol area (pair · depth)",
        )
    ]
    return html.Details(
        [
            html.Summary("Legend"),
            html.Div(
                [
                    html.Div(
                        [
                            _section("Incidents", incidents),
                            *([hotspots] if hotspots is not None else []),
                            _section("Incident density (incidents per hexagon)", []),
                            html.Ul(id=density_id, className="bw-legend-hotspots"),
                        ]
                    ),
                    html.Div(
                        [
                            _section("Border sections", sections),
                            _section("Border crossing points", bcps),
                            _section("Joint patrols", patrol),
                        ]
                    ),
                ],
                className="bw-legend-columns",
            ),
        ],
        open=True,
        id=legend_id,
        className="bw-legend",
    )
