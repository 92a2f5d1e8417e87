"""The situation map component tree: panes, base layers, switchable overlays, legend, details.

Data arrives later through callbacks (incidents, hotspots) or URL endpoints (reference layers);
this builder only lays out the empty layers with their styling functions.
"""

from __future__ import annotations

from typing import Any

import dash_leaflet as dl
from dash import html
from dash_extensions.javascript import Namespace

from dashboard.components.hotspots import hotspot_hideout, hotspot_legend_section
from dashboard.components.layers import (
    bcp_hideout,
    collection,
    incidents_hideout,
    sections_hideout,
)
from dashboard.components.legend import legend
from dashboard.ids import PageIds
from dashboard.viewstate import LAYERS, MAX_ZOOM, MIN_ZOOM, ViewState

ns = Namespace("borderwatch", "map")
hs = Namespace("bwHotspots", "layer")

#: Custom panes and their z-index (Leaflet: tiles 200, overlays 400, markers 600, tooltips 650).
#: Incident clusters lie under the border sections, their labels and the BCPs (clusters used
#: to hide them); every hover tooltip is in Leaflet's tooltip pane, above all of them.
PANES: dict[str, int] = {
    "bw-basemap": 150,
    "bw-density": 375,
    "bw-hotspots": 380,
    "bw-patrol": 390,
    "bw-incidents": 560,
    "bw-sections": 570,
    "bw-labels": 580,
    "bw-bcps": 610,
    "bw-badges": 615,
    "bw-new": 630,
    "bw-selected": 640,
}
INITIAL_ZOOM_NUDGE = 0.001
_NON_INTERACTIVE = ("bw-basemap", "bw-labels", "bw-badges", "bw-selected")


def reference_url(base: str, pairs: tuple[str, ...] = (), countries: tuple[str, ...] = ()) -> str:
    """URL of a reference-layer endpoint restricted to border pairs and countries."""
    params = [f"pair={','.join(pairs)}"] if pairs else []
    params += [f"country={','.join(countries)}"] if countries else []
    return base + ("?" + "&".join(params) if params else "")


def _overlay(state: ViewState, key: str, children: list[Any]) -> dl.Overlay:
    return dl.Overlay(dl.LayerGroup(children), name=LAYERS[key], checked=key in state.layers)


