"""The crossing page (path ``/bcp/<code>``): one BCP's flows, waiting times, the two sides'
counts side by side, incidents near it, and its peers.

Reached by clicking a BCP on the situation map, from the search box, or by URL. The period and
the choices are in the URL (``dashboard.viewstate.CrossingView``). Callbacks stay thin: read
the view, call one function of ``dashboard.crossing`` (query + analysis), hand the result to a
pure builder (``dashboard.components.charts``, ``dashboard.components.crossing``) and return.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import dash
import pandas as pd
from dash import ClientsideFunction, Input, Output, State, callback, clientside_callback, dcc, html
from dash.exceptions import PreventUpdate

from dashboard import crossing as tables
from dashboard.components import charts
from dashboard.components import crossing as parts
from dashboard.components.crossing_page import (
    controls,
    country_names,
    direction_titles,
    sections,
    skeleton,
)
from dashboard.components.layers import incident_points
from dashboard.crossing_exports import csv_href
from dashboard.ids import PageIds
from dashboard.inputs import (
    BcpCode,
    Codes,
    CrossingState,
    DateText,
    FlowChoice,
    NearScope,
    Search,
    Side,
    TypedNumber,
    WaitChoice,
)
from dashboard.queries import gateway, reference
from dashboard.queries.crossing import LIST_ROWS, header
from dashboard.routes import LAYER_PREFIX
from dashboard.viewstate import (
    CROSSING_PARAMETERS,
    CrossingView,
    ViewState,
    parse_crossing_query,
)
from etl.errors import BorderwatchError

ids = PageIds("bcp")
CODE_CHARS = 40


def _title(code: str | None = None, **_: Any) -> str:
    return f"{(code or 'Crossing')[:CODE_CHARS]} · borderwatch"


dash.register_page(__name__, path_template="/bcp/<code>", name="Crossing", title=_title,
                   order=1, nav=False)


def _view(state: CrossingState | None) -> tuple[str, CrossingView]:
    """The BCP code and view in the state store (its type is checked at the door; the values
    are read again like a link's)."""
    if not state:
        raise PreventUpdate
    data: dict[str, object] = dict(state)
    code = str(data.get("code", ""))[:CODE_CHARS]
    if not code:
        raise PreventUpdate
    view, _ = parse_crossing_query({k: data[k] for k in CROSSING_PARAMETERS if k in data},
                                   today=datetime.now(UTC).date(),
                                   radius_km=gateway.current().settings.near_radius_km)
    return code, view


def _header(code: str) -> dict[str, Any]:
    head = header(gateway.current().engine, code)
    if head is None:
        raise PreventUpdate
    return head


def layout(code: str | None = None, **query: Any) -> html.Div:
    """The page of the BCP ``code`` for the view in the URL query."""
    if code is None:  # Dash's callback validation; a real path always has a code
        return skeleton(ids, datetime.now(UTC).date(), dash.get_relative_path(LAYER_PREFIX))
    code = (code or "").strip().upper()[:CODE_CHARS]
    warehouse = gateway.current()
    settings = warehouse.settings
    try:
        head = header(warehouse.engine, code) if code else None
        options = parts.search_options(reference.bcps(warehouse.engine))
    except BorderwatchError as exc:
        return html.Div(html.Div(exc.user_message, className="bw-alert", role="status"),
                        className="bw-crossing")
    if head is None:
        return html.Div([dcc.Location(id=ids("go"), refresh="callback-nav"),
                         dcc.Store(id=ids("query"), data=""),
                         parts.not_found(code, options, ids("search"))], className="bw-crossing")
    today = datetime.now(UTC).date()
    last_flow = tables.last_flow_day(head)
    view, ignored = parse_crossing_query(query, today=today, data_end=last_flow,
                                         radius_km=settings.near_radius_km)
    first_day = min([s["first"] for s in head["flow_sides"]] + [view.filters.date_from,
                                                                 today - timedelta(days=3 * 366)])
    last_day = max(today, last_flow or today, view.filters.date_to)
    map_view = ViewState(filters=view.filters, lat=head["lat"], lon=head["lon"], zoom=12)
    notices = ([html.Div("Ignored unreadable link parameters: " + ", ".join(ignored) + ".",
                         className="bw-alert", role="status")] if ignored else [])
    state = {"code": code, **view.to_dict()}
    return html.Div([
        dcc.Location(id=ids("go"), refresh="callback-nav"),
        dcc.Store(id=ids("state"), data=state),
        dcc.Store(id=ids("query"), data=view.to_query()),
        dcc.Store(id=ids("sink-url")),
        *notices,
        html.Div([html.Span("Crossing point", className="bw-field-label"),
                  parts.search_box(ids("search"), options)], className="bw-crossing-search"),
        parts.header_panel(head, "/" + map_view.to_query(),
                           lambda c: parts.bcp_path(c, view.to_query())),
        controls(ids, head, view, first_day, last_day),
        *sections(ids, head, view, settings.anomaly_z, dash.get_relative_path(LAYER_PREFIX)),
    ], className="bw-crossing")


# --------------------------------------------------------------------------------- callbacks


@callback(
    Output(ids("state"), "data"),
    Output(ids("query"), "data"),
    Input(ids("period"), "start_date"),
    Input(ids("period"), "end_date"),
    Input(ids("side"), "value"),
    Input(ids("flow"), "value"),
    Input(ids("wait"), "value"),
    Input(ids("cat"), "value"),
    Input(ids("radius"), "value"),
    Input(ids("near"), "value"),
    State(ids("state"), "data"),
    prevent_initial_call=True,
)
def compose_view(
    start: DateText | None, end: DateText | None, side: Side | None, flow: FlowChoice | None,
    wait: WaitChoice | None, cats: Codes | None, radius: TypedNumber | None, near: NearScope | None,
    state: CrossingState | None,
) -> tuple[dict[str, Any], str]:
    """The page's controls -> one validated view (and its URL)."""
    code, current = _view(state)
    raw: dict[str, object] = {**current.to_dict(), "from": (start or "")[:10], "to": (end or "")[:10],
                              "cat": cats or [], "side": side or "", "flow": flow or "",
                              "wait": wait or "", "near": near or ""}
    if radius is not None:
        raw["r"] = radius
    raw = {k: v for k, v in raw.items() if v not in ("", None)}
    view, _ = parse_crossing_query(raw, today=datetime.now(UTC).date(),
                                   radius_km=current.radius_km)
    return {"code": code, **view.to_dict()}, view.to_query()


def _csv_links(code: str, view: CrossingView, *names: tuple[str, str]) -> list[html.A]:
    return [parts.csv_link(csv_href(code, name, view), label, ids(f"csv-{name}"))
            for name, label in names]


@callback(
    Output(ids("flows-graph"), "figure"),
    Output(ids("flows-table"), "children"),
    Output(ids("flows-csv"), "children"),
    Input(ids("state"), "data"),
)
def show_flows(state: CrossingState | None) -> tuple[Any, Any, Any]:
    """Daily counts of the chosen traffic, with baseline and anomaly flags."""
    code, view = _view(state)
    head = _header(code)
    settings = gateway.current().settings
    side = tables.side_of(head, view)
    table = tables.flows_table(gateway.current().engine, settings, head, view, (view.flow,))
    figure = charts.flows_figure(table, view.flow, direction_titles(head, side))
    flagged = table[table["flagged"].astype(bool)].sort_values("date")
    listed = parts.data_table(flagged, [("date", "Day", "date"), ("direction", "Direction", "text"),
                                        ("count", "Count", "int"), ("baseline", "Baseline", "int"),
                                        ("z", "Robust z", "z")],
                              empty=f"No {view.flow} day of the period is flagged.")
    links = _csv_links(code, view, ("flows", f"daily flows as {side} counted (every category)"))
    return figure, listed, links


@callback(
    Output(ids("waits-graph"), "figure"),
    Output(ids("waits-table"), "children"),
    Output(ids("waits-csv"), "children"),
    Input(ids("state"), "data"),
)
def show_waits(state: CrossingState | None) -> tuple[Any, Any, Any]:
    """Waiting times of the chosen vehicles against the Green Lanes bands."""
    code, view = _view(state)
    head = _header(code)
    side = tables.side_of(head, view)
    days = tables.waits_table(gateway.current().engine, head, view, (view.wait,))
    figure = charts.waits_figure(days, direction_titles(head, side))
    shares = tables.band_table(days)
    listed = parts.data_table(shares, [("direction", "Direction", "text"), ("band", "Band", "text"),
                                       ("days", "Days", "int"), ("share_pct", "Share", "share")],
                              empty=f"No waiting times of {view.wait} reported in this period.")
    links = _csv_links(code, view, ("waits", "daily waits (every vehicle category)"),
                       ("wait-bands", "share of days per band"))
    return figure, listed, links


@callback(
    Output(ids("mirror-note"), "children"),
    Output(ids("mirror-graph"), "figure"),
    Output(ids("mirror-table"), "children"),
    Output(ids("mirror-csv"), "children"),
    Input(ids("state"), "data"),
)
def show_mirror(state: CrossingState | None) -> tuple[Any, Any, Any, Any]:
    """One side's exits against the other side's entries."""
    code, view = _view(state)
    head = _header(code)
    settings = gateway.current().settings
    result = tables.mirror_result(gateway.current().engine, settings, head, view, (view.flow,))
    names = country_names(head)
    links = _csv_links(code, view, ("mirror", "both sides day by day (every category)"))
    if not result.comparable:
        silent = " and ".join(names[c] for c in result.silent)
        note = html.P(f"{silent} shares no data for this crossing in this period: there is "
                      "nothing to reconcile (no zeros are shown for a side that does not report).",
                      className="bw-note-strong")
        return note, charts.empty_figure(f"{silent} shares no data."), None, links
    rule = (f"Flagged: the arriving side's count differs from the leaving side's by at least "
            f"{settings.mirror_gap_pct:g} % and {settings.mirror_min_gap:,} "
            f"{'persons' if view.flow == 'persons' else 'vehicles'}.")
    flagged = result.table[result.table["flagged"]].sort_values("date")
    flagged = flagged.assign(way=[f"{names[a]} → {names[b]}" for a, b in
                                  zip(flagged["from_country"], flagged["to_country"], strict=True)])
    listed = parts.data_table(flagged, [("date", "Day", "date"), ("way", "Way across", "text"),
                                        ("exit_count", "Counted leaving", "int"),
                                        ("entry_count", "Counted arriving", "int"),
                                        ("gap", "Gap", "int"), ("gap_pct", "Gap %", "pct")],
                              empty=f"No {view.flow} day of the period is past the threshold.")
    figure = charts.mirror_figure(result.table, view.flow, names)
    return html.P(rule, className="bw-muted"), figure, listed, links


def _map_link(row: dict[str, Any], view: CrossingView) -> str:
    day = row["occurred_at"].date() if isinstance(row["occurred_at"], datetime) else view.filters.date_to
    filters = view.filters
    if not filters.date_from <= day <= filters.date_to:
        filters = type(filters)(date_from=day, date_to=day)
    state = ViewState(filters=filters, lat=float(row["lat"]), lon=float(row["lon"]), zoom=13,
                      selected=int(row["id"]))
    return "/" + state.to_query()


@callback(
    Output(ids("points"), "data"),
    Output(ids("circle"), "radius"),
    Output(ids("incidents-total"), "children"),
    Output(ids("incidents-graph"), "figure"),
    Output(ids("incidents-table"), "children"),
    Output(ids("incidents-csv"), "children"),
    Input(ids("state"), "data"),
)
def show_incidents(state: CrossingState | None) -> tuple[Any, ...]:
    """Incidents near the crossing: small map, weekly counts by subtype, the list (those the
    user may see one by one: see ``dashboard.queries.crossing``)."""
    code, view = _view(state)
    head = _header(code)
    scope = tables.near(head, view)
    radius = view.radius_km * 1000.0 if scope.scope == "radius" else 0.0
    user = gateway.scope()
    if not user.sees_single_incidents:
        note = html.P(parts.COUNTS_ONLY, className="bw-note-strong")
        return (incident_points([]), radius, "Incident reports: counts only for your role",
                charts.empty_figure("Not shown to your role."), note, None)
    found = tables.incidents(gateway.current().engine, head, view)
    where = (f"within {view.radius_km:g} km" if scope.scope == "radius"
             else f"on border section {scope.section_id}")
    if user.restricted:
        where += " that your service may see (its own and those shared with it)"
    rows = pd.DataFrame(found.rows)
    columns = [("occurred_at", "When (UTC)", "time"), ("category", "Category", "label"),
               ("subtype", "Subtype", "text"), ("persons", "Persons", "int"),
               ("detection", "Detection", "text"), ("distance_km", "km", "num"),
               ("at_bcp", "At the BCP", "bool"), ("incident_id", "Report", "text")]

    def cell(col: str, text: str, row: dict[str, Any]) -> Any:
        if col == "incident_id":
            return dcc.Link(text, href=_map_link(row, view), title="Open on the situation map")
        return text

    listed = parts.data_table(rows, columns, empty=f"No incident {where} in this period.",
                              rows=LIST_ROWS, cell=cell)
    links = _csv_links(code, view, ("incidents", "incidents (all, newest first)"),
                       ("incidents-weekly", "incidents per week and subtype"))
    noun = "incident" if found.total == 1 else "incidents"
    return (incident_points(found.points), radius, f"{found.total:,} {noun} {where}",
            charts.incidents_figure(found.weekly), listed, links)


@callback(
    Output(ids("risk-graph"), "figure"),
    Output(ids("risk-table"), "children"),
    Output(ids("risk-csv"), "children"),
    Input(ids("state"), "data"),
)
def show_risk(state: CrossingState | None) -> tuple[Any, Any, Any]:
    """Detections per 10,000 crossings against the average wait, with the peers."""
    code, view = _view(state)
    head = _header(code)
    if not gateway.scope().sees_single_incidents:
        return (charts.empty_figure("Not shown to your role."),
                html.P(parts.COUNTS_ONLY, className="bw-note-strong"), None)
    peers = tables.risk_result(gateway.current().engine, head, view)
    detections = ("Detections you may see (own and shared)" if gateway.scope().restricted
                  else "Detections")
    listed = parts.data_table(peers.table, [("name", "Crossing", "text"),
                                            ("detections", detections, "int"),
                                            ("crossings", "Crossings (persons)", "int"),
                                            ("per_10k", "Per 10,000", "rate"),
                                            ("wait_avg_min", "Average wait (min)", "num")],
                              empty="No data.")
    links = _csv_links(code, view, ("risk", "this crossing and its peers"))
    return charts.risk_figure(peers.table), listed, links


@callback(
    Output(ids("go"), "href"),
    Input(ids("search"), "value"),
    State(ids("query"), "data"),
    prevent_initial_call=True,
)
def go_to(code: BcpCode | None, query: Search | None) -> str:
    """Open the page of the crossing chosen in the search box (same period and choices)."""
    if not code:
        raise PreventUpdate
    keep = ""
    if query:
        parsed: dict[str, object] = {k: v[0] for k, v in
                                     parse_qs(query.lstrip("?")[:2000]).items()}
        view, _ = parse_crossing_query(parsed, today=datetime.now(UTC).date())
        keep = view.to_query() if view.explicit_dates else ""
    return parts.bcp_path(str(code)[:CODE_CHARS], keep)


clientside_callback(
    ClientsideFunction(namespace="borderwatch", function_name="writeUrl"),
    Output(ids("sink-url"), "data"),
    Input(ids("query"), "data"),
)
