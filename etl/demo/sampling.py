"""Vectorised placement of points along real borders and around real places.

Every function takes a numpy ``Generator`` and arrays, and returns arrays plus an ``ok`` mask:
a point is only ``ok`` when it lies inside the country it was meant for (checked against the
real polygon), so callers can resample or fall back instead of writing a point in the sea or
in a third country.
"""

from __future__ import annotations

import numpy as np

from etl.demo.reference import KM_PER_DEG_LAT, KM_PER_DEG_LON, Borders, Reference

DECIMALS = 5


def points_on_sections(
    rng: np.random.Generator, borders: Borders, sec_idx: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Uniform points by arc length on the given sections, with the unit normal there.

    Returns
    -------
    lon, lat, nx, ny
        The points and a unit normal of the border at each point, in km space (east, north).
    """
    start = np.where(
        borders.sec_first > 0, borders.seg_cum_km[np.maximum(borders.sec_first - 1, 0)], 0.0
    )[sec_idx]
    length = borders.sec_len_km[sec_idx]
    target = start + rng.random(len(sec_idx)) * length
    seg = np.searchsorted(borders.seg_cum_km, target, side="right")
    last = borders.sec_first[sec_idx] + borders.sec_count[sec_idx] - 1
    seg = np.clip(seg, borders.sec_first[sec_idx], last)
    seg_start = np.where(seg > 0, borders.seg_cum_km[np.maximum(seg - 1, 0)], 0.0)
    seg_len = borders.seg_cum_km[seg] - seg_start
    t = np.clip((target - seg_start) / np.where(seg_len > 0, seg_len, 1.0), 0.0, 1.0)
    lon = borders.seg_x0[seg] + t * borders.seg_dx[seg]
    lat = borders.seg_y0[seg] + t * borders.seg_dy[seg]
    ex = borders.seg_dx[seg] * KM_PER_DEG_LON * np.cos(np.radians(lat))
    ey = borders.seg_dy[seg] * KM_PER_DEG_LAT
    norm = np.hypot(ex, ey)
    norm = np.where(norm > 0, norm, 1.0)
    return lon, lat, -ey / norm, ex / norm


def offset(
    lon: np.ndarray, lat: np.ndarray, east_km: np.ndarray, north_km: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Move points by a displacement in km (equirectangular; fine at these distances).

    The result is rounded to the 5 decimals (about 1 m) written to the files, so that the
    country check is made on the very point a loader will read.
    """
    new_lat = lat + north_km / KM_PER_DEG_LAT
    new_lon = lon + east_km / (KM_PER_DEG_LON * np.cos(np.radians(lat)))
    return np.round(new_lon, DECIMALS), np.round(new_lat, DECIMALS)


def near_border(
    rng: np.random.Generator,
    ref: Reference,
    sec_idx: np.ndarray,
    country: np.ndarray,
    dist_km: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points on the given sections moved ``dist_km`` into ``country`` across the border normal.

    A point whose offset lands outside the country (a bend of the border, a third country,
    the sea) is tried on the other side of the normal, then at a third, a tenth and a
    hundredth of the distance. ``ok`` is False for the few that never land inside.
    """
    lon0, lat0, nx, ny = points_on_sections(rng, ref.borders, sec_idx)
    lon = np.empty_like(lon0)
    lat = np.empty_like(lat0)
    ok = np.zeros(len(lon0), dtype=bool)
    for shrink in (1.0, 1 / 3, 0.1, 0.01):
        for sign in (1.0, -1.0):
            todo = ~ok
            if not todo.any():
                return lon, lat, ok
            d = dist_km[todo] * shrink * sign
            x, y = offset(lon0[todo], lat0[todo], nx[todo] * d, ny[todo] * d)
            inside = ref.contains(country[todo], x, y)
            idx = np.flatnonzero(todo)[inside]
            lon[idx], lat[idx] = x[inside], y[inside]
            ok[idx] = True
    return lon, lat, ok


def scatter(
    rng: np.random.Generator,
    ref: Reference,
    clon: np.ndarray,
    clat: np.ndarray,
    radius_km: np.ndarray,
    country: np.ndarray,
    *,
    tries: int = 6,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points uniform in a disc around each centre, kept only inside ``country``.

    Each point is drawn again (up to ``tries`` times) while it falls outside its country.
    """
    n = len(clon)
    lon = np.empty(n)
    lat = np.empty(n)
    ok = np.zeros(n, dtype=bool)
    for _ in range(tries):
        todo = np.flatnonzero(~ok)
        if not len(todo):
            break
        r = radius_km[todo] * np.sqrt(rng.random(len(todo)))
        a = rng.random(len(todo)) * 2 * np.pi
        x, y = offset(clon[todo], clat[todo], r * np.cos(a), r * np.sin(a))
        inside = ref.contains(country[todo], x, y)
        idx = todo[inside]
        lon[idx], lat[idx] = x[inside], y[inside]
        ok[idx] = True
    return lon, lat, ok
