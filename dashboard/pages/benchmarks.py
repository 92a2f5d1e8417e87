"""The benchmarks page (path ``/benchmarks``): benchmark status per country for the regional
forum of heads of services, the national strategies and trainings, and the briefing pack.

Callbacks stay thin: check the inputs, call query functions (``dashboard.queries.benchmarks``,
``dashboard.queries.programme``), hand the rows to pure builders (``benchmark_charts``,
``benchmark_panels``) and return. The round, the period and the opened country are in the URL
(``dashboard.viewstate.BenchmarkView``).
"""

from __future__ import annotations

import re
import threading
from datetime import UTC, date, datetime
from typing import Any

import dash
from dash import ALL, ClientsideFunction, Input, Output, State, callback, clientside_callback, ctx, dcc, html
from dash.exceptions import PreventUpdate

from dashboard import auth
from dashboard.briefing import BriefingRequest, build_briefing, reader_for
from dashboard.components import benchmark_charts as charts
from dashboard.components import benchmark_panels as panels
from dashboard.errors import ClientError
from dashboard.ids import PageIds
from dashboard.inputs import Clicks, Code, Counter, DateText, GraphClick
from dashboard.queries import benchmarks as bq
from dashboard.queries import gateway, incidents, programme
from dashboard.viewstate import BenchmarkView, Filters, parse_benchmark_query
from etl.errors import BorderwatchError

dash.register_page(__name__, path="/benchmarks", name="Benchmarks", title="Benchmarks · borderwatch",
                   order=1)

ids = PageIds("bench")
_ROUND = re.compile(r"^\d{4}(?:-(?:H[12]|Q[1-4]|\d{2}|\d{2}-\d{2}))?$")
_ISO2 = re.compile(r"^[A-Z]{2}$")
#: One briefing at a time per server process (it uses a core for seconds).
_BRIEFING = threading.BoundedSemaphore(1)


class BadInput(ClientError):
    """A value sent by the browser that the page never offers (answered 400)."""


def _today() -> date:
    return datetime.now(UTC).date()


def _round(value: Any) -> str:
    if not isinstance(value, str) or len(value) > 32 or not _ROUND.match(value):
        raise BadInput("Unknown assessment round.")
    return value


def _country(value: Any) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str) or not _ISO2.match(value):
        raise BadInput("Unknown administration.")
    return value


def _period(start: Any, end: Any) -> Filters:
    raw = {"from": start if isinstance(start, str) else "", "to": end if isinstance(end, str) else ""}
    if any(len(v) > 32 for v in raw.values()):
        raise BadInput("Unreadable period.")
    return Filters.from_dict({k: v[:10] for k, v in raw.items()})


