"""The situation map (path ``/``): the wall screen of a coordination centre.

Callbacks stay thin: read the inputs, call one query function, hand the rows to a pure builder,
return. Reference layers load through URL endpoints (``dashboard/routes.py``); incidents and
hotspots through callbacks, aggregated on the server by viewport and zoom.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import dash
import flask
from dash import (
    ALL,
    ClientsideFunction,
    Input,
    Output,
    State,
    callback,
    clientside_callback,
    ctx,
    dcc,
    html,
    no_update,
)
from dash.exceptions import PreventUpdate

from dashboard import auth, recompute
from dashboard.components.controls import (
    TimeAxis,
    date_label,
    playback_frame,
    playback_range,
    sidebar,
    subtype_options,
)
from dashboard.components.crossing import bcp_path, search_box, search_options
from dashboard.components.detail import detail_panel
from dashboard.components.feed import feed_items
from dashboard.components.hotspots import (
    analysis_status,
    hotspot_hideout,
    hotspot_layer,
    hotspot_legend,
    job_message,
)
from dashboard.components.layers import (
    HEX_CAP,
    bcp_badges,
    bcp_hideout,
    collection,
    density_breaks,
    hex_hideout,
    hex_layer,
    hidden_counts,
    incident_clusters,
    incident_points,
    new_points,
    selection_point,
)
from dashboard.components.legend import hotspot_scale
from dashboard.components.situation_map import reference_url, situation_map
from dashboard.errors import ClientError
from dashboard.ids import PageIds
from dashboard.inputs import (
    MAX_ID,
    AxisData,
    BcpCode,
    Bounds,
    Center,
    ClickedFeature,
    Clicks,
    Codes,
    Counter,
    DaySpan,
    FiltersData,
    Hideout,
    HotspotMode,
    Id,
    Names,
    RefreshData,
    Selected,
    Step,
    SubtypeMap,
    Text,
    Zoom,
)
from dashboard.queries import gateway, incidents, reference
from dashboard.queries import hotspots as hotspot_queries
from dashboard.queries.incidents import BBox
from dashboard.routes import LAYER_PREFIX
from dashboard.viewstate import LAYERS, MAX_ZOOM, MIN_ZOOM, CrossingView, Filters, ViewState, parse_query
from etl.errors import BorderwatchError

dash.register_page(__name__, path="/", name="Situation map", title="Situation map · borderwatch", order=0)

ids = PageIds("situation")
EMPTY = collection([])
DETAIL_ZOOM = 9


def _layer_urls(filters: Filters, zoom: int) -> dict[str, str]:
    base = dash.get_relative_path(LAYER_PREFIX)
    return {
        "basemap": f"{base}/basemap.geojson?detail={int(zoom >= DETAIL_ZOOM)}",
        **{
            key: reference_url(f"{base}/{key}.geojson", filters.pairs, filters.countries)
            for key in ("sections", "bcps", "patrol")
        },
    }


def layout(**query: Any) -> html.Div:
    """The page for the view state in the URL query (``?from=...&cat=...&z=...``)."""
    warehouse = gateway.current()
    settings = warehouse.settings
    today = datetime.now(UTC).date()
    problem = None
    try:
        ext = incidents.extent(warehouse.engine)
        subtypes = incidents.subtypes(warehouse.engine)
        countries = reference.country_options(warehouse.engine)
        pairs = reference.pair_options(warehouse.engine)
        crossings = search_options(reference.bcps(warehouse.engine))
    except BorderwatchError as exc:
        problem = exc.user_message
        ext, subtypes, countries, pairs, crossings = incidents.Extent(None, None, 0), {}, [], [], []
    state, ignored = parse_query(query, today=today, data_end=ext.last)
    f = state.filters
    base = min(ext.first or today - timedelta(days=365), f.date_from)
    end = max(today, ext.last or today, f.date_to)
    axis = TimeAxis(base=base, days=(end - base).days)
    notices = [problem] if problem else []
    if ignored:
        notices.append("Ignored unreadable link parameters: " + ", ".join(ignored) + ".")
    return html.Div(
        [
            dcc.Store(id=ids("axis"), data=axis.to_dict()),
            dcc.Store(id=ids("filters"), data=f.to_dict()),
            dcc.Store(id=ids("subtypes"), data=subtypes),
            dcc.Store(id=ids("refresh"), data={"watermark": ext.max_id, "new_ids": []}),
            dcc.Store(
                id=ids("selected"), data={"id": state.selected, "src": "url"} if state.selected else None
            ),
            dcc.Store(id=ids("query"), data=state.to_query()),
            dcc.Store(id=ids("sink-url")),
            dcc.Location(id=ids("go"), refresh="callback-nav"),
            dcc.Store(id=ids("sink-feed")),
            dcc.Interval(
                id=ids("refresh-timer"), interval=settings.refresh_interval_s * 1000, disabled=not state.live
            ),
            dcc.Interval(id=ids("play-timer"), interval=1500, disabled=True),
            dcc.Store(id=ids("play-range")),
            *[html.Div(text, className="bw-alert", role="status") for text in notices],
            html.Div(
                [
                    sidebar(ids, state, axis, subtypes, countries, pairs, settings.refresh_interval_s,
                            search=search_box(ids("search"), crossings)),
                    situation_map(
                        ids, state, _layer_urls(f, state.zoom), settings.tile_url, settings.tile_attribution,
                        can_recompute=gateway.scope().can("hotspots.recompute"),
                    ),
                ],
                className="bw-situation",
            ),
        ],
        className="bw-page",
    )


# -- filters --------------------------------------------------------------------------------


@callback(
    Output(ids("filters"), "data"),
    Output(ids("dates"), "children"),
    Input(ids("slider"), "value"),
    Input(ids("cat"), "value"),
    Input(ids("sub"), "value"),
    Input(ids("country"), "value"),
    Input(ids("pair"), "value"),
    State(ids("axis"), "data"),
    prevent_initial_call=True,
)
def compose_filters(
    span: DaySpan,
    cats: Codes | None,
    subs: Codes | None,
    countries: Codes | None,
    pairs: Codes | None,
    axis_data: AxisData,
) -> tuple[dict[str, Any], str]:
    """The filter controls -> one validated filters store."""
    axis = TimeAxis.from_dict(axis_data)
    raw: dict[str, object] = {
        "from": axis.day(span[0]).isoformat(),
        "to": axis.day(span[1]).isoformat(),
        "cat": cats or [],
        "sub": subs or [],
        "country": countries or [],
        "pair": pairs or [],
    }
    filters = Filters.from_dict(raw)
    return filters.to_dict(), date_label(filters.date_from, filters.date_to)


@callback(
    Output(ids("sub"), "options"),
    Output(ids("sub"), "value"),
    Input(ids("cat"), "value"),
    State(ids("subtypes"), "data"),
    State(ids("sub"), "value"),
    prevent_initial_call=True,
)
def restrict_subtypes(
    cats: Codes | None, mapping: SubtypeMap | None, chosen: Codes | None
) -> tuple[list[dict[str, str]], Any]:
    """Offer only the subtypes of the chosen categories."""
    options = subtype_options(mapping or {}, cats)
    allowed = {o["value"] for o in options}
    kept = [s for s in chosen or [] if s in allowed]
    return options, kept if kept != (chosen or []) else no_update


@callback(
    Output(ids("sections"), "url"),
    Output(ids("bcps"), "url"),
    Output(ids("patrol"), "url"),
    Input(ids("filters"), "data"),
    State(ids("map"), "zoom"),
    prevent_initial_call=True,
)
def reference_urls(filters: FiltersData | None, zoom: Zoom | None) -> tuple[str, str, str]:
    """Restrict the reference layers to the chosen borders and countries."""
    urls = _layer_urls(Filters.from_dict(filters or {}), int(zoom or 0))
    return urls["sections"], urls["bcps"], urls["patrol"]


@callback(
    Output(ids("basemap"), "url"),
    Output(ids("bcps"), "hideout"),
    Input(ids("map"), "zoom"),
    State(ids("basemap"), "url"),
    State(ids("bcps"), "hideout"),
    prevent_initial_call=True,
)
def zoom_styles(zoom: Zoom | None, basemap_url: Text | None, bcp_style: Hideout | None) -> tuple[Any, Any]:
    """Finer basemap when zoomed in; BCP glyphs only from ``BCP_GLYPH_ZOOM`` on."""
    level = int(zoom or 0)
    wanted_url = _layer_urls(Filters.from_dict({}), level)["basemap"]
    wanted_style = bcp_hideout("bw-bcps", level)
    return (
        wanted_url if wanted_url != basemap_url else no_update,
        wanted_style if wanted_style != bcp_style else no_update,
    )


# -- to a crossing's page -------------------------------------------------------------------


@callback(
    Output(ids("go"), "href"),
    Input(ids("bcps"), "clickData"),
    Input(ids("search"), "value"),
    State(ids("filters"), "data"),
    prevent_initial_call=True,
)
def open_crossing(
    clicked: ClickedFeature | None, chosen: BcpCode | None, filters: FiltersData | None
) -> str:
    """A click on a BCP, or a crossing chosen in the search box, opens its page (same period
    and filters)."""
    code: object
    if ctx.triggered_id == ids("search"):
        code = chosen
    else:
        props = clicked.get("properties") if isinstance(clicked, dict) else None
        code = props.get("code") if isinstance(props, dict) else None
    if not isinstance(code, str) or not code:
        raise PreventUpdate
    view = CrossingView(filters=Filters.from_dict(filters or {}))
    return bcp_path(code[:40], view.to_query())


# -- incidents and hotspots ---------------------------------------------------------------


def _visible(overlays: list[str] | None, key: str) -> bool:
    return LAYERS[key] in (overlays or [])


@callback(
    Output(ids("points"), "data"),
    Output(ids("clusters"), "data"),
    Output(ids("badges"), "data"),
    Output(ids("in-view"), "children"),
    Input(ids("filters"), "data"),
    Input(ids("map"), "bounds"),
    Input(ids("map"), "zoom"),
    Input(ids("layers"), "overlays"),
    Input(ids("refresh"), "data"),
)
def update_incidents(
    filters: FiltersData | None, bounds: Bounds | None, zoom: Zoom | None, overlays: Names | None,
    _: RefreshData | None,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], str]:
    """Raw points (clustered in the browser) or server-side clusters for the viewport; with
    points, the incidents placed at a BCP as a count on it."""
    if not _visible(overlays, "incidents"):
        return EMPTY, EMPTY, EMPTY, "—"
    box = BBox.from_leaflet(bounds)
    if box is None or zoom is None:
        raise PreventUpdate
    warehouse = gateway.current()
    layer = incidents.incident_layer(
        warehouse.engine,
        Filters.from_dict(filters or {}),
        box,
        int(zoom),
        warehouse.settings.max_map_features,
    )
    counted = hidden_counts(layer.hidden)["features"]
    if layer.mode == "points":
        return (incident_points(layer.rows), collection(counted), bcp_badges(layer.badges),
                f"{layer.in_view:,}")
    return (EMPTY, collection(incident_clusters(layer.rows)["features"] + counted), EMPTY,
            f"{layer.in_view:,}")


@callback(
    Output(ids("density"), "data"),
    Output(ids("density"), "hideout"),
    Output(ids("legend-density"), "children"),
    Input(ids("filters"), "data"),
    Input(ids("map"), "bounds"),
    Input(ids("map"), "zoom"),
    Input(ids("layers"), "overlays"),
    Input(ids("refresh"), "data"),
)
def update_density(
    filters: FiltersData | None, bounds: Bounds | None, zoom: Zoom | None, overlays: Names | None,
    _: RefreshData | None,
) -> tuple[dict[str, Any], dict[str, Any], list[Any]]:
    """Incident density per H3 cell (resolution by zoom) in the viewport."""
    if not _visible(overlays, "density"):
        return EMPTY, hex_hideout([]), [html.Li("Layer hidden", className="bw-legend-empty")]
    box = BBox.from_leaflet(bounds)
    if box is None or zoom is None:
        raise PreventUpdate
    warehouse = gateway.current()
    resolution = incidents.hex_resolution(int(zoom))
    cells = incidents.hex_counts(
        warehouse.engine,
        Filters.from_dict(filters or {}),
        box.padded(0.1),
        resolution,
        min(warehouse.settings.max_map_features, HEX_CAP),
    )
    breaks = density_breaks([n for _, n in cells])
    return hex_layer(cells, breaks), hex_hideout(breaks), hotspot_scale(breaks, resolution)


@callback(
    Output(ids("gistar"), "data"),
    Output(ids("gistar"), "hideout"),
    Output(ids("legend-gistar"), "children"),
    Output(ids("hotspot-status"), "children"),
    Input(ids("map"), "bounds"),
    Input(ids("layers"), "overlays"),
    Input(ids("hotspot-mode"), "value"),
    Input(ids("refresh"), "data"),
    Input(ids("hotspot-version"), "data"),
)
def update_gistar(
    bounds: Bounds | None, overlays: Names | None, mode: HotspotMode | None, _: RefreshData | None,
    _version: Id | None,
) -> tuple[dict[str, Any], dict[str, Any], list[Any], str]:
    """The cells of the current hotspot analysis in view, coloured by Gi* class or pattern."""
    mode = mode or "class"
    if not _visible(overlays, "hotspots"):
        hidden = [html.Li("Layer hidden", className="bw-legend-empty")]
        return EMPTY, hotspot_hideout(mode), hidden, ""
    box = BBox.from_leaflet(bounds)
    if box is None:
        raise PreventUpdate
    warehouse = gateway.current()
    analysis, rows = hotspot_queries.significant_cells(
        warehouse.engine, box, min(warehouse.settings.max_map_features, HEX_CAP))
    layer = hotspot_layer(rows, warehouse.settings.hotspot_min_count_shown)
    status = analysis_status(analysis, withheld=hotspot_queries.cells_withheld(analysis))
    return layer, hotspot_hideout(mode), hotspot_legend(mode, rows), status


@callback(
    Output(ids("hotspot-poll"), "disabled"),
    Output(ids("hotspot-job"), "children"),
    Output(ids("hotspot-since"), "data"),
    Input(ids("hotspot-recompute"), "n_clicks"),
    prevent_initial_call=True,
)
def recompute_hotspots(clicks: Counter | None) -> tuple[bool, str, int]:
    """Start ``borderwatch analyse hotspots`` for the current analysis' resolution and
    categories (the default, latest period); the poll follows it. Administrators and regional
    analysts only (403 otherwise, whatever the page showed); audited."""
    gateway.require("hotspots.recompute")
    if not clicks:
        raise PreventUpdate
    warehouse = gateway.current()
    run = hotspot_queries.latest_run(warehouse.engine)
    since = run.run_id if run is not None else 0
    if run is not None and run.status == "running":
        _audit_recompute(started=False, since=since)
        return False, job_message("busy"), since - 1
    analysis = hotspot_queries.current(warehouse.engine)
    started = recompute.start(
        flask.current_app, warehouse.settings, analysis.resolution if analysis else None,
        analysis.categories if analysis else ())
    _audit_recompute(started=started, since=since)
    return False, job_message("running" if started else "busy"), since


def _audit_recompute(started: bool, since: int) -> None:
    """Who asked for a recompute, and whether one started (False: one was already running)."""
    auth.record("hotspots_recompute", target="borderwatch analyse hotspots",
                detail={"started": started, "after_run": since})


@callback(
    Output(ids("hotspot-poll"), "disabled", allow_duplicate=True),
    Output(ids("hotspot-job"), "children", allow_duplicate=True),
    Output(ids("hotspot-version"), "data"),
    Input(ids("hotspot-poll"), "n_intervals"),
    State(ids("hotspot-since"), "data"),
    prevent_initial_call=True,
)
def follow_recompute(ticks: Counter | None, since: Id | None) -> tuple[Any, str, Any]:
    """While the job runs, say so; then show its outcome and redraw the layer. The job is done
    when a hotspots run newer than ``since`` (the newest at the click) has finished, or, if
    this server's child failed before recording a run, when the child has exited."""
    job = recompute.state(flask.current_app)
    run = hotspot_queries.latest_run(gateway.current().engine)
    newer = run is not None and run.run_id > (since or 0)
    code = job.child.returncode if job.child is not None and not job.running() else None
    if newer and run is not None and run.status != "running":
        if run.status == "failed":
            return True, job_message("failed", run.message), no_update
        return True, job_message("done"), run.run_id
    if code not in (None, 0) and not newer:
        return True, job_message("failed"), no_update
    if ticks is not None and ticks > 300:  # 10 minutes: stop polling
        return True, job_message("failed", "no answer after 10 minutes"), no_update
    return no_update, job_message("running"), no_update


