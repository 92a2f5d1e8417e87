"""Incident queries of the situation map, aggregated on the server by viewport and zoom.

The map never asks for more than ``cap`` rows: raw points when the viewport holds few enough
incidents, otherwise grid clusters (``floor(x / cell)``) or H3 cells (the stored ``h3_r5`` /
``h3_r7`` / ``h3_r9`` ids, rolled up to coarser resolutions by bit arithmetic).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Engine,
    and_,
    bindparam,
    func,
    literal,
    select,
)

from dashboard.queries.gateway import fetch_all, fetch_one
from dashboard.viewstate import Filters
from etl.warehouse.schema import INCIDENT_CATEGORIES, bcp, border_section, country, incident

#: Pixel size of one server-side cluster cell on screen.
CLUSTER_CELL_PX = 64
#: Incidents listed in the feed.
FEED_SIZE = 50
#: New incidents highlighted on the map after a refresh.
NEW_CAP = 500


@dataclass(frozen=True)
class BBox:
    """A viewport in degrees (west, south, east, north), clamped to the Web Mercator world."""

    west: float
    south: float
    east: float
    north: float

    @classmethod
    def from_leaflet(cls, bounds: list[list[float]] | None) -> BBox | None:
        """From Leaflet's ``[[south, west], [north, east]]``; None if missing or malformed."""
        try:
            (south, west), (north, east) = bounds  # type: ignore[misc]
            box = cls(
                west=max(-180.0, float(west)),
                south=max(-85.0, float(south)),
                east=min(180.0, float(east)),
                north=min(85.0, float(north)),
            )
        except (TypeError, ValueError):
            return None
        return box if box.west < box.east and box.south < box.north else None

    def padded(self, fraction: float = 0.1) -> BBox:
        """This box grown by ``fraction`` of its size on each side."""
        dx, dy = (self.east - self.west) * fraction, (self.north - self.south) * fraction
        return BBox(
            max(-180.0, self.west - dx),
            max(-85.0, self.south - dy),
            min(180.0, self.east + dx),
            min(85.0, self.north + dy),
        )


def filter_conditions(filters: Filters) -> list[ColumnElement[bool]]:
    """WHERE conditions of ``filters`` on the incident table."""
    conds: list[ColumnElement[bool]] = [
        incident.c.occurred_at >= filters.start,
        incident.c.occurred_at < filters.end,
    ]
    if filters.categories:
        conds.append(incident.c.category.in_(filters.categories))
    if filters.subtypes:
        conds.append(incident.c.subtype.in_(filters.subtypes))
    if filters.countries:
        conds.append(incident.c.country.in_(filters.countries))
    if filters.pairs:
        conds.append(
            incident.c.section_id.in_(
                select(border_section.c.section_id).where(border_section.c.pair_id.in_(filters.pairs))
            )
        )
    return conds


def _in_box(box: BBox | None) -> list[ColumnElement[bool]]:
    if box is None:
        return []
    envelope = func.ST_MakeEnvelope(box.west, box.south, box.east, box.north, 4326)
    return [incident.c.geom.intersects(envelope)]


@dataclass(frozen=True)
class IncidentLayer:
    """What the incidents layer shows for one viewport.

    Attributes
    ----------
    mode
        ``"points"`` (``rows`` are incidents: id, category, lon, lat) or ``"clusters"`` (``rows``
        are grid cells: lon, lat, count, and one count per category).
    rows
        At most ``cap`` rows.
    in_view
        Incidents in the viewport that match the filters.
    """

    mode: str
    rows: list[dict[str, Any]]
    in_view: int


def cluster_cell_degrees(zoom: int) -> float:
    """Width in degrees of a ``CLUSTER_CELL_PX`` pixel cell at ``zoom`` (Web Mercator)."""
    return 360.0 * CLUSTER_CELL_PX / (256 * 2 ** max(0, zoom))


