"""The crossing page's layout, as pure builders: controls, the five sections with their empty
charts and tables (filled by the page's callbacks), the small map, and the skeleton Dash
validates the callbacks against. No queries here (``dashboard/pages/bcp.py`` calls them).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import dash_leaflet as dl
from dash import dcc, html
from dash_extensions.javascript import Namespace

from dashboard import crossing as tables
from dashboard.analysis.flows import method_sentence
from dashboard.analysis.waits import BANDS
from dashboard.components import charts
from dashboard.components import crossing as parts
from dashboard.components.layers import (
    bcps_layer,
    collection,
    incidents_hideout,
    sections_hideout,
)
from dashboard.components.palette import CATEGORY_LABELS
from dashboard.ids import PageIds
from dashboard.queries.crossing import LIST_ROWS
from dashboard.viewstate import (
    FLOW_CHOICES,
    MAX_RADIUS_KM,
    MIN_RADIUS_KM,
    WAIT_CHOICES,
    CrossingView,
    default_filters,
)

ns = Namespace("borderwatch", "map")


def country_names(head: dict[str, Any]) -> dict[str, str]:
    return {head["country_a"]: head.get("country_a_name") or head["country_a"],
            head["country_b"]: head.get("country_b_name") or head["country_b"]}


def direction_titles(head: dict[str, Any], side: str) -> dict[str, str]:
    other = head["country_b"] if side == head["country_a"] else head["country_a"]
    names = country_names(head)
    return {"entry": f"Entering {names[side]} (from {names[other]}), as {names[side]} counted",
            "exit": f"Leaving {names[side]} (for {names[other]}), as {names[side]} counted"}


# ------------------------------------------------------------------------------------ layout


def controls(ids: PageIds, head: dict[str, Any], view: CrossingView, first: date,
             last: date) -> html.Div:
    names = country_names(head)
    sides = tables.sides(head) or [head["country_a"]]
    side = tables.side_of(head, view)
    return html.Div([
        html.Div([html.Label("Period", htmlFor=ids("period")),
                  dcc.DatePickerRange(id=ids("period"),
                                      start_date=view.filters.date_from.isoformat(),
                                      end_date=view.filters.date_to.isoformat(),
                                      min_date_allowed=first.isoformat(),
                                      max_date_allowed=last.isoformat(), display_format="YYYY-MM-DD",
                                      minimum_nights=0, first_day_of_week=1)],
                 className="bw-field"),
        html.Div([html.Span("Flows as counted by", className="bw-field-label"),
                  dcc.RadioItems(id=ids("side"), value=side, inline=True,
                                 options=[{"label": f" {names[c]} ({c})", "value": c}
                                          for c in sides])], className="bw-field"),
        html.Div([html.Label("Traffic", htmlFor=ids("flow")),
                  dcc.Dropdown(id=ids("flow"), value=view.flow, clearable=False,
                               options=[{"label": c, "value": c} for c in FLOW_CHOICES])],
                 className="bw-field bw-narrow"),
        html.Div([html.Label("Incident categories", htmlFor=ids("cat")),
                  dcc.Dropdown(id=ids("cat"), multi=True, value=list(view.filters.categories),
                               placeholder="All categories",
                               options=[{"label": v, "value": k}
                                        for k, v in CATEGORY_LABELS.items()])],
                 className="bw-field bw-wide"),
    ], className="bw-card bw-crossing-controls")


def _graph(ids: PageIds, name: str) -> dcc.Loading:
    return dcc.Loading(dcc.Graph(id=ids(name), config=charts.GRAPH_CONFIG,  # type: ignore[arg-type]
                                 figure=charts.empty_figure("Loading…")), type="dot")


def _table(ids: PageIds, name: str, title: str | None = None) -> list[Any]:
    """Where the callback of section ``name`` puts its table (under ``title``) and the links
    of its CSVs."""
    heading = [html.H3(title)] if title else []
    return [*heading, html.Div(id=ids(f"{name}-table")),
            html.Div(id=ids(f"{name}-csv"), className="bw-csvs")]


def sections(ids: PageIds, head: dict[str, Any], view: CrossingView, anomaly_z: float,
             layer_base: str) -> list[html.Section]:
    section_id = (head.get("section") or {}).get("section_id")
    bands = ", ".join(label for label, _, _ in BANDS)
    flows = parts.section(
        "Flows", ids("flows-section"),
        ["Daily counts by direction, with the 7-day mean, the same weeks a year earlier and the "
         "seasonal baseline; crosses mark anomalies. ",
         html.Span(method_sentence(anomaly_z), id=ids("method"))],
        _graph(ids, "flows-graph"),
        *_table(ids, "flows", "Flagged days"),
    )
    waits = parts.section(
        "Waiting times", ids("waits-section"),
        f"Average and maximum wait per day and direction against the Green Lanes bands ({bands}); "
        "a day counts in the band of its average.",
        html.Div([html.Label("Vehicles", htmlFor=ids("wait")),
                  dcc.RadioItems(id=ids("wait"), value=view.wait, inline=True,
                                 options=[{"label": f" {c}", "value": c} for c in WAIT_CHOICES])],
                 className="bw-field"),
        _graph(ids, "waits-graph"),
        *_table(ids, "waits", "Share of days in each band"),
    )
    mirror = parts.section(
        "Mirror reconciliation", ids("mirror-section"),
        "What one side counted leaving against what the other side counted arriving, for the "
        "traffic chosen above. Days whose gap passes the threshold are flagged.",
        html.Div(id=ids("mirror-note"), className="bw-note"),
        _graph(ids, "mirror-graph"),
        *_table(ids, "mirror", "Flagged days"),
    )
    scope_options = [{"label": " within the radius", "value": "radius"}]
    if section_id:
        scope_options.append({"label": f" on border section {section_id}", "value": "section"})
    near = parts.section(
        "Incidents near the crossing", ids("incidents-section"),
        "Incidents in the period within the radius of the crossing, or on its border section; "
        "the ones placed at the crossing itself (reported by its code) are marked.",
        html.Div([
            html.Div([html.Label("Radius (km)", htmlFor=ids("radius")),
                      dcc.Input(id=ids("radius"), type="number", value=view.radius_km,
                                min=MIN_RADIUS_KM, max=MAX_RADIUS_KM, step=0.5, debounce=True)],
                     className="bw-field bw-narrow"),
            html.Div([html.Span("Count incidents", className="bw-field-label"),
                      dcc.RadioItems(id=ids("near"), options=scope_options,
                                     value=view.near if section_id else "radius", inline=True)],
                     className="bw-field"),
            html.Div(html.B("…", id=ids("incidents-total")), className="bw-counts"),
        ], className="bw-row"),
        html.Div([_mini_map(ids, head, view, layer_base), _graph(ids, "incidents-graph")],
                 className="bw-split"),
        *_table(ids, "incidents", f"Incidents (newest {LIST_ROWS} shown)"),
    )
    risk = parts.section(
        "Risk and facilitation", ids("risk-section"),
        "Detections per 10,000 crossings (incidents detected by a BCP check, per persons "
        "crossing in both directions as one side counted them) against the average waiting "
        "time of vehicles, for this crossing and its peers: up and to the left, a post finds "
        "more without making people wait longer.",
        _graph(ids, "risk-graph"),
        *_table(ids, "risk"),
    )
    return [flows, waits, mirror, near, risk]


def _mini_map(ids: PageIds, head: dict[str, Any], view: CrossingView, base: str) -> html.Div:
    """The small map: basemap, the BCP's border section, the radius, the BCP, incidents."""
    center = [head["lat"], head["lon"]]
    panes = [dl.Pane(name=n, style={"zIndex": z, **({"pointerEvents": "none"} if n in (
        "bw-basemap", "bw-labels", "bw-radius") else {})}) for n, z in (
        ("bw-basemap", 150), ("bw-radius", 400), ("bw-sections", 420), ("bw-labels", 430),
        ("bw-bcps", 610), ("bw-incidents", 620))]
    return html.Div(dl.MapContainer([
        *panes,
        dl.GeoJSON(url=f"{base}/basemap.geojson?detail=1", pane="bw-basemap",
                   style=ns("countryStyle"), pointToLayer=ns("countryLabel"),
                   hideout={"labelPane": "bw-labels"}, interactive=False),
        dl.GeoJSON(url=f"{base}/sections.geojson?pair={head['pair_id']}", pane="bw-sections",
                   style=ns("sectionStyle"), onEachFeature=ns("sectionEach"),
                   hideout=sections_hideout("bw-labels")),
        dl.Circle(id=ids("circle"), center=center, radius=view.radius_km * 1000.0,
                  pane="bw-radius", interactive=False,
                  pathOptions={"color": "#0b5cad", "weight": 1.5, "fillOpacity": 0.05,
                               "dashArray": "4 4"}),
        dl.GeoJSON(data=bcps_layer([head]), pane="bw-bcps", pointToLayer=ns("bcpIcon"),
                   hideout={"pane": "bw-bcps", "compact": False}),
        dl.GeoJSON(id=ids("points"), data=collection([]), pane="bw-incidents",
                   pointToLayer=ns("incidentPoint"), hideout=incidents_hideout("bw-incidents")),
        dl.ScaleControl(position="bottomleft", imperial=False),
    ], id=ids("map"), center=center, zoom=_zoom_for(view.radius_km), className="bw-mini-map"),
        className="bw-mini-map-wrap")