@callback(
    Output(ids("feed"), "children"),
    Output(ids("total"), "children"),
    Input(ids("filters"), "data"),
    Input(ids("refresh"), "data"),
)
def update_feed(filters: FiltersData | None, refresh: RefreshData | None) -> tuple[list[Any], str]:
    """The newest incidents matching the filters, and how many match in total."""
    engine = gateway.current().engine
    parsed = Filters.from_dict(filters or {})
    rows = incidents.feed(engine, parsed)
    items: list[Any] = feed_items(
        rows, lambda pk: ids.match("feed-item", pk), frozenset(refresh["new_ids"] if refresh else [])
    )
    if not items:
        only_counts = not gateway.scope().sees_single_incidents
        items = [html.P("Your role sees incidents as counts only (no list)." if only_counts
                        else "No incidents match the filters.", className="bw-muted")]
    return items, f"{incidents.count(engine, parsed):,}"


# -- coordination-centre mode -------------------------------------------------------------


@callback(
    Output(ids("refresh-timer"), "disabled"),
    Input(ids("live"), "value"),
    prevent_initial_call=True,
)
def toggle_live(value: Names | None) -> bool:
    """Auto-refresh runs only in live mode."""
    return "live" not in (value or [])


@callback(
    Output(ids("refresh"), "data"),
    Output(ids("new"), "data"),
    Output(ids("new-count"), "children"),
    Output(ids("new-count"), "className"),
    Output(ids("refreshed"), "children"),
    Input(ids("refresh-timer"), "n_intervals"),
    Input(ids("new-clear"), "n_clicks"),
    State(ids("refresh"), "data"),
    State(ids("filters"), "data"),
    prevent_initial_call=True,
)
def refresh(
    _ticks: Counter | None, _clear: Counter | None, current: RefreshData | None, filters: FiltersData | None
) -> tuple[Any, ...]:
    """Look for incidents loaded since the last refresh; highlight and count them."""
    current = current or {"watermark": 0, "new_ids": []}
    zero = ("0 new", "bw-new-counter is-zero")
    if ctx.triggered_id == ids("new-clear"):
        return {**current, "new_ids": []}, EMPTY, *zero, no_update
    found = incidents.new_since(
        gateway.current().engine, Filters.from_dict(filters or {}), int(current.get("watermark") or 0)
    )
    stamp = datetime.now(UTC).strftime("%H:%M:%S UTC")
    if found.max_id <= int(current.get("watermark") or 0):
        return no_update, no_update, no_update, no_update, f"checked {stamp}"
    if found.count == 0:
        return ({**current, "watermark": found.max_id}, no_update, no_update, no_update, f"checked {stamp}")
    store = {"watermark": found.max_id, "new_ids": [int(r["id"]) for r in found.rows]}
    counter = f"{found.count:,} new"
    return store, new_points(found.rows), counter, "bw-new-counter", f"updated {stamp}"


