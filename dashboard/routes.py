"""Data routes of the dashboard server: health and the reference map layers as GeoJSON.

Each route declares its query parameters (:func:`dashboard.guard.query_args`: checked before
any work, unknown ones refused), calls one query function and one builder, and returns JSON.
"""

from __future__ import annotations

import re

import dash
import flask
from sqlalchemy import text
from werkzeug.wrappers import Response

from dashboard.components import layers
from dashboard.guard import Param, query_args
from dashboard.queries import gateway, reference
from etl.errors import BorderwatchError

LAYER_PREFIX = "/api/layers"
REFERENCE_MAX_AGE_S = 60
#: Most codes in one list parameter.
MAX_CODES = 50


def codes(pattern: str, example: str) -> Param:
    """A comma-separated list of at most ``MAX_CODES`` codes matching ``pattern`` (any case)."""
    regex = re.compile(pattern)

    def parse(text: str) -> tuple[str, ...]:
        raw = [v.strip().upper() for v in text.split(",") if v.strip()]
        if len(raw) > MAX_CODES or any(not regex.fullmatch(v) for v in raw):
            raise ValueError(f"not up to {MAX_CODES} codes like {example}")
        return tuple(dict.fromkeys(raw))

    return Param(parse, (), f"comma-separated codes like {example}")


def _flag(text: str) -> bool:
    if text not in ("0", "1"):
        raise ValueError("not 0 or 1")
    return text == "1"


PAIRS = codes(r"[A-Z]{2}-[A-Z]{2}", "HR-RS")
COUNTRIES = codes(r"[A-Z]{2}", "RS")
DETAIL = Param(_flag, False, "1 for the finer geometry (zoomed in), 0 or absent otherwise")


def _geojson(payload: dict) -> flask.Response:
    response = flask.jsonify(payload)
    response.headers["Cache-Control"] = f"private, max-age={REFERENCE_MAX_AGE_S}"
    return response


@query_args()
def healthz() -> tuple[flask.Response, int]:
    """``{"status": "ok", "database": "ok"}``, or 503 when the warehouse does not answer."""
    try:
        gateway.fetch_one(gateway.current().engine, text("SELECT 1 AS ok"))
    except BorderwatchError:
        return flask.jsonify({"status": "degraded", "database": "unavailable"}), 503
    return flask.jsonify({"status": "ok", "database": "ok"}), 200


@query_args(detail=DETAIL)
def basemap(detail: bool) -> flask.Response:
    """The offline basemap: country polygons and name points (``?detail=1`` when zoomed in)."""
    countries = reference.basemap(gateway.current().engine, detailed=detail)
    return _geojson(layers.basemap_layer(countries))


@query_args(pair=PAIRS, country=COUNTRIES)
def sections(pair: tuple[str, ...], country: tuple[str, ...]) -> flask.Response:
    """Border sections with impact levels (``?pair=HR-RS&country=RS`` to restrict)."""
    rows = reference.sections(gateway.current().engine, pairs=pair, countries=country)
    return _geojson(layers.sections_layer(rows))


@query_args(pair=PAIRS, country=COUNTRIES)
def bcps(pair: tuple[str, ...], country: tuple[str, ...]) -> flask.Response:
    """Border crossing points (``?pair=...&country=...``)."""
    rows = reference.bcps(gateway.current().engine, pairs=pair, countries=country)
    return _geojson(layers.bcps_layer(rows))


@query_args(pair=PAIRS, country=COUNTRIES)
def patrol(pair: tuple[str, ...], country: tuple[str, ...]) -> flask.Response:
    """Joint patrol areas (``?pair=...&country=...``)."""
    rows = reference.patrol_areas(gateway.current().engine, pairs=pair, countries=country)
    return _geojson(layers.patrol_layer(rows))


@query_args()
def favicon() -> Response:
    """``/favicon.ico``: browsers ask for it on every document without an icon link (a data
    URL's JSON or GeoJSON opened in a tab); Dash serves the app's icon at ``/_favicon.ico``."""
    return flask.redirect(dash.get_relative_path("/_favicon.ico"), code=301)


def not_found(rest: str) -> flask.Response:
    """Unknown data routes answer 404 in the error shape (not the app's HTML page)."""
    flask.abort(404)


not_found.query_params = {}  # type: ignore[attr-defined]  # 404 whatever the parameters


def register(server: flask.Flask) -> None:
    """Mount the routes on the Flask server."""
    server.add_url_rule("/healthz", "healthz", healthz)
    server.add_url_rule("/favicon.ico", "favicon", favicon)
    server.add_url_rule(f"{LAYER_PREFIX}/basemap.geojson", "layer_basemap", basemap)
    server.add_url_rule(f"{LAYER_PREFIX}/sections.geojson", "layer_sections", sections)
    server.add_url_rule(f"{LAYER_PREFIX}/bcps.geojson", "layer_bcps", bcps)
    server.add_url_rule(f"{LAYER_PREFIX}/patrol.geojson", "layer_patrol", patrol)
    server.add_url_rule("/api/<path:rest>", "api_not_found", not_found)
