"""Incident queries of the situation map, aggregated on the server by viewport and zoom.

The map never asks for more than ``cap`` rows: raw points when the viewport holds few enough
incidents, otherwise grid clusters (``floor(x / cell)``) or H3 cells (the stored ``h3_r5`` /
``h3_r7`` / ``h3_r9`` ids, rolled up to coarser resolutions by bit arithmetic).

Counts, clusters and hexagons come from the incident rollup (:mod:`dashboard.queries.rollup`)
whenever it covers every incident: cells wholly inside the viewport count from the summary,
the cells on its edge (and, from ``FINE_ZOOM`` on, every cell in view) from single incidents.
Without a current rollup (incidents written outside the ETL, not yet refreshed) the same
answers come from ``incident`` alone, slower. Both ways give the same numbers.

Everything here follows the user's scope (:func:`dashboard.queries.gateway.scope`): single
incidents (points, feed, details, new ones) only where ``scope.detail`` holds; for a restricted
scope the others become whole-cell counts at cell centres (:mod:`dashboard.queries.restricted`)
and hexagons stay at H3 resolution 5 or coarser.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Engine,
    Text,
    and_,
    any_,
    bindparam,
    case,
    cast,
    func,
    literal_column,
    select,
)

from dashboard.limits import DESCRIPTION_CHARS, EXTRA_BYTES, FIELD_CHARS, REASON_CHARS
from dashboard.queries import restricted
from dashboard.queries import rollup as summary
from dashboard.queries.gateway import Reader, fetch_all, fetch_one, reading, scope
from dashboard.queries.raw import (
    BBox,
    Grid,
    Source,
    filter_conditions,
    h3_parent,
    in_box,
    merge_grid,
    point_columns,
    points,
    xy_in_box,
)
from dashboard.queries.raw import hex_counts as raw_hex_counts
from dashboard.queries.scope import Scope
from dashboard.viewstate import Filters
from etl.warehouse.schema import (
    INCIDENT_CATEGORIES,
    bcp,
    border_section,
    country,
    h3_parent_masks,
    incident,
)

__all__ = ["BBox", "filter_conditions", "h3_parent_masks", "in_box"]

#: Pixel size of one server-side cluster cell on screen.
CLUSTER_CELL_PX = 64
#: From this zoom on, clusters and hexagons are built from single incidents only (an ``h3_r5``
#: cell is then wider than a cluster cell); below it, cells wholly in view count as a whole.
FINE_ZOOM = 10
#: Share of the update's feature budget (``cap``) the incidents layer may spend on raw points;
#: the rest is left to the hotspot hexagons. 2,500 points are ~280 kB of GeoJSON, so with the
#: hexagons, the basemap and the feed an update stays under 1 MB.
POINTS_SHARE = 0.5
#: Incidents listed in the feed.
FEED_SIZE = 50
#: The feed first looks at this many days before the end of the range.
FEED_FIRST_DAYS = 7
#: New incidents highlighted on the map after a refresh.
NEW_CAP = 500


@dataclass(frozen=True)
class IncidentLayer:
    """What the incidents layer shows for one viewport.

    Attributes
    ----------
    mode
        ``"points"`` (``rows`` are incidents: id, category, lon, lat) or ``"clusters"`` (``rows``
        are grid cells: lon, lat, count, and one count per category).
    rows
        At most ``cap`` rows, all of incidents the user may see one by one.
    in_view
        Incidents in the viewport that match the filters.
    hidden
        For a restricted scope: the other incidents as whole-cell counts at cell centres
        (``lon``, ``lat``, ``count``; see :mod:`dashboard.queries.restricted`).
    badges
        Points mode: the incidents placed at a BCP, counted per BCP (they are not in ``rows``).
    """

    mode: str
    rows: list[dict[str, Any]]
    in_view: int
    hidden: list[dict[str, Any]] = field(default_factory=list)
    badges: list[dict[str, Any]] = field(default_factory=list)


def _points_layer(rows: list[dict[str, Any]]) -> IncidentLayer:
    """Points mode: incidents placed at a BCP become a count on that BCP (``badges``: bcp,
    lon, lat, n), the others stay points; ``in_view`` counts both."""
    badges: dict[str, dict[str, Any]] = {}
    own = []
    for r in rows:
        code = r.get("bcp")
        if code is None:
            own.append(r)
            continue
        badge = badges.setdefault(code, {"bcp": code, "lon": r["lon"], "lat": r["lat"], "n": 0})
        badge["n"] += 1
    return IncidentLayer(mode="points", rows=own, in_view=len(rows),
                         badges=sorted(badges.values(), key=lambda b: b["bcp"]))


def cluster_cell_degrees(zoom: int) -> float:
    """Width in degrees of a ``CLUSTER_CELL_PX`` pixel cell at ``zoom`` (Web Mercator)."""
    return 360.0 * CLUSTER_CELL_PX / (256 * 2 ** max(0, zoom))


def incident_layer(engine: Engine, filters: Filters, box: BBox | None, zoom: int, cap: int) -> IncidentLayer:
    """Raw points if at most ``cap * POINTS_SHARE`` incidents are in view, otherwise at most
    ``cap`` server-side grid clusters.

    Clusters sum to the incidents in view; their position is the mean of their incidents (of
    the cell's matching incidents for a rollup cell wholly in view). For a restricted scope
    the points and clusters hold only the incidents it may see one by one, and ``hidden`` the
    rest (:func:`_restricted_layer`).
    """
    grid = Grid.for_view(cluster_cell_degrees(zoom), (box.south + box.north) / 2 if box else 42.0)
    few = points_cap(cap)
    s = scope()
    if s.restricted:
        return _restricted_layer(engine, s, filters, box or WORLD, zoom, cap)
    with reading(engine) as reader:
        known = summary.current(reader) if box is not None else None
        if known is None or box is None:
            everything = [Source(where=[*filter_conditions(filters), *in_box(box), s.detail])]
            rows = points(reader, everything, few)
            if len(rows) <= few:
                return _points_layer(rows)
            clusters, total = merge_grid(grid.count(reader, everything), cap)
            return IncidentLayer(mode="clusters", rows=clusters, in_view=total)
        cells = summary.cells(reader, known, filters, box)
        where = [*filter_conditions(filters), *xy_in_box(box), s.detail]
        every = _spots(known, filters, where, [c.cell for c in cells])
        if sum(c.n for c in cells) + known.no_cell <= few:
            rows = points(reader, every, few)
            return _points_layer(rows)
        whole = [c for c in cells if c.inside] if zoom < FINE_ZOOM else []
        kept = {c.cell for c in whole}
        edge = _spots(known, filters, where, [c.cell for c in cells if c.cell not in kept])
        parts = grid.count(reader, edge) + [grid.place(c.lon, c.lat, c.n, c.per_category)
                                            for c in whole]
        clusters, total = merge_grid(parts, cap)
        if total <= few:
            rows = points(reader, every, few)
            return _points_layer(rows)
        return IncidentLayer(mode="clusters", rows=clusters, in_view=total)


def _restricted_layer(engine: Engine, s: Scope, filters: Filters, box: BBox, zoom: int, cap: int
                      ) -> IncidentLayer:
    """The incidents layer of a restricted scope: what it may see one by one as points or
    clusters (from ``incident``: the rollup cannot tell them apart), the rest as ``hidden``."""
    grid = Grid.for_view(cluster_cell_degrees(zoom), (box.south + box.north) / 2)
    few = points_cap(cap)
    with reading(engine) as reader:
        hidden = restricted.hidden_counts(reader, s, filters, box, h3_resolution_for_zoom(zoom), cap)
        unseen = sum(h["count"] for h in hidden)
        if not s.sees_single_incidents:
            return IncidentLayer(mode="clusters", rows=[], in_view=unseen, hidden=hidden)
        shown = [Source(where=[*filter_conditions(filters), *in_box(box), s.detail])]
        rows = points(reader, shown, few)
        if len(rows) <= few:
            return replace(_points_layer(rows), in_view=len(rows) + unseen, hidden=hidden)
        clusters, total = merge_grid(grid.count(reader, shown), cap)
        return IncidentLayer(mode="clusters", rows=clusters, in_view=total + unseen, hidden=hidden)


#: The whole map (a restricted query without a viewport).
WORLD = BBox(-180.0, -85.0, 180.0, 85.0)


def points_cap(cap: int) -> int:
    """Most raw points the incidents layer sends for a feature budget of ``cap``."""
    return max(1, int(cap * POINTS_SHARE))


def _spots(known: summary.Rollup, filters: Filters, where: list[Any],
           cell_ids: list[int] | None = None, first: date | None = None) -> list[Source]:
    """Incidents meeting ``where`` in the rollup's spots of the filters (of ``cell_ids`` only,
    from the bucket starting on ``first`` on), and those without a cell."""
    out = []
    if cell_ids is None or cell_ids:
        spot = summary.spots(known, filters, cell_ids, first)
        joined = incident.join(spot, and_(incident.c.h3_r5 == spot.c.cell,
                                          incident.c.occurred_at >= spot.c.lo,
                                          incident.c.occurred_at < spot.c.hi))
        out.append(Source(joined, where))
    if known.no_cell:
        out.append(Source(where=[*where, incident.c.h3_r5.is_(None)]))
    return out


def hex_resolution(zoom: int) -> int:
    """The hexagons' H3 resolution at ``zoom`` for the current user (restricted scopes stop at
    :data:`~dashboard.queries.restricted.FINEST`)."""
    wanted = h3_resolution_for_zoom(zoom)
    return min(wanted, restricted.FINEST) if scope().restricted else wanted


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


def hex_counts(
    engine: Engine, filters: Filters, box: BBox | None, resolution: int, cap: int
) -> list[tuple[int, int]]:
    """``(h3 cell, incidents)`` at ``resolution`` in the viewport, densest first, at most ``cap``.

    Counts are of the matching incidents inside ``box``. Resolutions 5, 7 and 9 read the stored
    columns; coarser ones roll ``h3_r5`` up. For a restricted scope the resolution is at most
    :data:`~dashboard.queries.restricted.FINEST` (:func:`hex_resolution`) and every cell
    overlapping ``box`` counts whole (:mod:`dashboard.queries.restricted`).
    """
    s = scope()
    with reading(engine) as reader:
        if s.restricted:
            _res, by_cell = restricted.all_counts(reader, s, filters, box or WORLD, resolution, cap)
            return sorted(by_cell.items(), key=lambda kv: (-kv[1], kv[0]))[:cap]
        known = summary.current(reader) if box is not None and resolution in (3, 4, 5, 7) else None
        if known is None or box is None:
            counts = raw_hex_counts(reader, [Source(where=[*filter_conditions(filters), *in_box(box),
                                                           s.everything])], resolution)
        else:
            cells = summary.cells(reader, known, filters, box, detail=False)
            whole = [c for c in cells if c.inside] if resolution <= 5 else []
            kept = {c.cell for c in whole}
            where = [*filter_conditions(filters), *xy_in_box(box), s.everything]
            edge = _spots(known, filters, where, [c.cell for c in cells if c.cell not in kept])
            counts = raw_hex_counts(reader, edge, resolution)
            for c in whole:
                parent = h3_parent(c.cell, resolution)
                counts[parent] = counts.get(parent, 0) + c.n
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:cap]


_FEED_COLUMNS = (
    incident.c.id,
    func.left(incident.c.incident_id, FIELD_CHARS + 1).label("incident_id"),
    func.left(incident.c.source, FIELD_CHARS + 1).label("source"),
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
    """The newest incidents matching ``filters`` (by time of occurrence), with coordinates.

    Looks at the last ``FEED_FIRST_DAYS`` days first; if fewer match there, the rollup says
    from which bucket on enough do, and which cells to read. Only incidents the user may see
    one by one (none for a forum viewer).
    """
    s = scope()
    if not s.sees_single_incidents:
        return []
    wanted = [*filter_conditions(filters), s.detail]
    with reading(engine) as reader:
        recent = max(filters.date_from, filters.date_to - timedelta(days=FEED_FIRST_DAYS - 1))
        rows = _feed(reader, [Source(where=[*wanted, incident.c.occurred_at >= summary.midnight(recent)])],
                     limit)
        if len(rows) >= limit or recent == filters.date_from:
            return rows
        known = None if s.restricted else summary.current(reader)
        if known is None:
            return _feed(reader, [Source(where=wanted)], limit)
        first = summary.newest_first_day(reader, known, filters, limit)
        if first is None:
            return []
        sources = _spots(known, filters, wanted, first=first)
        return _feed(reader, sources, limit)


def _feed(reader: Reader, sources: list[Source], limit: int) -> list[dict[str, Any]]:
    """The newest ``limit`` incidents of ``sources``: ids by an index-only scan, then details."""
    newest = (incident.c.occurred_at.desc(), incident.c.id.desc())
    found: list[tuple[Any, int]] = []
    for src in sources:
        stmt = (select(incident.c.occurred_at, incident.c.id).select_from(src.table)
                .where(*src.where).order_by(*newest).limit(limit))
        found += [(r["occurred_at"], int(r["id"])) for r in reader.all(stmt)]
    ids = [pk for _, pk in sorted(found, reverse=True)[:limit]]
    if not ids:
        return []
    stmt = (
        select(*_FEED_COLUMNS, func.ST_X(incident.c.geom).label("lon"),
               func.ST_Y(incident.c.geom).label("lat"))
        .where(incident.c.id == any_(bindparam("ids", ids, ARRAY(BigInteger))), scope().detail)
        .order_by(*newest)
    )
    return [dict(r) for r in reader.all(stmt)]


def count(engine: Engine, filters: Filters) -> int:
    """Incidents matching ``filters`` anywhere."""
    with reading(engine) as reader:
        known = summary.current(reader)
        if known is not None:
            return summary.count(reader, known, filters)
        row = reader.one(select(func.count().label("n")).where(*filter_conditions(filters),
                                                                 scope().everything))
    return int(row["n"]) if row else 0


def by_country(engine: Engine, filters: Filters) -> dict[str, dict[str, int]]:
    """Incidents matching ``filters`` per country (``''``: outside every country) and category
    (every category present, zeros included)."""
    with reading(engine) as reader:
        known = summary.current(reader)
        if known is not None:
            found = summary.by_country(reader, known, filters)
        else:
            rows = reader.all(
                select(func.coalesce(incident.c.country, "").label("country"), incident.c.category,
                       func.count().label("n"))
                .where(*filter_conditions(filters), scope().everything)
                .group_by(incident.c.country, incident.c.category)
            )
            found = {}
            for row in rows:
                found.setdefault(row["country"], dict.fromkeys(INCIDENT_CATEGORIES, 0))
                found[row["country"]][row["category"]] = int(row["n"])
    return {iso2: counts for iso2, counts in found.items() if any(counts.values())}


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
    ).where(scope().everything)
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
    """Incidents with ``id > after_id`` matching ``filters`` (newest first, at most ``cap``).

    ``count`` is of every such incident (a number); ``rows`` only of those the user may see one
    by one.
    """
    s = scope()
    newest = fetch_one(engine, select(func.coalesce(func.max(incident.c.id), 0).label("m"))
                       .where(s.everything))
    max_id = int(newest["m"]) if newest else after_id
    if max_id <= after_id:
        return NewIncidents(max_id=max_id, count=0, rows=[])
    where = [incident.c.id > after_id, incident.c.id <= max_id, *filter_conditions(filters)]
    stmt = (
        select(*point_columns(), func.count().over().label("total"))
        .where(*where, s.detail)
        .order_by(incident.c.id.desc())
        .limit(cap)
    )
    rows = [dict(r) for r in fetch_all(engine, stmt)]
    total = int(rows[0]["total"]) if rows else 0
    for row in rows:
        row.pop("total")
    if s.restricted:
        found = fetch_one(engine, select(func.count().label("n")).where(*where, s.everything))
        total = int(found["n"]) if found else 0
    return NewIncidents(max_id=max_id, count=total, rows=rows)


def _detail_column(column: Any) -> Any:
    """A column of the detail query, free text cut in SQL (``dashboard.limits``): the
    description to ``DESCRIPTION_CHARS``, other text to ``FIELD_CHARS``, extra fields dropped
    when they are larger than ``EXTRA_BYTES`` (``attrs_too_big`` says so)."""
    if column.name == "description":
        return func.left(column, DESCRIPTION_CHARS + 1).label(column.name)
    if column.name == "attrs":
        big = func.octet_length(cast(column, Text)) > EXTRA_BYTES
        return case((big, literal_column("'{}'::jsonb")), else_=column).label(column.name)
    if isinstance(column.type, Text):
        return func.left(column, FIELD_CHARS + 1).label(column.name)
    return column


def detail(engine: Engine, incident_pk: int) -> dict[str, Any] | None:
    """Every stored field of one incident, with its nearest BCP and border section spelled out
    (free text cut to the limits of :mod:`dashboard.limits`); None if there is none with that id
    or the user may not see it one by one."""
    near = bcp.alias("near")
    home = country.alias("home")
    stmt = (
        select(
            *[_detail_column(c) for c in incident.c if c.name != "geom"],
            (func.octet_length(cast(incident.c.attrs, Text)) > EXTRA_BYTES).label("attrs_too_big"),
            func.ST_X(incident.c.geom).label("lon"),
            func.ST_Y(incident.c.geom).label("lat"),
            func.left(home.c.name, FIELD_CHARS + 1).label("country_name"),
            func.left(near.c.name_a, FIELD_CHARS + 1).label("bcp_name_a"),
            func.left(near.c.name_b, FIELD_CHARS + 1).label("bcp_name_b"),
            near.c.country_a.label("bcp_country_a"),
            near.c.country_b.label("bcp_country_b"),
            near.c.mode.label("bcp_mode"),
            border_section.c.pair_id.label("section_pair"),
            border_section.c.impact_level.label("section_impact"),
            func.left(border_section.c.impact_reason, REASON_CHARS + 1).label("section_impact_reason"),
        )
        .select_from(
            incident.outerjoin(home, home.c.iso2 == incident.c.country)
            .outerjoin(near, near.c.code == incident.c.nearest_bcp)
            .outerjoin(border_section, border_section.c.section_id == incident.c.section_id)
        )
        .where(and_(incident.c.id == bindparam("pk", incident_pk, BigInteger)), scope().detail)
    )
    row = fetch_one(engine, stmt)
    return dict(row) if row else None


def subtypes(engine: Engine) -> dict[str, list[str]]:
    """Category -> the subtypes that occur in the warehouse (for the subtype filter)."""
    with reading(engine) as reader:
        if summary.current(reader) is not None:
            return summary.subtypes(reader)
    stmt = (
        select(incident.c.category, incident.c.subtype)
        .where(incident.c.subtype.is_not(None), scope().everything)
        .group_by(incident.c.category, incident.c.subtype)
        .order_by(incident.c.category, incident.c.subtype)
    )
    out: dict[str, list[str]] = {}
    for r in fetch_all(engine, stmt):
        out.setdefault(r["category"], []).append(r["subtype"])
    return out