# -- time playback ------------------------------------------------------------------------


@callback(
    Output(ids("slider"), "value"),
    Output(ids("play-timer"), "disabled"),
    Output(ids("play"), "children"),
    Output(ids("play-range"), "data"),
    Input(ids("play"), "n_clicks"),
    Input(ids("play-timer"), "n_intervals"),
    State(ids("slider"), "value"),
    State(ids("step"), "value"),
    State(ids("play-timer"), "disabled"),
    State(ids("axis"), "data"),
    State(ids("play-range"), "data"),
    prevent_initial_call=True,
)
def playback(
    _clicks: Counter | None, _ticks: Counter | None, span: DaySpan, step: Step, paused: bool | None,
    axis_data: AxisData, chosen: DaySpan | None,
) -> tuple[Any, bool, str, Any]:
    """Play: step a window of a day or a week through the chosen range (the whole axis when
    the range is one frame); Pause, or the last frame, gives the chosen range back."""
    axis = TimeAxis.from_dict(axis_data)
    stopped = ("▶ Play", None)
    if ctx.triggered_id == ids("play"):
        if not paused:
            return (chosen or no_update), True, *stopped
        frame, _ = playback_frame(span, step, playback_range(span, step, axis.days), start=True)
        return frame, False, "❚❚ Pause", span
    if paused:
        raise PreventUpdate
    original = chosen or span
    frame, done = playback_frame(span, step, playback_range(original, step, axis.days), start=False)
    if done:
        return original, True, *stopped
    return frame, False, "❚❚ Pause", no_update


