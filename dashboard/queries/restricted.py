"""Map answers for a restricted scope: the incidents a user may not see one by one, as counts.

A national officer sees some incidents one by one (``scope.detail``) and the others
(``scope.hidden``) only as aggregates; a forum viewer sees every incident only as aggregates.
An aggregate must never reveal a single restricted incident, so here every count is

- of a **whole H3 cell** (resolution 5 or coarser, about 250 km² and up): every matching
  incident of the cell counts wherever it lies in the cell, so moving the viewport's edge
  across an incident never changes a count (the cells are those overlapping the viewport);
- placed at the **cell's centre**, never at the mean or the box of its incidents;
- a bare number: no category, id, time or text.

The cells of one answer are those of :func:`cover`; resolutions only ever step down by whole
H3 levels, whose cells nest, so combining answers at several zooms reveals no finer cell.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import h3
import h3.api.basic_int as h3i
from sqlalchemy import ARRAY, BigInteger, ColumnElement, any_, bindparam, func, select

from dashboard.queries import rollup as summary
from dashboard.queries.gateway import Reader
from dashboard.queries.raw import BBox, filter_conditions
from dashboard.queries.scope import Scope
from dashboard.viewstate import Filters
from etl.warehouse.schema import incident

#: Finest H3 resolution of a restricted aggregate (r5 cells are about 250 km²).
FINEST = 5
#: Longitude span of one polygon handed to H3 (its edges must stay far below 180°).
_SLICE_DEG = 60.0


def cover(box: BBox, resolution: int, cap: int) -> tuple[int, list[int]]:
    """``(resolution, cells)``: the H3 cells overlapping ``box`` at ``min(resolution, FINEST)``,
    one level coarser at a time until there are at most ``cap`` of them."""
    res = min(resolution, FINEST)
    while True:
        cells: set[int] = set()
        west = box.west
        while west < box.east:
            east = min(box.east, west + _SLICE_DEG)
            poly = h3.LatLngPoly([(box.south, west), (box.south, east), (box.north, east), (box.north, west)])
            cells.update(h3i.h3shape_to_cells_experimental(poly, res, contain="overlap"))
            west = east
        if len(cells) <= cap or res == 0:
            return res, sorted(cells)
        res -= 1


def centre(cell: int) -> tuple[float, float]:
    """``(lon, lat)`` of an H3 cell's centre."""
    lat, lon = h3i.cell_to_latlng(cell)
    return float(lon), float(lat)


def _parent(resolution: int) -> ColumnElement[Any]:
    return summary.h3_parent_sql(incident.c.h3_r5, resolution)  # type: ignore[no-any-return]


def raw_counts(reader: Reader, filters: Filters, rule: ColumnElement[bool], resolution: int,
               cells: Sequence[int]) -> dict[int, int]:
    """Incidents matching ``filters`` and ``rule`` per whole cell of ``cells`` (at ``resolution``)."""
    if not cells:
        return {}
    parent = _parent(resolution)
    stmt = (
        select(parent.label("cell"), func.count().label("n"))
        .where(*filter_conditions(filters), rule, incident.c.h3_r5.is_not(None),
               parent == any_(bindparam("cover", list(cells), ARRAY(BigInteger))))
        .group_by(parent)
    )
    return {int(r["cell"]): int(r["n"]) for r in reader.all(stmt)}


def all_counts(reader: Reader, scope: Scope, filters: Filters, box: BBox, resolution: int, cap: int
               ) -> tuple[int, dict[int, int]]:
    """``(resolution, {cell: incidents})``: every matching incident, per whole cell overlapping
    ``box`` (the rollup answers when it is current)."""
    res, cells = cover(box, resolution, cap)
    known = summary.current(reader)
    if known is not None:
        return res, summary.parent_counts(reader, known, filters, res, cells)
    return res, raw_counts(reader, filters, scope.everything, res, cells)


def hidden_counts(reader: Reader, scope: Scope, filters: Filters, box: BBox, resolution: int, cap: int
                  ) -> list[dict[str, Any]]:
    """The incidents ``scope`` may not see one by one, per whole cell overlapping ``box``:
    ``{"lon", "lat", "count"}`` at each cell's centre, fullest first."""
    if not scope.sees_single_incidents:
        _res, counts = all_counts(reader, scope, filters, box, resolution, cap)
    else:
        res, cells = cover(box, resolution, cap)
        counts = raw_counts(reader, filters, scope.hidden, res, cells)
    out = []
    for cell, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        lon, lat = centre(cell)
        out.append({"lon": lon, "lat": lat, "count": n})
    return out


def gistar_coarse_enough(resolution: int, k: int) -> bool:
    """Whether the Gi* classes of a hotspot analysis may be shown to a restricted role: the
    statistic of a cell sums its neighbourhood (the cell and its ``k`` rings, ``1 + 3k(k+1)``
    cells), which must cover at least the area of a ``FINEST`` cell (each H3 level is 7 times
    smaller). The default analysis (resolution 6, one ring: 7 cells) covers exactly one r5 cell;
    resolution 7 needs four rings."""
    return 1 + 3 * k * (k + 1) >= 7 ** max(0, resolution - FINEST)
