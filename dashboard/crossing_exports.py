"""CSV export of every table and series of the crossing page: ``/api/bcp/<code>/<table>.csv``.

The query parameters are the page's own (``CrossingView.to_query``: period, categories, side,
traffic, vehicles, radius, scope), so a link on the page downloads exactly what it shows, made
on the server by the same function of ``dashboard.crossing`` as the chart. Cells are written
by ``etl.warehouse.csv_export`` (formula-like text escaped). An unreadable parameter is a 400
and an unknown BCP or table a 404, in the one error shape.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import flask
import pandas as pd

from dashboard import crossing as tables
from dashboard.errors import error_response
from dashboard.queries import gateway
from dashboard.queries.crossing import header
from dashboard.viewstate import CROSSING_PARAMETERS, CrossingView, parse_crossing_query
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


def _rows(frame: pd.DataFrame) -> Any:
    for rec in frame.itertuples(index=False, name=None):
        yield [_plain(v) for v in rec]


def export(code: str, name: str) -> flask.Response:
    """One table of the crossing page as a CSV download."""
    table = TABLES.get(name)
    if table is None or not _CODE.match(code):
        return error_response(404, "Not Found.")
    args = flask.request.args
    unknown = [k for k in args if k not in CROSSING_PARAMETERS]
    if unknown:
        return error_response(400, f"Unknown parameter '{unknown[0][:40]}'.")
    repeated = [k for k in args if len(args.getlist(k)) > 1]
    if repeated:
        return error_response(400, f"Parameter '{repeated[0]}' is given more than once.")
    warehouse = gateway.current()
    head = header(warehouse.engine, code.upper())
    if head is None:
        return error_response(404, f"No crossing point {code.upper()!r}.")
    view, problems = parse_crossing_query(dict(args), today=datetime.now(UTC).date(),
                                          data_end=tables.last_flow_day(head),
                                          radius_km=warehouse.settings.near_radius_km)
    if problems:
        return error_response(400, f"Invalid value for '{problems[0]}'.")
    frame = table(warehouse.engine, warehouse.settings, head, view)
    f = view.filters
    filename = f"{head['code']}_{name}_{f.date_from.isoformat()}_{f.date_to.isoformat()}.csv"
    response = flask.Response(iter_csv([str(c) for c in frame.columns], _rows(frame)),
                              mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


def register(server: flask.Flask) -> None:
    """Mount the export route on the Flask server."""
    server.add_url_rule(f"{EXPORT_PREFIX}/<code>/<name>.csv", "bcp_export", export)
