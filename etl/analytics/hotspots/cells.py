"""H3 cells of the hotspot analysis: the study area, cell ids at any resolution, ring neighbours.

The study area
--------------
Gi* compares each cell's neighbourhood with the mean of *every* cell in the study area, so the
cells with no incident matter as much as the busy ones. Counting only cells that hold an
incident would drop the quiet stretches of border and make the busy ones look ordinary; counting
the whole of eight countries would fill the mean with mountains and farmland where no border
service works, and every cell on a border would look hot. borderwatch therefore fixes the study
area from the geography alone, never from the data:

    **the land border zone**: the land of the eight administrations within ``zone_km`` (a
    setting, default 30 km) of a land border line of one of them; the study cells are every H3
    cell that overlaps that zone, plus the cell of every border crossing point (a port or an
    airport lies beyond the land zone, and is a border all the same).

Overlap, not "centre inside": most incidents happen within a kilometre or two of the line, and
a cell across the line belongs to the study whichever side its centre falls on. 30 km takes in
the green border, the crossing points and the roads behind them where apprehensions inland are
made, and leaves out the interior; set it to the depth your services work in.

Coastlines are not border lines. Incidents outside the zone (deep inland) are left out of the
statistic and counted in the report, so nothing disappears silently. The zone depends only on
the reference geodata and the settings, so two analyses are comparable, and a cell with no
incident in the zone is a real zero.

Neighbours
----------
Binary weights from H3 rings: the neighbours of a cell are the cells within ``k`` grid steps
(``grid_disk``) that belong to the study area, the cell itself included (Gi*, "star"). A cell on
the edge of the zone simply has fewer neighbours, as in a fixed-distance band.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import h3
import numpy as np
import shapely
from h3.api import basic_int as h3int
from pyproj import Transformer
from scipy import sparse

#: Resolutions the analysis accepts: 4 (~1,770 km² per cell) to 8 (~0.7 km²).
RESOLUTIONS = range(4, 9)
LAEA = "EPSG:3035"
_RES_SHIFT = np.uint64(52)


def _in_laea(geom: shapely.Geometry, to: Transformer) -> shapely.Geometry:
    return shapely.transform(geom, lambda xy: np.column_stack(to.transform(xy[:, 0], xy[:, 1])))


def border_zone(land: Iterable[shapely.Geometry], borders: Iterable[shapely.Geometry],
                zone_km: float) -> shapely.Geometry:
    """The land border zone (lon/lat): ``land`` within ``zone_km`` of the ``borders`` lines.

    Parameters
    ----------
    land
        The (multi)polygons of the administrations in the study (lon/lat, EPSG:4326).
    borders
        Their land border lines (lon/lat).
    zone_km
        Depth of the zone on each side, measured in ETRS89-LAEA (EPSG:3035) metres.
    """
    to = Transformer.from_crs("EPSG:4326", LAEA, always_xy=True)
    back = Transformer.from_crs(LAEA, "EPSG:4326", always_xy=True)
    lines = shapely.union_all(list(borders))
    if lines.is_empty:
        return shapely.Polygon()
    band = shapely.buffer(_in_laea(lines, to), zone_km * 1000.0, quad_segs=8)
    return shapely.intersection(_in_laea(band, back), shapely.union_all(list(land)))


def zone_cells(zone: shapely.Geometry, resolution: int,
               points: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Sorted int64 ids of the H3 cells at ``resolution`` that overlap ``zone`` (lon/lat), plus
    the cells holding ``points`` (latitudes, longitudes: the BCPs)."""
    check_resolution(resolution)
    found: list[int] = []
    if not zone.is_empty:
        shape = h3.geo_to_h3shape(zone)
        found = list(h3int.h3shape_to_cells_experimental(shape, resolution, contain="overlap"))
    if points is not None:
        found += [h3int.latlng_to_cell(float(a), float(o), resolution)
                  for a, o in zip(np.asarray(points[0]).tolist(), np.asarray(points[1]).tolist(),
                                  strict=True)]
    return np.unique(np.array(found, dtype=np.uint64).view(np.int64))


def check_resolution(resolution: int) -> None:
    """Raise ``ValueError`` for a resolution outside ``RESOLUTIONS``."""
    if resolution not in RESOLUTIONS:
        raise ValueError(f"H3 resolution must be {RESOLUTIONS.start}..{RESOLUTIONS.stop - 1}, "
                         f"not {resolution}")


def to_resolution(cells: np.ndarray, resolution: int) -> np.ndarray:
    """The int64 parents at ``resolution`` of finer (or equal) int64 H3 cells (bit arithmetic,
    the same as ``h3.cell_to_parent``)."""
    u = np.asarray(cells, dtype=np.int64).view(np.uint64)
    out = (u & ~(np.uint64(0xF) << _RES_SHIFT)) | (np.uint64(resolution) << _RES_SHIFT)
    unused = np.uint64(0)
    for r in range(resolution + 1, 16):
        unused |= np.uint64(7) << np.uint64((15 - r) * 3)
    return (out | unused).view(np.int64)


def neighbours(cells: np.ndarray, k: int) -> sparse.csr_matrix:
    """Binary Gi* weights: ``W[i, j] = 1`` when cell j is within ``k`` rings of cell i (the cell
    itself included) and both are in ``cells``. Rows and columns follow ``cells``' order."""
    if k < 1:
        raise ValueError("k must be 1 or more")
    ids = np.asarray(cells, dtype=np.int64)
    index = {int(c): i for i, c in enumerate(ids.tolist())}
    rows: list[int] = []
    cols: list[int] = []
    for i, c in enumerate(ids.tolist()):
        for n in h3int.grid_disk(c, k):
            j = index.get(n)
            if j is not None:
                rows.append(i)
                cols.append(j)
    data = np.ones(len(rows), dtype=np.float64)
    return sparse.csr_matrix((data, (rows, cols)), shape=(len(ids), len(ids)))


def centres(cells: Sequence[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Latitude and longitude of each cell's centre."""
    pts = [h3int.cell_to_latlng(int(c)) for c in np.asarray(cells, dtype=np.int64).tolist()]
    arr = np.array(pts, dtype=float).reshape(-1, 2)
    return arr[:, 0], arr[:, 1]


def cell_text(cell: int) -> str:
    """The usual hexadecimal form of an int64 cell id (``861e8050fffffff``)."""
    return str(h3.int_to_str(int(np.int64(cell).view(np.uint64))))


def cell_from_text(text: str) -> int:
    """Inverse of :func:`cell_text` (signed int64, as stored)."""
    return int(np.uint64(h3.str_to_int(text)).view(np.int64))


def index_of(cells: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Position of each value in the sorted ``cells`` (-1 when it is not a study cell)."""
    pos = np.searchsorted(cells, values)
    pos = np.clip(pos, 0, max(len(cells) - 1, 0))
    found = (len(cells) > 0) & (cells[pos] == values) if len(cells) else np.zeros(len(values), bool)
    return np.where(found, pos, -1)