# -- selection: map <-> feed <-> details ------------------------------------------------------


@callback(
    Output(ids("selected"), "data"),
    Input(ids("points"), "clickData"),
    Input(ids("new"), "clickData"),
    Input({"type": ids("feed-item"), "index": ALL}, "n_clicks"),
    Input(ids("detail-close"), "n_clicks"),
    prevent_initial_call=True,
)
def select(
    point: ClickedFeature | None, new: ClickedFeature | None, _feed: Clicks, _close: Counter | None
) -> dict[str, Any] | None:
    """One selected incident, from a click on the map or in the feed (None when closed)."""
    trigger = ctx.triggered_id
    if trigger == ids("detail-close"):
        return None
    if isinstance(trigger, dict):
        index = trigger.get("index")
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index <= MAX_ID:
            raise ClientError("Invalid value for 'situation-feed-item'.", f"index {str(index)[:40]}")
        if not ctx.triggered[0]["value"]:
            raise PreventUpdate
        return {"id": index, "src": "feed"}
    feature = point if trigger == ids("points") else new
    props = (feature.get("properties") if feature else None) or {}
    pk = props.get("id")
    if props.get("cluster") or pk is None:
        raise PreventUpdate
    return {"id": pk, "src": "map"}


@callback(
    Output(ids("detail-body"), "children"),
    Output(ids("detail"), "hidden"),
    Output(ids("selection"), "data"),
    Input(ids("selected"), "data"),
)
def show_detail(selected: Selected | None) -> tuple[list[Any], bool, dict[str, Any]]:
    """Every field of the selected incident, and its ring on the map."""
    pk = selected["id"] if selected else None
    if pk is None:
        return [], True, EMPTY
    record = incidents.detail(gateway.current().engine, pk)
    marker = selection_point(record["lon"], record["lat"]) if record else EMPTY
    return detail_panel(record), False, marker