def incident_layer(engine: Engine, filters: Filters, box: BBox | None, zoom: int, cap: int) -> IncidentLayer:
    """Raw points if at most ``cap`` incidents are in view, otherwise server-side grid clusters."""
    where = [*filter_conditions(filters), *_in_box(box)]
    points = (
        select(
            incident.c.id,
            incident.c.category,
            func.ST_X(incident.c.geom).label("lon"),
            func.ST_Y(incident.c.geom).label("lat"),
        )
        .where(*where)
        .limit(cap + 1)
    )
    rows = [dict(r) for r in fetch_all(engine, points)]
    if len(rows) <= cap:
        return IncidentLayer(mode="points", rows=rows, in_view=len(rows))

    centre_lat = (box.south + box.north) / 2 if box else 42.0
    cell_x = cluster_cell_degrees(zoom)
    cell_y = cell_x * max(0.2, math.cos(math.radians(centre_lat)))
    x, y = func.ST_X(incident.c.geom), func.ST_Y(incident.c.geom)
    gx = func.floor(x / bindparam("cell_x", cell_x)).label("gx")
    gy = func.floor(y / bindparam("cell_y", cell_y)).label("gy")
    per_category = [
        func.count().filter(incident.c.category == literal(c)).label(c) for c in INCIDENT_CATEGORIES
    ]
    clusters = (
        select(
            gx,
            gy,
            func.count().label("count"),
            func.avg(x).label("lon"),
            func.avg(y).label("lat"),
            *per_category,
            func.sum(func.count()).over().label("total"),
        )
        .where(*where)
        .group_by(gx, gy)
        .order_by(func.count().desc())
        .limit(cap)
    )
    cells = [dict(r) for r in fetch_all(engine, clusters)]
    total = int(cells[0]["total"]) if cells else 0
    for cell in cells:
        for key in ("gx", "gy", "total"):
            cell.pop(key)
    return IncidentLayer(mode="clusters", rows=cells, in_view=total)


def h3_resolution_for_zoom(zoom: int) -> int:
    """H3 resolution whose hexagons are roughly 15-40 px wide at ``zoom`` (around 42° N)."""
    if zoom <= 5:
        return 3
    if zoom == 6:
        return 4
    if zoom <= 9:
        return 5
    if zoom <= 12:
        return 7
    return 9


def h3_parent_masks(resolution: int) -> tuple[int, int]:
    """``(keep, set)`` so that ``(cell & keep) | set`` is the parent of a finer cell.

    An H3 index holds its resolution in bits 52-55 and one 3-bit digit per resolution below
    that; digits finer than the cell's resolution are all ones. Both masks are signed 64-bit.
    """
    if not 0 <= resolution <= 15:
        raise ValueError(f"H3 resolution out of range: {resolution}")
    unused = (1 << ((15 - resolution) * 3)) - 1
    keep = ~((0xF << 52) | unused)
    return keep, (resolution << 52) | unused


def hex_counts(
    engine: Engine, filters: Filters, box: BBox | None, resolution: int, cap: int
) -> list[tuple[int, int]]:
    """``(h3 cell, incidents)`` at ``resolution`` in the viewport, densest first, at most ``cap``.

    Resolutions 5, 7 and 9 read the stored columns; coarser ones roll ``h3_r5`` up in SQL.
    """
    stored = {5: incident.c.h3_r5, 7: incident.c.h3_r7, 9: incident.c.h3_r9}
    if resolution in stored:
        cell: ColumnElement[int] = stored[resolution]
        source = cell
    elif resolution < 5:
        keep, setbits = h3_parent_masks(resolution)
        source = incident.c.h3_r5
        cell = source.op("&")(bindparam("keep", keep, BigInteger)).op("|")(
            bindparam("setbits", setbits, BigInteger)
        )
    else:
        raise ValueError(f"no stored H3 column for resolution {resolution}")
    labelled = cell.label("cell")
    stmt = (
        select(labelled, func.count().label("n"))
        .where(*filter_conditions(filters), *_in_box(box), source.is_not(None))
        .group_by(labelled)
        .order_by(func.count().desc())
        .limit(cap)
    )
    return [(int(r["cell"]), int(r["n"])) for r in fetch_all(engine, stmt)]


_FEED_COLUMNS = (
    incident.c.id,
    incident.c.incident_id,
    incident.c.source,
    incident.c.occurred_at,
    incident.c.category,
    incident.c.subtype,
    incident.c.persons,
    incident.c.impact,
    incident.c.country,
    incident.c.section_id,
    incident.c.nearest_bcp,
)


def feed(engine: Engine, filters: Filters, limit: int = FEED_SIZE) -> list[dict[str, Any]]:
    """The newest incidents matching ``filters`` (by time of occurrence), with coordinates."""
    stmt = (
        select(
            *_FEED_COLUMNS,
            func.ST_X(incident.c.geom).label("lon"),
            func.ST_Y(incident.c.geom).label("lat"),
        )
        .where(*filter_conditions(filters))
        .order_by(incident.c.occurred_at.desc(), incident.c.id.desc())
        .limit(limit)
    )
    return [dict(r) for r in fetch_all(engine, stmt)]


