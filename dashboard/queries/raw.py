"""Map queries on single incidents: filters, the viewport test, points, grid cells, H3 counts.

A :class:`Source` says which incidents a query reads: the whole ``incident`` table, or only the
(cell, time range) *spots* the rollup lists (:func:`dashboard.queries.rollup.spots`), which the
covering index ``ix_incident_h3_r5_time`` answers with index-only scans.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, FromClause, bindparam, case, func, literal, select

from dashboard.queries.gateway import Reader
from dashboard.viewstate import Filters
from etl.warehouse.schema import INCIDENT_CATEGORIES, border_section, h3_parent_masks, incident


@dataclass(frozen=True)
class BBox:
    """A viewport in degrees (west, south, east, north), clamped to the Web Mercator world."""

    west: float
    south: float
    east: float
    north: float

    @classmethod
    def from_leaflet(cls, bounds: Sequence[Sequence[float]] | None) -> BBox | None:
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

    def holds(self, west: float, south: float, east: float, north: float) -> bool:
        """Whether the box ``west, south, east, north`` lies inside this one (edges included)."""
        return west >= self.west and east <= self.east and south >= self.south and north <= self.north


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


def in_box(box: BBox | None) -> list[ColumnElement[bool]]:
    """Incidents in ``box``, edges included (exact, unlike the rounded boxes of ``&&``)."""
    if box is None:
        return []
    envelope = func.ST_MakeEnvelope(box.west, box.south, box.east, box.north, 4326)
    return [func.ST_Intersects(incident.c.geom, envelope)]


def xy_in_box(box: BBox) -> list[ColumnElement[bool]]:
    """The test of :func:`in_box` on the coordinates: the planner then stays on the covering
    index of the spots instead of combining it with the GiST index."""
    x, y = func.ST_X(incident.c.geom), func.ST_Y(incident.c.geom)
    return [x >= box.west, x <= box.east, y >= box.south, y <= box.north]


@dataclass(frozen=True)
class Source:
    """Which incidents a query reads: a FROM clause (``incident``, maybe joined) and conditions."""

    table: FromClause = incident
    where: list[ColumnElement[bool]] = field(default_factory=list)


#: An incident closer than this to its nearest BCP (metres) is *at* it: placed there by its
#: ``bcp_code``. The map draws such incidents as a count on the BCP, not as a stack of dots.
AT_BCP_M = 1.0


def point_columns() -> list[ColumnElement[Any]]:
    """What a map point needs of an incident: id, category, lon, lat, and the BCP it is placed
    at (``bcp``; None for an incident with a place of its own)."""
    return [
        incident.c.id,
        incident.c.category,
        func.ST_X(incident.c.geom).label("lon"),
        func.ST_Y(incident.c.geom).label("lat"),
        case((incident.c.nearest_bcp_m < AT_BCP_M, incident.c.nearest_bcp)).label("bcp"),
    ]


def points(reader: Reader, sources: Iterable[Source], cap: int) -> list[dict[str, Any]]:
    """Up to ``cap + 1`` matching incidents: id, category, lon, lat, bcp."""
    out: list[dict[str, Any]] = []
    for src in sources:
        stmt = (
            select(*point_columns())
            .select_from(src.table)
            .where(*src.where)
            .limit(cap + 1 - len(out))
        )
        out += reader.dicts(stmt)
        if len(out) > cap:
            break
    return out


@dataclass(frozen=True)
class Grid:
    """Cluster cells of ``cell_x`` by ``cell_y`` degrees: ``gx = floor(lon / cell_x)``."""

    cell_x: float
    cell_y: float

    @classmethod
    def for_view(cls, cell_x: float, centre_lat: float) -> Grid:
        """Square on screen at ``centre_lat`` (Web Mercator)."""
        return cls(cell_x, cell_x * max(0.2, math.cos(math.radians(centre_lat))))

    def count(self, reader: Reader, sources: Iterable[Source]) -> list[dict[str, Any]]:
        """Matching incidents per grid cell: gx, gy, count, sx, sy and a count per category."""
        x, y = func.ST_X(incident.c.geom), func.ST_Y(incident.c.geom)
        gx = func.floor(x / bindparam("cell_x", self.cell_x)).label("gx")
        gy = func.floor(y / bindparam("cell_y", self.cell_y)).label("gy")
        out: list[dict[str, Any]] = []
        for src in sources:
            stmt = (
                select(
                    gx,
                    gy,
                    func.count().label("count"),
                    func.sum(x).label("sx"),
                    func.sum(y).label("sy"),
                    *[func.count().filter(incident.c.category == literal(c)).label(c)
                      for c in INCIDENT_CATEGORIES],
                )
                .select_from(src.table)
                .where(*src.where)
                .group_by(gx, gy)
            )
            out += reader.dicts(stmt)
        return out

    def place(self, lon: float, lat: float, n: int, per_category: dict[str, int]) -> dict[str, Any]:
        """``n`` incidents centred on ``lon, lat`` as a part of the grid cell there."""
        return {"gx": math.floor(lon / self.cell_x), "gy": math.floor(lat / self.cell_y),
                "count": n, "sx": lon * n, "sy": lat * n, **per_category}


def merge_grid(parts: Iterable[dict[str, Any]], cap: int) -> tuple[list[dict[str, Any]], int]:
    """Parts summed by grid cell: the ``cap`` fullest (lon, lat, count, per category), and the
    total count."""
    merged: dict[tuple[int, int], dict[str, Any]] = {}
    for part in parts:
        into = merged.setdefault((int(part["gx"]), int(part["gy"])), {
            "count": 0, "sx": 0.0, "sy": 0.0, **dict.fromkeys(INCIDENT_CATEGORIES, 0)})
        for key in ("count", *INCIDENT_CATEGORIES):
            into[key] += int(part[key])
        into["sx"] += float(part["sx"])
        into["sy"] += float(part["sy"])
    fullest = sorted(merged.values(), key=lambda m: -m["count"])[:cap]
    rows = [{"count": m["count"], "lon": m["sx"] / m["count"], "lat": m["sy"] / m["count"],
             **{c: m[c] for c in INCIDENT_CATEGORIES}} for m in fullest]
    return rows, sum(m["count"] for m in merged.values())


def h3_parent(cell: int, resolution: int) -> int:
    """The parent at ``resolution`` of a finer H3 cell."""
    keep, setbits = h3_parent_masks(resolution)
    return (cell & keep) | setbits


def hex_counts(reader: Reader, sources: Iterable[Source], resolution: int) -> dict[int, int]:
    """Matching incidents per H3 cell at ``resolution``: the stored ``h3_r5`` / ``h3_r7`` /
    ``h3_r9``, coarser ones rolled up from ``h3_r5`` by bit arithmetic."""
    stored = {5: incident.c.h3_r5, 7: incident.c.h3_r7, 9: incident.c.h3_r9}
    if resolution in stored:
        cell: ColumnElement[int] = stored[resolution]
        column = cell
    elif 0 <= resolution < 5:
        keep, setbits = h3_parent_masks(resolution)
        column = incident.c.h3_r5
        cell = column.op("&")(bindparam("keep", keep, BigInteger)).op("|")(
            bindparam("setbits", setbits, BigInteger))
    else:
        raise ValueError(f"no stored H3 column for resolution {resolution}")
    labelled = cell.label("cell")
    out: dict[int, int] = {}
    for src in sources:
        stmt = (select(labelled, func.count().label("n")).select_from(src.table)
                .where(*src.where, column.is_not(None)).group_by(labelled))
        for r in reader.all(stmt):
            out[int(r["cell"])] = out.get(int(r["cell"]), 0) + int(r["n"])
    return out
