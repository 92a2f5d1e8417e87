"""Reference geodata for the map: countries (offline basemap), border sections, BCPs, patrol areas.

Geometries come back as GeoJSON dicts (``ST_AsGeoJSON`` with rounded coordinates), in EPSG:4326.
The basemap (simplifying 19 countries and placing their labels takes ~100 ms) is kept in memory,
per database, until a row of ``country`` changes (the ``xmin`` of its rows).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Engine,
    and_,
    case,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    true,
)

from dashboard.limits import FIELD_CHARS, REASON_CHARS
from dashboard.queries.gateway import fetch_all, fetch_one, scope
from etl.warehouse.schema import (
    bcp,
    border_line,
    border_section,
    country,
    joint_patrol_agreement,
    joint_patrol_area,
    section_impact_history,
    section_impact_suggestion,
)

#: The evidence of a suggested impact level as a restricted role reads it (the figures count the
#: incidents of a few weeks near one section: not an aggregate these roles may see).
RESTRICTED_REASON = ("suggested by borderwatch from the incident pressure of the recent weeks "
                     "against the year before (the figures are for roles that see incidents)")
#: Simplification tolerance of the basemap (degrees): coarse for the region, finer zoomed in.
#: The source (Natural Earth 1:10m) has vertices about a kilometre apart, so 0.001 deg (~100 m)
#: drops little more than noise and keeps the zoomed-in basemap under 400 kB.
BASEMAP_TOLERANCE = {False: 0.004, True: 0.001}
#: Decimals of the basemap coordinates: ~100 m below zoom 9 (under half a pixel), ~10 m above.
BASEMAP_DIGITS = {False: 3, True: 4}


@dataclass(frozen=True)
class Country:
    """A country of the offline basemap, with a point to place its name."""

    iso2: str
    name: str
    is_target: bool
    footnote: str | None
    geometry: dict[str, Any]
    label_lon: float
    label_lat: float


def _geojson(value: str | None) -> dict[str, Any]:
    return json.loads(value) if value else {"type": "GeometryCollection", "geometries": []}


class _Cache:
    """Built basemaps by (database, detail), each with the version of ``country`` it shows."""

    def __init__(self, size: int = 16) -> None:
        self._size = size
        self._items: dict[tuple[str, bool], tuple[str, list[Country]]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[str, bool], version: str) -> list[Country] | None:
        with self._lock:
            hit = self._items.get(key)
        return hit[1] if hit and hit[0] == version else None

    def put(self, key: tuple[str, bool], version: str, value: list[Country]) -> None:
        with self._lock:
            if key not in self._items and len(self._items) >= self._size:
                self._items.pop(next(iter(self._items)))
            self._items[key] = (version, value)


_BASEMAPS = _Cache()


def _country_version(engine: Engine) -> str:
    """Changes whenever a row of ``country`` is inserted, updated or deleted (or the server
    restarts)."""
    rows = fetch_all(engine, select(country.c.iso2, literal_column("country.xmin::text").label("x"),
                                    func.pg_postmaster_start_time().label("up"))
                     .order_by(country.c.iso2))
    return ",".join(f"{r['iso2']}:{r['x']}@{r['up']}" for r in rows)


def basemap(engine: Engine, *, detailed: bool = False) -> list[Country]:
    """Every country, simplified for display, with a label point inside it.

    Parameters
    ----------
    engine
        The read engine.
    detailed
        Finer simplification, for zoomed-in views.
    """
    key = (engine.url.render_as_string(hide_password=True), detailed)
    version = _country_version(engine)
    cached = _BASEMAPS.get(key, version)
    if cached is None:
        cached = _basemap(engine, detailed)
        _BASEMAPS.put(key, version, cached)
    return cached


def _basemap(engine: Engine, detailed: bool) -> list[Country]:
    tolerance = BASEMAP_TOLERANCE[detailed]
    simplified = func.ST_SimplifyPreserveTopology(country.c.geom, tolerance)
    circle = (
        func.ST_MaximumInscribedCircle(func.ST_SimplifyPreserveTopology(country.c.geom, 0.01))
        .table_valued("center", "nearest", "radius")
        .lateral("mic")
    )
    stmt = (
        select(
            country.c.iso2,
            _cut(country.c.name).label("name"),
            country.c.is_target,
            _cut(country.c.footnote).label("footnote"),
            func.ST_AsGeoJSON(simplified, BASEMAP_DIGITS[detailed]).label("geojson"),
            func.ST_X(circle.c.center).label("label_lon"),
            func.ST_Y(circle.c.center).label("label_lat"),
        )
        .select_from(country.join(circle, true()))
        .order_by(country.c.iso2)
    )
    return [
        Country(
            iso2=r["iso2"],
            name=r["name"],
            is_target=bool(r["is_target"]),
            footnote=r["footnote"],
            geometry=_geojson(r["geojson"]),
            label_lon=float(r["label_lon"]),
            label_lat=float(r["label_lat"]),
        )
        for r in fetch_all(engine, stmt)
    ]


def _cut(column: ColumnElement[str], limit: int = FIELD_CHARS) -> ColumnElement[str]:
    """At most ``limit + 1`` characters of a text column (the builder adds the ellipsis)."""
    return func.left(column, limit + 1)


def _pair_filter(
    pair_col: ColumnElement[str],
    a_col: ColumnElement[str],
    b_col: ColumnElement[str],
    pairs: tuple[str, ...],
    countries: tuple[str, ...],
) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if pairs:
        conds.append(pair_col.in_(pairs))
    if countries:
        conds.append(or_(a_col.in_(countries), b_col.in_(countries)))
    return conds


def sections(
    engine: Engine, *, pairs: tuple[str, ...] = (), countries: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    """Border sections with their impact level, optionally limited to pairs or countries.

    Each row also names who attributed the level (``impact_attributed_by``: the latest
    ``section_impact_history`` entry of the section, None when there is none or it names
    nobody); ``impact_updated_at`` is the date of that attribution. ``suggested_level`` is the
    level ``borderwatch analyse impact`` suggests (an aggregate of every incident near the
    section); its evidence ``suggested_reason`` counts the incidents of the recent weeks, so a
    restricted role (national officer, forum viewer) gets the level with ``RESTRICTED_REASON``.
    """
    user = scope()
    reason = (literal(RESTRICTED_REASON) if user.restricted
              else _cut(section_impact_suggestion.c.reason, REASON_CHARS))
    attributed_by = (
        select(_cut(section_impact_history.c.attributed_by))
        .where(section_impact_history.c.section_id == border_section.c.section_id)
        .order_by(section_impact_history.c.attributed_at.desc(),
                  section_impact_history.c.history_id.desc())
        .limit(1)
        .scalar_subquery()
    )
    stmt = (
        select(
            border_section.c.section_id,
            border_section.c.pair_id,
            border_section.c.seq,
            border_section.c.length_km,
            border_section.c.impact_level,
            _cut(border_section.c.impact_reason, REASON_CHARS).label("impact_reason"),
            border_section.c.impact_updated_at,
            attributed_by.label("impact_attributed_by"),
            section_impact_suggestion.c.level.label("suggested_level"),
            case((section_impact_suggestion.c.level.is_(None), null()), else_=reason
                 ).label("suggested_reason"),
            border_line.c.country_a,
            border_line.c.country_b,
            func.ST_AsGeoJSON(border_section.c.geom, 5).label("geojson"),
        )
        .select_from(border_section.join(border_line).outerjoin(
            section_impact_suggestion,
            section_impact_suggestion.c.section_id == border_section.c.section_id))
        .where(
            *_pair_filter(
                border_section.c.pair_id,
                border_line.c.country_a,
                border_line.c.country_b,
                pairs,
                countries,
            ),
            user.everything,
        )
        .order_by(border_section.c.section_id)
    )
    return [_with_geometry(r) for r in fetch_all(engine, stmt)]


def bcps(
    engine: Engine, *, pairs: tuple[str, ...] = (), countries: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    """Border crossing points with both names, mode and joint/one-stop flags."""
    pair_id = func.concat(
        func.least(bcp.c.country_a, bcp.c.country_b),
        literal("-"),
        func.greatest(bcp.c.country_a, bcp.c.country_b),
    )
    stmt = (
        select(
            bcp.c.code,
            _cut(bcp.c.name_a).label("name_a"),
            _cut(bcp.c.name_b).label("name_b"),
            bcp.c.country_a,
            bcp.c.country_b,
            bcp.c.mode,
            _cut(bcp.c.e_road).label("e_road"),
            bcp.c.joint_control,
            bcp.c.one_stop,
            func.ST_X(bcp.c.geom).label("lon"),
            func.ST_Y(bcp.c.geom).label("lat"),
        )
        .where(*_pair_filter(pair_id, bcp.c.country_a, bcp.c.country_b, pairs, countries))
        .order_by(bcp.c.code)
    )
    return [dict(r) for r in fetch_all(engine, stmt)]


def patrol_areas(
    engine: Engine, *, pairs: tuple[str, ...] = (), countries: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    """Joint patrol areas with their agreement (pair, depth, status) and a label point."""
    a, b = joint_patrol_agreement.c.country_a, joint_patrol_agreement.c.country_b
    pair_id = func.concat(func.least(a, b), literal("-"), func.greatest(a, b))
    stmt = (
        select(
            joint_patrol_area.c.agreement_id,
            a,
            b,
            pair_id.label("pair_id"),
            joint_patrol_agreement.c.depth_km,
            joint_patrol_agreement.c.status,
            _cut(joint_patrol_agreement.c.legal_basis).label("legal_basis"),
            joint_patrol_agreement.c.valid_from,
            joint_patrol_agreement.c.valid_to,
            joint_patrol_area.c.area_km2,
            func.ST_AsGeoJSON(func.ST_SimplifyPreserveTopology(joint_patrol_area.c.geom, 0.0005), 5).label(
                "geojson"
            ),
            func.ST_X(func.ST_PointOnSurface(joint_patrol_area.c.geom)).label("label_lon"),
            func.ST_Y(func.ST_PointOnSurface(joint_patrol_area.c.geom)).label("label_lat"),
        )
        .select_from(joint_patrol_area.join(joint_patrol_agreement))
        .where(*_pair_filter(pair_id, a, b, pairs, countries))
        .order_by(joint_patrol_area.c.agreement_id)
    )
    return [_with_geometry(r) for r in fetch_all(engine, stmt)]


def _with_geometry(row: Any) -> dict[str, Any]:
    out = dict(row)
    out["geometry"] = _geojson(out.pop("geojson"))
    return out


def country_options(engine: Engine) -> list[dict[str, Any]]:
    """Countries for the filter: code, name, whether it is one of the eight administrations."""
    stmt = select(country.c.iso2, _cut(country.c.name).label("name"), country.c.is_target).order_by(
        country.c.is_target.desc(), country.c.name
    )
    return [dict(r) for r in fetch_all(engine, stmt)]


def pair_options(engine: Engine) -> list[dict[str, Any]]:
    """Border pairs for the filter, with both country names."""
    ca, cb = country.alias("ca"), country.alias("cb")
    stmt = (
        select(
            border_line.c.pair_id,
            _cut(ca.c.name).label("name_a"),
            _cut(cb.c.name).label("name_b"),
        )
        .select_from(
            border_line.join(ca, ca.c.iso2 == border_line.c.country_a).join(
                cb, and_(cb.c.iso2 == border_line.c.country_b)
            )
        )
        .order_by(border_line.c.pair_id)
    )
    return [dict(r) for r in fetch_all(engine, stmt)]


#: Leaflet bounds: ``[[south, west], [north, east]]``.
Bounds = list[list[float]]


def selection_bounds(
    engine: Engine, *, pairs: tuple[str, ...] = (), countries: tuple[str, ...] = ()
) -> Bounds | None:
    """The bounding box of the chosen border pairs or countries, for the map to fly to.

    Pairs take precedence: when both are given, only the pairs count (a border pair is the
    narrower choice, and the incidents shown lie along it). Codes are matched as bound
    parameters, like the other reference queries: an unknown code matches nothing, and when
    nothing matches (or nothing is chosen) there is no extent.

    Not cached: like :func:`sections` and the filter options it reads a handful of rows; the
    version check that keeps :func:`basemap` fresh would cost as much as the query itself.

    Parameters
    ----------
    engine
        The read engine.
    pairs
        Border pair ids (``HR-RS``), the geometries of ``border_line``.
    countries
        ISO 3166 alpha-2 codes, the geometries of ``country``.

    Returns
    -------
    list or None
        Leaflet bounds ``[[south, west], [north, east]]`` in degrees (EPSG:4326), or None.
    """
    if pairs:
        geom, where = border_line.c.geom, border_line.c.pair_id.in_(pairs)
    elif countries:
        geom, where = country.c.geom, country.c.iso2.in_(countries)
    else:
        return None
    stmt = select(
        func.min(func.ST_YMin(geom)).label("south"),
        func.min(func.ST_XMin(geom)).label("west"),
        func.max(func.ST_YMax(geom)).label("north"),
        func.max(func.ST_XMax(geom)).label("east"),
    ).where(where)
    row = fetch_one(engine, stmt)
    if row is None or row["south"] is None:
        return None
    return [[float(row["south"]), float(row["west"])], [float(row["north"]), float(row["east"])]]