def count(engine: Engine, filters: Filters) -> int:
    """Incidents matching ``filters`` anywhere."""
    row = fetch_one(engine, select(func.count().label("n")).where(*filter_conditions(filters)))
    return int(row["n"]) if row else 0


@dataclass(frozen=True)
class Extent:
    """Time span and newest id of the loaded incidents (all None when there are none)."""

    first: date | None
    last: date | None
    max_id: int


def extent(engine: Engine) -> Extent:
    """First and last incident date and the highest incident id."""
    stmt = select(
        func.min(incident.c.occurred_at).label("first"),
        func.max(incident.c.occurred_at).label("last"),
        func.coalesce(func.max(incident.c.id), 0).label("max_id"),
    )
    row = fetch_one(engine, stmt)
    assert row is not None
    first: datetime | None = row["first"]
    last: datetime | None = row["last"]
    return Extent(
        first=first.date() if first else None,
        last=last.date() if last else None,
        max_id=int(row["max_id"]),
    )


@dataclass(frozen=True)
class NewIncidents:
    """Incidents loaded after a watermark id that match the filters."""

    max_id: int
    count: int
    rows: list[dict[str, Any]]


def new_since(engine: Engine, filters: Filters, after_id: int, cap: int = NEW_CAP) -> NewIncidents:
    """Incidents with ``id > after_id`` matching ``filters`` (newest first, at most ``cap``)."""
    newest = fetch_one(engine, select(func.coalesce(func.max(incident.c.id), 0).label("m")))
    max_id = int(newest["m"]) if newest else after_id
    if max_id <= after_id:
        return NewIncidents(max_id=max_id, count=0, rows=[])
    where = [incident.c.id > after_id, incident.c.id <= max_id, *filter_conditions(filters)]
    stmt = (
        select(
            incident.c.id,
            incident.c.category,
            func.ST_X(incident.c.geom).label("lon"),
            func.ST_Y(incident.c.geom).label("lat"),
            func.count().over().label("total"),
        )
        .where(*where)
        .order_by(incident.c.id.desc())
        .limit(cap)
    )
    rows = [dict(r) for r in fetch_all(engine, stmt)]
    total = int(rows[0]["total"]) if rows else 0
    for row in rows:
        row.pop("total")
    return NewIncidents(max_id=max_id, count=total, rows=rows)


def detail(engine: Engine, incident_pk: int) -> dict[str, Any] | None:
    """Every stored field of one incident, with its nearest BCP and border section spelled out."""
    near = bcp.alias("near")
    home = country.alias("home")
    stmt = (
        select(
            *[c for c in incident.c if c.name != "geom"],
            func.ST_X(incident.c.geom).label("lon"),
            func.ST_Y(incident.c.geom).label("lat"),
            home.c.name.label("country_name"),
            near.c.name_a.label("bcp_name_a"),
            near.c.name_b.label("bcp_name_b"),
            near.c.country_a.label("bcp_country_a"),
            near.c.country_b.label("bcp_country_b"),
            near.c.mode.label("bcp_mode"),
            border_section.c.pair_id.label("section_pair"),
            border_section.c.impact_level.label("section_impact"),
            border_section.c.impact_reason.label("section_impact_reason"),
        )
        .select_from(
            incident.outerjoin(home, home.c.iso2 == incident.c.country)
            .outerjoin(near, near.c.code == incident.c.nearest_bcp)
            .outerjoin(border_section, border_section.c.section_id == incident.c.section_id)
        )
        .where(and_(incident.c.id == bindparam("pk", incident_pk, BigInteger)))
    )
    row = fetch_one(engine, stmt)
    return dict(row) if row else None


def subtypes(engine: Engine) -> dict[str, list[str]]:
    """Category -> the subtypes that occur in the warehouse (for the subtype filter)."""
    stmt = (
        select(incident.c.category, incident.c.subtype)
        .where(incident.c.subtype.is_not(None))
        .group_by(incident.c.category, incident.c.subtype)
        .order_by(incident.c.category, incident.c.subtype)
    )
    out: dict[str, list[str]] = {}
    for r in fetch_all(engine, stmt):
        out.setdefault(r["category"], []).append(r["subtype"])
    return out