def layout(**query: Any) -> html.Div:
    """The page for the view in the URL (``?round=2020&from=...&to=...&country=RS``)."""
    engine = gateway.current().engine
    notices: list[str] = []
    try:
        admins = bq.administrations(engine)
        rounds = bq.rounds(engine)
        ext = incidents.extent(engine)
    except BorderwatchError as exc:
        notices.append(exc.user_message)
        admins, rounds, ext = [], [], incidents.Extent(None, None, 0)
    labels = tuple(r.label for r in rounds)
    view, ignored = parse_benchmark_query(query, today=_today(), data_end=ext.last, rounds=labels,
                                          countries=tuple(a.iso2 for a in admins))
    if ignored:
        notices.append("Ignored unreadable link parameters: " + ", ".join(ignored) + ".")
    if not rounds and not notices:
        notices.append("No benchmark assessment is loaded yet (borderwatch load benchmarks FILE).")
    f = view.filters
    return html.Div([
        dcc.Store(id=ids("query"), data=view.to_query()),
        dcc.Store(id=ids("sink-url")),
        dcc.Download(id=ids("download")),
        *[html.Div(text, className="bw-alert", role="status") for text in notices],
        html.Div([
            html.H1("IBM benchmarks", className="bw-bench-title"),
            html.Div([html.Label("Round", htmlFor=ids("round")),
                      dcc.Dropdown(id=ids("round"), clearable=False, value=view.round,
                                   options=[{"label": r.label, "value": r.label}
                                            for r in reversed(rounds)])],
                     className="bw-field bw-field-round"),
            html.Div([html.Label("Period (key figures, briefing)", htmlFor=ids("period")),
                      dcc.DatePickerRange(id=ids("period"), start_date=f.date_from.isoformat(),
                                          end_date=f.date_to.isoformat(), display_format="YYYY-MM-DD",
                                          minimum_nights=0)],
                     className="bw-field"),
            html.Div([html.Label("Administration", htmlFor=ids("country")),
                      dcc.Dropdown(id=ids("country"), value=view.country, placeholder="Choose…",
                                   options=[{"label": a.name, "value": a.iso2} for a in admins])],
                     className="bw-field bw-field-country"),
            html.Div([html.Button("Briefing pack (PDF)", id=ids("briefing"), n_clicks=0,
                                  className="bw-button"),
                      html.Span(id=ids("briefing-status"), className="bw-briefing-status",
                                role="status")],
                     className="bw-field bw-briefing"),
        ], className="bw-bench-controls"),
        html.Div([
            html.Section([dcc.Graph(id=ids("map"), config={"displayModeBar": False},
                                    figure=charts.empty_figure("Loading…")),
                          html.P(_footnotes(admins), className="bw-footnote"),
                          html.H3("Widest gaps between administrations"),
                          html.Div(id=ids("gaps"))],
                         className="bw-card bw-bench-map"),
            html.Section([html.H2("Regional view"),
                          dcc.Graph(id=ids("regional"), config={"displayModeBar": False},
                                    figure=charts.empty_figure("Loading…"))],
                         className="bw-card bw-bench-regional"),
        ], className="bw-bench-row"),
        html.Section([html.H2(id=ids("scorecard-title")),
                      html.P("Each cell: the level as a word on its colour, ▲/▼/= against the "
                             "previous round (• first assessment), ! an overdue recommendation; "
                             "hover for the evidence. Choose an administration to open it.",
                             className="bw-muted"),
                      html.Div(id=ids("scorecard"), className="bw-scroll-x")],
                     className="bw-card"),
        html.Section(id=ids("drill"), className="bw-card bw-drill", children=[
            html.H2(id=ids("drill-title"), children="Choose an administration"),
            html.Div(id=ids("figures")),
            html.Div([dcc.Graph(id=ids("history"), config={"displayModeBar": False}),
                      html.Div([html.H3("Recommendations of the round"),
                                html.Div(id=ids("recs"))], className="bw-recs-box")],
                     className="bw-bench-row"),
            dcc.Graph(id=ids("strategies"), config={"displayModeBar": False}),
            html.Div([dcc.Graph(id=ids("by-topic"), config={"displayModeBar": False}),
                      dcc.Graph(id=ids("by-agency"), config={"displayModeBar": False})],
                     className="bw-bench-row"),
        ]),
    ], className="bw-page bw-bench")


def _footnotes(admins: list[bq.Administration]) -> str:
    notes = [f"{a.name}: {a.footnote}" for a in admins if a.footnote]
    return " ".join(notes)


# -- the round ----------------------------------------------------------------------------------


@callback(
    Output(ids("map"), "figure"),
    Output(ids("regional"), "figure"),
    Output(ids("gaps"), "children"),
    Output(ids("scorecard"), "children"),
    Output(ids("scorecard-title"), "children"),
    Input(ids("round"), "value"),
)
def show_round(round_value: Code | None) -> tuple[Any, ...]:
    """Status map, regional view and scorecard of the chosen round."""
    if not round_value:
        raise PreventUpdate
    chosen = _round(round_value)
    engine = gateway.current().engine
    with gateway.reading(engine) as db:
        fw = bq.framework(db)
        admins = bq.administrations(db)
        cells = bq.scorecard(db, chosen)
    codes = [a.iso2 for a in admins]
    overall = bq.overall(cells, fw, codes)
    spreads = bq.spreads(cells, fw)
    return (
        charts.status_map(bq.outlines(engine), overall, fw, admins, chosen),
        charts.regional_chart(spreads, fw, admins),
        panels.gaps_table(bq.widest_gaps(spreads), fw, admins),
        panels.scorecard_table(cells, fw, admins, overall, _today(),
                               lambda iso2: ids.match("open", iso2)),
        f"Scorecard, round {chosen}",
    )


# -- choosing an administration -------------------------------------------------------------------


@callback(
    Output(ids("country"), "value"),
    Input(ids("map"), "clickData"),
    Input({"type": ids("open"), "index": ALL}, "n_clicks"),
    prevent_initial_call=True,
)
def open_country(click: GraphClick | None, _clicks: Clicks) -> str:
    """A click on the map or on a name in the scorecard opens that administration."""
    trigger = ctx.triggered_id
    if isinstance(trigger, dict):
        if not ctx.triggered or not ctx.triggered[0].get("value"):
            raise PreventUpdate
        chosen = _country(trigger.get("index"))
    else:
        points = (click["points"] if click else None) or [{}]
        chosen = _country(points[0].get("customdata"))
    if chosen is None:
        raise PreventUpdate
    return chosen


