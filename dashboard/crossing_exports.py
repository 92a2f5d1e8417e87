"""CSV export of every table and series of the crossing page: ``/api/bcp/<code>/<table>.csv``.

The query parameters are the page's own (``CrossingView.to_query``: period, categories, side,
traffic, vehicles, radius, scope), so a link on the page downloads exactly what it shows, made
on the server by the same function of ``dashboard.crossing`` as the chart. Cells are written
by ``etl.warehouse.csv_export`` (formula-like text escaped). The route declares its parameters
(:func:`dashboard.guard.query_args`): an unknown, repeated or unreadable one is a 400, as is a
period that does not hold together; an unknown BCP or table a 404, in the one error shape.

Access: a logged-in user or an API token (``/api/``); the incident tables (the incidents near
the crossing, per week, and the detections of the risk table) hold only the incidents the user
may see one by one, and are refused (403) to a role without ``incidents.export``. Every export
is written to the audit log.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import flask
import pandas as pd

from dashboard import auth
from dashboard import crossing as tables
from dashboard.errors import ClientError
from dashboard.guard import Param, query_args
from dashboard.queries import gateway
from dashboard.queries.crossing import header
from dashboard.viewstate import (
    CROSSING_PARAMETERS,
    MAX_RADIUS_KM,
    MIN_RADIUS_KM,
    CrossingView,
    parse_crossing_query,
)
from etl.warehouse.csv_export import iter_csv

EXPORT_PREFIX = "/api/bcp"
_CODE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")

Table = Callable[[Any, Any, dict[str, Any], CrossingView], pd.DataFrame]


def _flows(engine: Any, settings: Any, head: dict[str, Any], view: CrossingView) -> pd.DataFrame:
    return tables.flows_table(engine, settings, head, view)


def _waits(engine: Any, settings: Any, head: dict[str, Any], view: CrossingView) -> pd.DataFrame:
    return tables.waits_table(engine, head, view)


def _bands(engine: Any, settings: Any, head: dict[str, Any], view: CrossingView) -> pd.DataFrame:
    return tables.band_table(tables.waits_table(engine, head, view))


def _mirror(engine: Any, settings: Any, head: dict[str, Any], view: CrossingView) -> pd.DataFrame:
    return tables.mirror_result(engine, settings, head, view).table


def _incidents(engine: Any, settings: Any, head: dict[str, Any], view: CrossingView) -> pd.DataFrame:
    return tables.incidents_table(engine, head, view)


def _weekly(engine: Any, settings: Any, head: dict[str, Any], view: CrossingView) -> pd.DataFrame:
    return tables.weekly_table(tables.incidents(engine, head, view))


def _risk(engine: Any, settings: Any, head: dict[str, Any], view: CrossingView) -> pd.DataFrame:
    return tables.risk_result(engine, head, view).table


#: Tables made of incident reports: for roles that may export incidents (``incidents.export``;
#: not a forum viewer, who gets 403), with the incidents the user may see one by one.
INCIDENT_TABLES = frozenset({"incidents", "incidents-weekly", "risk"})

#: Table name in the URL -> the function that makes it.
TABLES: dict[str, Table] = {
    "flows": _flows,
    "waits": _waits,
    "wait-bands": _bands,
    "mirror": _mirror,
    "incidents": _incidents,
    "incidents-weekly": _weekly,
    "risk": _risk,
}


def csv_href(code: str, name: str, view: CrossingView) -> str:
    """The link of one table's CSV for ``view``."""
    return f"{EXPORT_PREFIX}/{quote(code, safe='-_')}/{name}.csv{view.to_query()}"


def _plain(value: Any) -> Any:
    if isinstance(value, pd.Timestamp):
        return value.date() if value == value.normalize() and value.tzinfo is None else (
            value.to_pydatetime())
    return value