clientside_callback(
    ClientsideFunction(namespace="borderwatch", function_name="flyTo"),
    Output(ids("map"), "viewport"),
    Input(ids("selection"), "data"),
    Input(ids("clusters"), "clickData"),
    State(ids("selected"), "data"),
    State(ids("map"), "zoom"),
    prevent_initial_call=True,
)

@callback(
    Output(ids("map"), "viewport", allow_duplicate=True),
    Input(ids("pair"), "value"),
    Input(ids("country"), "value"),
    prevent_initial_call=True,
)
def fit_selection(pairs: Codes | None, countries: Codes | None) -> Any:
    """Fly to the chosen border pairs (or, without pairs, the chosen countries).

    Only a user change of a dropdown moves the map (no initial call: a link keeps its centre
    and zoom). A country change while pairs are chosen leaves the map alone, as pairs win.
    """
    chosen = Filters.from_dict({"pair": pairs or [], "country": countries or []})
    if ctx.triggered_id == ids("country") and chosen.pairs:
        return no_update
    bounds = reference.selection_bounds(
        gateway.current().engine, pairs=chosen.pairs, countries=chosen.countries
    )
    if bounds is None:
        return no_update
    return {"bounds": bounds, "transition": "flyToBounds", "options": {"padding": [24, 24]}}


