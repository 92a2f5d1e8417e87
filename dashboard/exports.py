"""Data exports for scripts and QGIS: ``GET /api/incidents.geojson`` (login or API token).

The incidents the user may see one by one (their role's scope; a forum viewer gets 403), with
the filters of the map's URL (``from``, ``to``, ``cat``, ``sub``, ``country``, ``pair``; the
last 90 days by default), an optional ``bbox=west,south,east,north`` and ``limit`` (at most
``MAX_ROWS``). Every export is written to the audit log. For example::

    curl -H "Authorization: Bearer $TOKEN" \\
      "http://127.0.0.1:8050/api/incidents.geojson?from=2026-01-01&country=RS" > rs.geojson
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import flask

from dashboard import auth
from dashboard.errors import ClientError
from dashboard.guard import Param, query_args
from dashboard.queries import exports, gateway
from dashboard.queries.raw import BBox
from dashboard.viewstate import parse_query

#: Most incidents one export returns (ask again with a narrower date range for more).
MAX_ROWS = 50_000
#: Longest description kept in an export (characters).
DESCRIPTION_CHARS = 2_000
FILTER_KEYS = ("from", "to", "cat", "sub", "country", "pair")
#: Longest filter value read (the map's own links stay far below).
FILTER_CHARS = 1_000


def _bbox(text: str) -> BBox:
    parts = text.split(",")
    if len(parts) != 4:
        raise ValueError("not west,south,east,north")
    west, south, east, north = (float(p) for p in parts)
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise ValueError("not west < east within ±180, south < north within ±90")
    return BBox(west, south, east, north)


def _limit(text: str) -> int:
    limit = int(text)
    if not 1 <= limit <= MAX_ROWS:
        raise ValueError(f"not 1-{MAX_ROWS}")
    return limit


def _filter_text(text: str) -> str:
    """A filter as the map's link writes it, read by :func:`dashboard.viewstate.parse_query`."""
    if len(text) > FILTER_CHARS:
        raise ValueError(f"longer than {FILTER_CHARS} characters")
    return text


#: The query parameters (checked before any work by :func:`dashboard.guard.query_args`).
PARAMS = {
    **{key: Param(_filter_text, None, "as in the map's link") for key in FILTER_KEYS},
    "bbox": Param(_bbox, None, "west,south,east,north in degrees"),
    "limit": Param(_limit, MAX_ROWS, f"most incidents returned, 1-{MAX_ROWS}"),
}


def _feature(row: dict[str, Any]) -> dict[str, Any]:
    props = {k: v for k, v in row.items() if k not in ("lon", "lat")}
    props["occurred_at"] = row["occurred_at"].astimezone(UTC).isoformat()
    if props.get("description"):
        props["description"] = props["description"][:DESCRIPTION_CHARS]
    return {"type": "Feature", "id": row["id"], "properties": props,
            "geometry": {"type": "Point", "coordinates": [round(row["lon"], 6), round(row["lat"], 6)]}}


@query_args(**PARAMS)
def incidents_geojson(bbox: BBox | None, limit: int, **filters: str | None) -> flask.Response:
    """The incidents of the user's scope matching the query, as a GeoJSON download."""
    scope = gateway.require("incidents.export")
    state, ignored = parse_query({k: v for k, v in filters.items() if v is not None},
                                 today=datetime.now(UTC).date())
    if ignored:  # name the parameters, never echo their values
        names = dict.fromkeys(i.split("=", 1)[0] for i in ignored)
        raise ClientError(f"Invalid value for {', '.join(repr(n) for n in names)}.",
                          detail="; ".join(ignored)[:300], status=400)
    rows, more = exports.incidents(gateway.current().engine, state.filters, bbox, limit)
    f = state.filters
    auth.record("export", target="incidents.geojson", detail={
        "rows": len(rows), "truncated": more, "from": f.date_from.isoformat(), "to": f.date_to.isoformat(),
        "query": flask.request.query_string.decode(errors="replace")[:300]})
    body = {"type": "FeatureCollection", "features": [_feature(r) for r in rows],
            "borderwatch": {"rows": len(rows), "truncated": more, "sharing_level": scope.sharing_level,
                            "from": f.date_from.isoformat(), "to": f.date_to.isoformat()}}
    response = flask.jsonify(body)
    stamp = date.today().isoformat()
    response.headers["Content-Disposition"] = f'attachment; filename="incidents-{stamp}.geojson"'
    response.headers["Cache-Control"] = "no-store"
    return response


def register(server: flask.Flask) -> None:
    """Mount the export routes (before the ``/api/`` catch-all of ``routes``)."""
    server.add_url_rule("/api/incidents.geojson", "export_incidents", incidents_geojson)