#: Columns of whole numbers (counts), which the analysis keeps as floats (NaN for a day not
#: reported): written ``126``, not ``126.0``; a missing one stays the empty cell.
WHOLE = frozenset({"count", "exit_count", "entry_count", "gap", "days", "detections", "crossings",
                   "persons", "n", "id"})


def _whole(frame: pd.DataFrame) -> pd.DataFrame:
    wanted = {c: "Int64" for c in frame.columns
              if c in WHOLE and pd.api.types.is_float_dtype(frame[c])}
    return frame.assign(**{c: frame[c].round() for c in wanted}).astype(wanted) if wanted else frame


def _rows(frame: pd.DataFrame) -> Any:
    for rec in _whole(frame).itertuples(index=False, name=None):
        yield [_plain(v) for v in rec]


#: What each parameter of an export link holds (``CrossingView.to_query``).
PARAMETER_HELP = {
    "from": "first day, YYYY-MM-DD", "to": "last day, YYYY-MM-DD",
    "cat": "incident categories, comma-separated", "sub": "incident subtypes, comma-separated",
    "country": "the map's countries (kept for the way back)",
    "pair": "the map's border pairs (kept for the way back)",
    "side": "reporting country (ISO 3166 alpha-2) whose flows are exported",
    "flow": "traffic category of the flows and mirror charts",
    "wait": "vehicle category of the waiting times",
    "r": f"radius of incidents near the crossing, {MIN_RADIUS_KM:g}-{MAX_RADIUS_KM:g} km",
    "near": "radius or section: incidents within the radius or on the border section",
}


def _one(key: str) -> Param:
    """A parameter read by the crossing page's own parser (the link's reading of ``key``)."""

    def parse(text: str) -> str:
        probe: dict[str, object] = {"from": text, "to": text} if key in ("from", "to") else {key: text}
        _, problems = parse_crossing_query(probe, today=datetime.now(UTC).date())
        if problems:
            raise ValueError(problems[0])
        return text

    return Param(parse, None, PARAMETER_HELP[key])


PARAMETERS = {key: _one(key) for key in CROSSING_PARAMETERS}


@query_args(**PARAMETERS)
def export(code: str, name: str, **given: str | None) -> flask.Response:
    """One table of the crossing page as a CSV download."""
    table = TABLES.get(name)
    if table is None or not _CODE.match(code):
        raise ClientError("Not Found.", f"no table {name[:40]!r} of BCP {code[:40]!r}", 404)
    if name in INCIDENT_TABLES:
        gateway.require("incidents.export")
    warehouse = gateway.current()
    head = header(warehouse.engine, code.upper())
    if head is None:
        raise ClientError(f"No crossing point {code.upper()!r}.", "unknown BCP", 404)
    query: dict[str, object] = {k: v for k, v in given.items() if v is not None}
    view, problems = parse_crossing_query(query, today=datetime.now(UTC).date(),
                                          data_end=tables.last_flow_day(head),
                                          radius_km=warehouse.settings.near_radius_km)
    if problems:  # each value is readable, together they are not (from after to, too long)
        key = problems[0].split("=", 1)[0]
        raise ClientError(f"Invalid value for '{key}'.", problems[0])
    frame = table(warehouse.engine, warehouse.settings, head, view)
    f = view.filters
    auth.record("export", target=f"bcp/{head['code']}/{name}.csv", detail={
        "rows": len(frame), "from": f.date_from.isoformat(), "to": f.date_to.isoformat(),
        "query": flask.request.query_string.decode(errors="replace")[:300]})
    filename = f"{head['code']}_{name}_{f.date_from.isoformat()}_{f.date_to.isoformat()}.csv"
    response = flask.Response(iter_csv([str(c) for c in frame.columns], _rows(frame)),
                              mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


def register(server: flask.Flask) -> None:
    """Mount the export route on the Flask server."""
    server.add_url_rule(f"{EXPORT_PREFIX}/<code>/<name>.csv", "bcp_export", export)
