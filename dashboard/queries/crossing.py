"""Queries of the crossing page (``/bcp/<code>``): one BCP's header, flows, incidents near it,
and its peers' detections and waits. The CSV export routes call the same functions.

Everything runs through the gateway (read-only snapshot, time limit, safe errors). Distances
are geodesic (``geography``); the spatial index is used through a bounding box first. Free text
is cut in SQL to the limits of :mod:`dashboard.limits`.

Scope: every incident figure of the page (the list, the small map, the weekly counts and the
total near the crossing, the detections of the BCP and its peers) counts only the incidents the
user may see one by one (``scope.detail``): a count near one crossing, with a radius from
0.5 km and a period from one day, is far finer than the whole H3 cells a restricted role gets
its other incidents as (sliding the radius across a hidden incident would place it). A national
officer counts their own country's and those shared with them; a forum viewer none (the page
says so). Flows and waiting times are no incident data and are the same for every role.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy import (
    ColumnElement,
    Engine,
    Float,
    and_,
    bindparam,
    case,
    func,
    literal,
    or_,
    select,
)

from dashboard.limits import FIELD_CHARS, REASON_CHARS
from dashboard.queries.gateway import Reader, reading, scope
from dashboard.viewstate import Filters
from etl.warehouse.schema import (
    bcp,
    border_section,
    country,
    flow,
    incident,
    joint_patrol_agreement,
    joint_patrol_area,
)

#: Incidents listed on the page (newest first); the CSV holds all of them up to EXPORT_ROWS.
#: Each listed row is ten Dash components and a link to the map: 200 rows made the incidents
#: callback the slowest of the page (its p95 over 300 ms at the demo size, busy machine).
LIST_ROWS = 100
#: Most incident rows one CSV export writes.
EXPORT_ROWS = 100_000
#: Incidents drawn on the page's small map.
MAP_POINTS = 500
#: An incident this close to a BCP (metres) is *at* it: placed there by its ``bcp_code``.
AT_BCP_M = 1.0
#: Categories of traffic that queue (have waiting times).
VEHICLES = ("cars", "buses", "trucks")


def _cut(column: Any, label: str | None = None, limit: int = FIELD_CHARS) -> Any:
    """At most ``limit + 1`` characters of a text column, under its own name or ``label``
    (``dashboard.limits``: the builders add the ellipsis; a long value never leaves PostgreSQL)."""
    return func.left(column, limit + 1).label(label or column.name)


def pair_of(country_a: str, country_b: str) -> str:
    """The border pair id (alphabetical, ``HR-RS``)."""
    return "-".join(sorted((country_a, country_b)))


def _pair_expr() -> ColumnElement[str]:
    return func.concat(func.least(bcp.c.country_a, bcp.c.country_b), literal("-"),
                       func.greatest(bcp.c.country_a, bcp.c.country_b))


# ------------------------------------------------------------------------------- header


def header(engine: Engine, code: str) -> dict[str, Any] | None:
    """Everything the page header shows about one BCP, or None if there is no such BCP.

    Keys: the ``bcp`` row (names, countries, mode, e_road, joint_control, one_stop,
    coord_confidence, border_distance_m), ``lon``/``lat``, ``country_a_name``/``country_b_name``,
    ``pair_id``, ``section`` (the nearest border section of its pair: id, impact level, reason,
    distance in metres; None without one), ``patrol_areas`` (joint patrol areas the point lies
    in), ``peers`` (same border pair and mode) and ``flow_sides`` (who reports flows).
    """
    ca, cb = country.alias("ca"), country.alias("cb")
    stmt = (
        select(
            bcp.c.code, _cut(bcp.c.name_a), _cut(bcp.c.name_b), bcp.c.country_a, bcp.c.country_b,
            bcp.c.mode, _cut(bcp.c.e_road), bcp.c.joint_control, bcp.c.one_stop,
            _cut(bcp.c.coord_confidence), bcp.c.border_distance_m, _cut(bcp.c.source),
            func.ST_X(bcp.c.geom).label("lon"), func.ST_Y(bcp.c.geom).label("lat"),
            _cut(ca.c.name, "country_a_name"), _cut(cb.c.name, "country_b_name"),
            _pair_expr().label("pair_id"),
        )
        .select_from(bcp.outerjoin(ca, ca.c.iso2 == bcp.c.country_a)
                     .outerjoin(cb, cb.c.iso2 == bcp.c.country_b))
        .where(bcp.c.code == bindparam("code", code))
    )
    with reading(engine) as reader:
        row = reader.one(stmt)
        if row is None:
            return None
        out = dict(row)
        out["section"] = _section(reader, code, out["pair_id"])
        out["patrol_areas"] = _patrol_areas(reader, code)
        out["peers"] = _peers(reader, code)
        out["flow_sides"] = _flow_sides(reader, code)
    return out


def _bcp_point(code: str) -> Any:
    return select(bcp.c.geom).where(bcp.c.code == bindparam("code", code)).scalar_subquery()


def _section(reader: Reader, code: str, pair_id: str) -> dict[str, Any] | None:
    point = _bcp_point(code)
    stmt = (
        select(
            border_section.c.section_id, border_section.c.impact_level,
            _cut(border_section.c.impact_reason, limit=REASON_CHARS),
            border_section.c.impact_updated_at,
            func.ST_Distance(func.geography(border_section.c.geom), func.geography(point))
            .label("distance_m"),
        )
        .where(border_section.c.pair_id == bindparam("pair", pair_id))
        .order_by(border_section.c.geom.op("<->")(point))
        .limit(1)
    )
    row = reader.one(stmt)
    return dict(row) if row else None


def _patrol_areas(reader: Reader, code: str) -> list[dict[str, Any]]:
    stmt = (
        select(
            _cut(joint_patrol_agreement.c.agreement_id), joint_patrol_agreement.c.country_a,
            joint_patrol_agreement.c.country_b, joint_patrol_agreement.c.depth_km,
            _cut(joint_patrol_agreement.c.status), _cut(joint_patrol_agreement.c.legal_basis),
        )
        .select_from(joint_patrol_area.join(joint_patrol_agreement))
        .where(func.ST_Intersects(joint_patrol_area.c.geom, _bcp_point(code)))
        .order_by(joint_patrol_agreement.c.agreement_id)
    )
    return [dict(r) for r in reader.all(stmt)]


def _peers(reader: Reader, code: str) -> list[dict[str, Any]]:
    me = bcp.alias("me")
    stmt = (
        select(bcp.c.code, _cut(bcp.c.name_a), _cut(bcp.c.name_b), bcp.c.country_a,
               bcp.c.country_b, bcp.c.mode)
        .select_from(bcp.join(me, and_(
            me.c.code == bindparam("code", code), bcp.c.code != me.c.code, bcp.c.mode == me.c.mode,
            func.least(bcp.c.country_a, bcp.c.country_b)
            == func.least(me.c.country_a, me.c.country_b),
            func.greatest(bcp.c.country_a, bcp.c.country_b)
            == func.greatest(me.c.country_a, me.c.country_b))))
        .order_by(bcp.c.code)
    )
    return [dict(r) for r in reader.all(stmt)]


def _flow_sides(reader: Reader, code: str) -> list[dict[str, Any]]:
    stmt = (
        select(flow.c.reporting_country, func.min(flow.c.date).label("first"),
               func.max(flow.c.date).label("last"), func.count().label("rows"))
        .where(flow.c.bcp_code == bindparam("code", code))
        .group_by(flow.c.reporting_country)
        .order_by(flow.c.reporting_country)
    )
    return [dict(r) for r in reader.all(stmt)]


# -------------------------------------------------------------------------------- flows


_FLOW_COLUMNS = (flow.c.date, flow.c.reporting_country, flow.c.direction, flow.c.category,
                 flow.c.count, flow.c.wait_minutes_avg, flow.c.wait_minutes_max,
                 flow.c.lanes_open)


def flows(engine: Engine, code: str, first: date, last: date, *,
          reporting: str | None = None, categories: tuple[str, ...] | None = None,
          ) -> pd.DataFrame:
    """The flow rows of the BCP from ``first`` to ``last`` (both sides, or the ``reporting``
    side; every category or ``categories``), by date: ``date`` (datetime64),
    ``reporting_country``, ``direction``, ``category``, ``count``, ``wait_minutes_avg``,
    ``wait_minutes_max``, ``lanes_open`` (numbers as float, NaN when not reported)."""
    where = [flow.c.bcp_code == bindparam("code", code),
             flow.c.date >= bindparam("first", first), flow.c.date <= bindparam("last", last)]
    if reporting is not None:
        where.append(flow.c.reporting_country == bindparam("side", reporting))
    if categories is not None:
        where.append(flow.c.category.in_(categories))
    stmt = (
        select(*_FLOW_COLUMNS)
        .where(*where)
        .order_by(flow.c.date, flow.c.reporting_country, flow.c.direction, flow.c.category)
    )
    with reading(engine) as reader:
        names, rows = reader.table(stmt)
    frame = pd.DataFrame(rows, columns=names)
    frame["date"] = pd.to_datetime(frame["date"])
    for col in ("count", "wait_minutes_avg", "wait_minutes_max", "lanes_open"):
        frame[col] = pd.to_numeric(frame[col]).astype(float)
    return frame


# ---------------------------------------------------------------------------- incidents


@dataclass(frozen=True)
class Near:
    """Which incidents count as *near* the crossing.

    Attributes
    ----------
    radius_km
        Within this geodesic distance of the BCP (``scope == "radius"``).
    scope
        ``radius`` or ``section`` (on the BCP's border section, whatever the distance).
    section_id
        The BCP's border section (for ``scope == "section"``).
    """

    radius_km: float
    scope: str = "radius"
    section_id: str | None = None


def _distance_m(lon: float, lat: float) -> ColumnElement[float]:
    point = func.geography(func.ST_SetSRID(func.ST_MakePoint(
        bindparam("lon", lon, Float), bindparam("lat", lat, Float)), 4326))
    return func.ST_Distance(func.geography(incident.c.geom), point)


def _near_conditions(near: Near, lon: float, lat: float) -> list[ColumnElement[bool]]:
    if near.scope == "section":
        return [incident.c.section_id == bindparam("section", near.section_id or "")]
    metres = near.radius_km * 1000.0
    # a box around the point that holds the circle (index), then the exact geodesic test
    dy = metres / 110_574.0 * 1.01
    dx = metres / (111_320.0 * max(0.05, math.cos(math.radians(min(abs(lat) + dy, 89.9))))) * 1.01
    box = func.ST_MakeEnvelope(lon - dx, lat - dy, lon + dx, lat + dy, 4326)
    point = func.geography(func.ST_SetSRID(func.ST_MakePoint(
        bindparam("lon", lon, Float), bindparam("lat", lat, Float)), 4326))
    return [incident.c.geom.op("&&")(box),
            func.ST_DWithin(func.geography(incident.c.geom), point, bindparam("metres", metres))]


def _filter_conditions(filters: Filters) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = [incident.c.occurred_at >= filters.start,
                                         incident.c.occurred_at < filters.end]
    if filters.categories:
        conds.append(incident.c.category.in_(filters.categories))
    if filters.subtypes:
        conds.append(incident.c.subtype.in_(filters.subtypes))
    return conds


def at_bcp(code: str) -> ColumnElement[bool]:
    """The incident was placed at this BCP (its point is the BCP's)."""
    return and_(incident.c.nearest_bcp == code, incident.c.nearest_bcp_m < AT_BCP_M)


@dataclass(frozen=True)
class NearIncidents:
    """Incidents near a crossing in the period: the newest rows, how many in all, counts per
    week and subtype, and the points for the small map."""

    total: int
    rows: list[dict[str, Any]]
    weekly: list[dict[str, Any]]
    points: list[dict[str, Any]]


def _incident_columns(code: str, lon: float, lat: float) -> list[Any]:
    return [
        incident.c.id, _cut(incident.c.source), _cut(incident.c.incident_id),
        incident.c.occurred_at, incident.c.category, incident.c.subtype,
        incident.c.persons, incident.c.detection,
        incident.c.impact, incident.c.reporting_country, incident.c.section_id,
        (_distance_m(lon, lat) / 1000.0).label("distance_km"),
        case((at_bcp(code), True), else_=False).label("at_bcp"),
        func.ST_X(incident.c.geom).label("lon"), func.ST_Y(incident.c.geom).label("lat"),
    ]


def near_incidents(
    engine: Engine, code: str, lon: float, lat: float, filters: Filters, near: Near,
    *, limit: int = LIST_ROWS,
) -> NearIncidents:
    """Incidents near the BCP at (``lon``, ``lat``) matching ``filters`` (dates, categories and
    subtypes; countries and border pairs are the map's and do not apply here)."""
    where = [*_filter_conditions(filters), *_near_conditions(near, lon, lat), scope().detail]
    newest = (incident.c.occurred_at.desc(), incident.c.id.desc())
    week = func.date_trunc("week", func.timezone("UTC", incident.c.occurred_at)).label("week")
    kind = func.coalesce(incident.c.subtype, incident.c.category).label("subtype")
    with reading(engine) as reader:
        weekly = reader.dicts(select(week, kind, func.count().label("n")).where(*where)
                              .group_by(week, kind).order_by(week, kind))
        newest_rows = reader.dicts(select(*_incident_columns(code, lon, lat)).where(*where)
                                   .order_by(*newest).limit(max(limit, MAP_POINTS)))
    points = [{k: r[k] for k in ("id", "category", "lon", "lat")}
              for r in newest_rows[:MAP_POINTS]]
    total = sum(int(w["n"]) for w in weekly)
    return NearIncidents(total, newest_rows[:limit], weekly, points)


def near_incident_rows(
    engine: Engine, code: str, lon: float, lat: float, filters: Filters, near: Near,
    limit: int = EXPORT_ROWS,
) -> list[dict[str, Any]]:
    """The incidents of :func:`near_incidents` for export (newest first, at most ``limit``)."""
    where = [*_filter_conditions(filters), *_near_conditions(near, lon, lat), scope().detail]
    stmt = (select(*_incident_columns(code, lon, lat)).where(*where)
            .order_by(incident.c.occurred_at.desc(), incident.c.id.desc()).limit(limit))
    with reading(engine) as reader:
        return reader.dicts(stmt)


# ------------------------------------------------------------------- risk and facilitation


def detections_and_flows(
    engine: Engine, codes: list[str], filters: Filters
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """For each BCP of ``codes`` in the period: incidents detected by a BCP check there
    (``code``, ``detections``), and per reporting side the persons crossing and the
    count-weighted average wait of the vehicle categories (``code``, ``reporting_country``,
    ``persons``, ``wait_avg_min``).

    An incident is *at* a BCP when it names it (``bcp_code``) or, naming none, when it is the
    nearest BCP within the load's ``bcp_radius_km``. Detections are those the user may see one
    by one (see the module docstring).
    """
    where_bcp = func.coalesce(incident.c.bcp_code, incident.c.nearest_bcp)
    detected = (
        select(where_bcp.label("code"), func.count().label("detections"))
        .where(*_filter_conditions(filters), incident.c.detection == "bcp_check", scope().detail,
               or_(incident.c.bcp_code.in_(codes),
                   and_(incident.c.bcp_code.is_(None), incident.c.nearest_bcp.in_(codes))))
        .group_by(where_bcp)
    )
    queued = flow.c.category.in_(VEHICLES) & flow.c.wait_minutes_avg.is_not(None)
    weighted = func.sum(flow.c.count * flow.c.wait_minutes_avg).filter(queued)
    sides = (
        select(flow.c.bcp_code.label("code"), flow.c.reporting_country,
               func.sum(flow.c.count).filter(flow.c.category == "persons").label("persons"),
               (weighted / func.nullif(func.sum(flow.c.count).filter(queued), 0))
               .label("wait_avg_min"))
        .where(flow.c.bcp_code.in_(codes), flow.c.date >= filters.date_from,
               flow.c.date <= filters.date_to)
        .group_by(flow.c.bcp_code, flow.c.reporting_country)
    )
    with reading(engine) as reader:
        return reader.dicts(detected), reader.dicts(sides)
