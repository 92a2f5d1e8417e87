"""Data routes of the dashboard server: health and the reference map layers as GeoJSON.

Each route reads its arguments, calls one query function and one builder, and returns JSON.
"""

from __future__ import annotations

import re

import flask
from sqlalchemy import text

from dashboard.components import layers
from dashboard.errors import error_response
from dashboard.queries import gateway, reference
from etl.errors import BorderwatchError

LAYER_PREFIX = "/api/layers"
REFERENCE_MAX_AGE_S = 60
_PAIR = re.compile(r"^[A-Z]{2}-[A-Z]{2}$")
_ISO2 = re.compile(r"^[A-Z]{2}$")


class BadArgument(BorderwatchError):
    """A route argument cannot be read."""


def _codes(name: str, pattern: re.Pattern[str]) -> tuple[str, ...]:
    raw = [v.strip().upper() for v in flask.request.args.get(name, "").split(",") if v.strip()]
    bad = [v for v in raw if not pattern.match(v)]
    if bad or len(raw) > 50:
        raise BadArgument(f"Invalid value for '{name}'.")
    return tuple(raw)


def _geojson(payload: dict) -> flask.Response:
    response = flask.jsonify(payload)
    response.headers["Cache-Control"] = f"private, max-age={REFERENCE_MAX_AGE_S}"
    return response


def healthz() -> tuple[flask.Response, int]:
    """``{"status": "ok", "database": "ok"}``, or 503 when the warehouse does not answer."""
    try:
        gateway.fetch_one(gateway.current().engine, text("SELECT 1 AS ok"))
    except BorderwatchError:
        return flask.jsonify({"status": "degraded", "database": "unavailable"}), 503
    return flask.jsonify({"status": "ok", "database": "ok"}), 200


def basemap() -> flask.Response:
    """The offline basemap: country polygons and name points (``?detail=1`` when zoomed in)."""
    detailed = flask.request.args.get("detail") == "1"
    countries = reference.basemap(gateway.current().engine, detailed=detailed)
    return _geojson(layers.basemap_layer(countries))


def sections() -> flask.Response:
    """Border sections with impact levels (``?pair=HR-RS&country=RS`` to restrict)."""
    rows = reference.sections(
        gateway.current().engine, pairs=_codes("pair", _PAIR), countries=_codes("country", _ISO2)
    )
    return _geojson(layers.sections_layer(rows))


def bcps() -> flask.Response:
    """Border crossing points (``?pair=...&country=...``)."""
    rows = reference.bcps(
        gateway.current().engine, pairs=_codes("pair", _PAIR), countries=_codes("country", _ISO2)
    )
    return _geojson(layers.bcps_layer(rows))


def patrol() -> flask.Response:
    """Joint patrol areas (``?pair=...&country=...``)."""
    rows = reference.patrol_areas(
        gateway.current().engine, pairs=_codes("pair", _PAIR), countries=_codes("country", _ISO2)
    )
    return _geojson(layers.patrol_layer(rows))


def not_found(rest: str) -> flask.Response:
    """Unknown data routes answer 404 in the error shape (not the app's HTML page)."""
    flask.abort(404)


def _bad_argument(exc: BadArgument) -> flask.Response:
    return error_response(400, exc.user_message)


def register(server: flask.Flask) -> None:
    """Mount the routes on the Flask server."""
    server.add_url_rule("/healthz", "healthz", healthz)
    server.add_url_rule(f"{LAYER_PREFIX}/basemap.geojson", "layer_basemap", basemap)
    server.add_url_rule(f"{LAYER_PREFIX}/sections.geojson", "layer_sections", sections)
    server.add_url_rule(f"{LAYER_PREFIX}/bcps.geojson", "layer_bcps", bcps)
    server.add_url_rule(f"{LAYER_PREFIX}/patrol.geojson", "layer_patrol", patrol)
    server.add_url_rule("/api/<path:rest>", "api_not_found", not_found)
    server.register_error_handler(BadArgument, _bad_argument)