def _zoom_for(radius_km: float) -> int:
    """A zoom that shows the whole circle in the small map (about 360 px wide)."""
    for zoom, km in ((13, 1.5), (12, 3), (11, 6), (10, 12), (9, 25), (8, 50)):
        if radius_km <= km:
            return zoom
    return 7


#: A stand-in crossing for the layout Dash validates the callbacks against (it calls every
#: page's ``layout()`` without arguments once, outside any request).
_PLACEHOLDER: dict[str, Any] = {
    "code": "", "name_a": "", "name_b": "", "country_a": "AA", "country_b": "BB",
    "country_a_name": "", "country_b_name": "", "lon": 0.0, "lat": 0.0, "pair_id": "AA-BB",
    "section": {"section_id": "AA-BB-01", "impact_level": "low", "distance_m": 0.0},
    "flow_sides": [], "peers": [], "patrol_areas": [],
}


def skeleton(ids: PageIds, today: date, layer_base: str) -> html.Div:
    """Every component the callbacks use, without data (for Dash's callback validation)."""
    view = CrossingView(filters=default_filters(today))
    return html.Div([
        dcc.Location(id=ids("go"), refresh="callback-nav"),
        dcc.Store(id=ids("state")), dcc.Store(id=ids("query")), dcc.Store(id=ids("sink-url")),
        parts.search_box(ids("search"), []),
        controls(ids, _PLACEHOLDER, view, today, today),
        *sections(ids, _PLACEHOLDER, view, 5.0, layer_base),
    ])