@callback(
    Output(ids("drill-title"), "children"),
    Output(ids("figures"), "children"),
    Output(ids("history"), "figure"),
    Output(ids("recs"), "children"),
    Output(ids("strategies"), "figure"),
    Output(ids("by-topic"), "figure"),
    Output(ids("by-agency"), "figure"),
    Output(ids("drill"), "className"),
    Input(ids("country"), "value"),
    Input(ids("round"), "value"),
    Input(ids("period"), "start_date"),
    Input(ids("period"), "end_date"),
)
def show_country(
    country_value: Code | None, round_value: Code | None, start: DateText | None, end: DateText | None
) -> tuple[Any, ...]:
    """The drill-down: key figures for the period, each component across rounds, the round's
    recommendations, the strategy timeline and the trainings."""
    iso2 = _country(country_value)
    if iso2 is None:
        blank = charts.empty_figure("Choose an administration on the map, in the scorecard or "
                                    "in the list above.", height=120)
        return ("Choose an administration", None, blank, None, blank, blank, blank,
                "bw-card bw-drill is-empty")
    chosen = _round(round_value) if round_value else None
    period = _period(start, end)
    engine = gateway.current().engine
    with gateway.reading(engine) as db:
        fw = bq.framework(db)
        admin = next((a for a in bq.administrations(db) if a.iso2 == iso2), None)
        if admin is None:
            raise BadInput("Unknown administration.")
        past = bq.history(db, iso2)
        order = [r.label for r in bq.rounds(db)]
        docs = programme.strategies(db, iso2)
        flows = programme.flow_figures(db, period, (iso2,))[iso2]
        trained = programme.training_totals(db, period, (iso2,))[iso2]
        by_topic = programme.trainings_by_topic(db, iso2)
        by_agency = programme.trainings_by_agency(db, iso2)
    today = _today()
    counts = incidents.by_country(engine, Filters(period.date_from, period.date_to,
                                                  countries=(iso2,))).get(iso2)
    figures = panels.key_figures(counts, flows, trained,
                                 [d for d in docs if d.in_force_on(period.date_to)],
                                 f"{period.date_from} to {period.date_to}")
    title = admin.name + (f" ({admin.footnote})" if admin.footnote else "")
    return (
        title,
        figures,
        charts.history_heatmap(past, fw, order, admin.name),
        panels.recommendations_table([c for c in past if c.round == chosen], fw, today),
        charts.strategy_timeline(docs, today, admin.name),
        charts.trainings_chart(by_topic, by="topic", country_name=admin.name),
        charts.trainings_chart(by_agency, by="agency", country_name=admin.name),
        "bw-card bw-drill",
    )


# -- the briefing pack --------------------------------------------------------------------------


@callback(
    Output(ids("download"), "data"),
    Output(ids("briefing-status"), "children"),
    Input(ids("briefing"), "n_clicks"),
    State(ids("round"), "value"),
    State(ids("period"), "start_date"),
    State(ids("period"), "end_date"),
    prevent_initial_call=True,
    running=[
        (Output(ids("briefing"), "disabled"), True, False),
        (Output(ids("briefing-status"), "children"), "Generating the briefing pack…", ""),
    ],
)
def briefing(
    clicks: Counter | None, round_value: Code | None, start: DateText | None, end: DateText | None
) -> tuple[Any, str]:
    """Build the forum briefing pack on the server (the same PDF as ``borderwatch briefing``)."""
    if not clicks:
        raise PreventUpdate
    chosen = _round(round_value) if round_value else None
    period = _period(start, end)
    if not _BRIEFING.acquire(blocking=False):
        return dash.no_update, ("Another briefing is being generated on this server; try again "
                                "in a few seconds.")
    try:
        request = BriefingRequest(filters=period, round=chosen, scope=reader_for(gateway.scope()))
        made = build_briefing(gateway.current().engine, request)
    finally:
        _BRIEFING.release()
    auth.record("briefing", target=made.filename, detail={
        "pages": made.pages, "round": chosen, "from": period.date_from.isoformat(),
        "to": period.date_to.isoformat(), "sharing": request.scope.sharing})
    status = (f"Briefing ready: {made.pages} pages, {len(made.pdf) / 1e6:.1f} MB, "
              f"made in {made.seconds:.1f} s.")
    return dcc.send_bytes(made.pdf, made.filename), status


# -- the view in the URL ------------------------------------------------------------------------


@callback(
    Output(ids("query"), "data"),
    Input(ids("round"), "value"),
    Input(ids("period"), "start_date"),
    Input(ids("period"), "end_date"),
    Input(ids("country"), "value"),
    prevent_initial_call=True,
)
def view_query(
    round_value: Code | None, start: DateText | None, end: DateText | None, country_value: Code | None
) -> str:
    """The canonical URL query of the current view."""
    view = BenchmarkView(filters=_period(start, end),
                         round=_round(round_value) if round_value else None,
                         country=_country(country_value))
    return view.to_query()


clientside_callback(
    ClientsideFunction(namespace="borderwatch", function_name="writeUrl"),
    Output(ids("sink-url"), "data"),
    Input(ids("query"), "data"),
)