clientside_callback(
    ClientsideFunction(namespace="borderwatch", function_name="legendOpen"),
    Output(ids("legend"), "open"),
    Input(ids("legend"), "id"),
)

clientside_callback(
    ClientsideFunction(namespace="borderwatch", function_name="markFeed"),
    Output(ids("sink-feed"), "data"),
    Input(ids("selected"), "data"),
    Input(ids("feed"), "children"),
)


# -- the view state in the URL -------------------------------------------------------------


def _center(center: Any) -> tuple[float, float] | None:
    """``(lat, lon)`` of a Leaflet centre, the longitude wrapped into -180..180 (Leaflet counts
    on past 180 when the map is panned around the world)."""
    if isinstance(center, dict) and "lat" in center:
        lat, lon = float(center["lat"]), float(center.get("lng", center.get("lon")) or 0.0)
    elif isinstance(center, list | tuple) and len(center) == 2:
        lat, lon = float(center[0]), float(center[1])
    else:
        return None
    return max(-85.0, min(85.0, lat)), (lon + 180.0) % 360.0 - 180.0


@callback(
    Output(ids("query"), "data"),
    Input(ids("filters"), "data"),
    Input(ids("map"), "center"),
    Input(ids("map"), "zoom"),
    Input(ids("layers"), "overlays"),
    Input(ids("live"), "value"),
    Input(ids("selected"), "data"),
    prevent_initial_call=True,
)
def view_query(
    filters: FiltersData | None,
    center: Center | None,
    zoom: Zoom | None,
    overlays: Names | None,
    live: Names | None,
    selected: Selected | None,
) -> str:
    """The canonical URL query of the current view."""
    names = set(overlays or [])
    state = ViewState(
        filters=Filters.from_dict(filters or {}),
        layers=tuple(k for k, name in LAYERS.items() if name in names),
        live="live" in (live or []),
        selected=selected["id"] if selected else None,
    )
    point = _center(center)
    if point is not None:
        state = replace(state, lat=point[0], lon=point[1])
    if zoom is not None:
        state = replace(state, zoom=max(MIN_ZOOM, min(MAX_ZOOM, int(zoom))))
    return state.to_query()


clientside_callback(
    ClientsideFunction(namespace="borderwatch", function_name="writeUrl"),
    Output(ids("sink-url"), "data"),
    Input(ids("query"), "data"),
)