def situation_map(
    ids: PageIds,
    state: ViewState,
    urls: dict[str, str],
    tile_url: str | None = None,
    tile_attribution: str = "",
    can_recompute: bool = True,
) -> html.Div:
    """The map with every layer, the legend and the (hidden) incident detail panel.

    Parameters
    ----------
    ids
        The page's id builder.
    state
        Initial view (centre, zoom, checked layers).
    urls
        Initial URLs of the reference endpoints: ``basemap``, ``sections``, ``bcps``, ``patrol``.
    tile_url, tile_attribution
        Optional online tile layer (offered as a second base layer).
    can_recompute
        Whether the user's role may recompute the hotspot analysis (else no Recompute button).
    """
    empty = collection([])
    panes = [
        dl.Pane(
            name=name, style={"zIndex": z, **({"pointerEvents": "none"} if name in _NON_INTERACTIVE else {})}
        )
        for name, z in PANES.items()
    ]
    base_layers = [
        dl.BaseLayer(
            dl.GeoJSON(
                id=ids("basemap"),
                url=urls["basemap"],
                pane="bw-basemap",
                interactive=False,
                style=ns("countryStyle"),
                pointToLayer=ns("countryLabel"),
                hideout={"labelPane": "bw-labels"},
            ),
            name="Offline basemap",
            checked=True,
        )
    ]
    if tile_url:
        base_layers.append(
            dl.BaseLayer(
                dl.TileLayer(url=tile_url, attribution=tile_attribution), name="Online tiles", checked=False
            )
        )
    incident_hideout = incidents_hideout("bw-incidents")
    overlays = [
        _overlay(
            state,
            "sections",
            [
                dl.GeoJSON(
                    id=ids("sections"),
                    url=urls["sections"],
                    pane="bw-sections",
                    style=ns("sectionStyle"),
                    onEachFeature=ns("sectionEach"),
                    hideout=sections_hideout("bw-labels"),
                )
            ],
        ),
        _overlay(
            state,
            "bcps",
            [
                dl.GeoJSON(
                    id=ids("bcps"),
                    url=urls["bcps"],
                    pane="bw-bcps",
                    pointToLayer=ns("bcpIcon"),
                    hideout=bcp_hideout("bw-bcps", state.zoom),
                )
            ],
        ),
        _overlay(
            state,
            "incidents",
            [
                dl.GeoJSON(
                    id=ids("points"),
                    data=empty,
                    cluster=True,
                    zoomToBoundsOnClick=True,
                    superClusterOptions={"radius": 60, "maxZoom": 15},
                    pointToLayer=ns("incidentPoint"),
                    clusterToLayer=ns("clusterIcon"),
                    hideout=incident_hideout,
                    pane="bw-incidents",
                ),
                dl.GeoJSON(
                    id=ids("clusters"),
                    data=empty,
                    pointToLayer=ns("clusterIcon"),
                    hideout=incident_hideout,
                    pane="bw-incidents",
                ),
                dl.GeoJSON(
                    id=ids("badges"),
                    data=empty,
                    pointToLayer=ns("bcpBadge"),
                    hideout={"pane": "bw-badges"},
                    pane="bw-badges",
                    interactive=False,
                ),
                dl.GeoJSON(
                    id=ids("new"),
                    data=empty,
                    pointToLayer=ns("newPoint"),
                    hideout={**incident_hideout, "pane": "bw-new"},
                    pane="bw-new",
                ),
            ],
        ),
        _overlay(
            state,
            "hotspots",
            [
                dl.GeoJSON(
                    id=ids("gistar"),
                    data=empty,
                    pane="bw-hotspots",
                    style=hs("style"),
                    onEachFeature=hs("each"),
                    hideout=hotspot_hideout("class"),
                )
            ],
        ),
        _overlay(
            state,
            "density",
            [
                dl.GeoJSON(
                    id=ids("density"),
                    data=empty,
                    pane="bw-density",
                    style=ns("hexStyle"),
                    onEachFeature=ns("hexEach"),
                    hideout={"colors": []},
                )
            ],
        ),
        _overlay(
            state,
            "patrol",
            [
                dl.GeoJSON(
                    id=ids("patrol"),
                    url=urls["patrol"],
                    pane="bw-patrol",
                    style=ns("patrolStyle"),
                    pointToLayer=ns("patrolLabel"),
                    hideout={"labelPane": "bw-labels"},
                )
            ],
        ),
    ]
    leaflet_map = dl.MapContainer(
        [
            *panes,
            dl.LayersControl(
                [*base_layers, *overlays],
                id=ids("layers"),
                position="topright",
                collapsed=False,
                overlays=[LAYERS[k] for k in state.layers],
            ),
            dl.GeoJSON(
                id=ids("selection"),
                data=empty,
                pane="bw-selected",
                pointToLayer=ns("selectedPoint"),
                hideout={"pane": "bw-selected"},
            ),
            dl.ScaleControl(position="bottomright", imperial=False),
        ],
        id=ids("map"),
        center=[state.lat, state.lon],
        # dash-leaflet reports ``bounds`` only when the map's zoom or centre differs from these
        # props; Leaflet snaps this zoom to the integer one, so the first report comes at once.
        zoom=state.zoom + INITIAL_ZOOM_NUDGE,
        minZoom=MIN_ZOOM,
        maxZoom=MAX_ZOOM,
        className="bw-map",
        attributionControl=bool(tile_url),
    )
    detail = html.Aside(
        [
            html.Div(
                [
                    html.H3("Incident details"),
                    html.Button(
                        "×",
                        id=ids("detail-close"),
                        className="bw-alert-close",
                        title="Close details",
                        n_clicks=0,
                    ),
                ],
                className="bw-detail-bar",
            ),
            html.Div(id=ids("detail-body"), className="bw-detail-body"),
        ],
        id=ids("detail"),
        className="bw-detail",
        hidden=True,
    )
    key = legend(ids("legend-density"), hotspot_legend_section(ids, can_recompute), ids("legend"))
    return html.Div([leaflet_map, key, detail], className="bw-mapwrap")
