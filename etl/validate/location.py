"""Where a row is: lat/lon, else a GeoJSON point, else its BCP; with the checks of coordinates
(missing, unparseable, out of range, outside the region, lat and lon likely swapped)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from etl.validate.columns import ColumnChecker
from etl.validate.parse import empty, parse_numbers, show, strings
from etl.validate.spec import GEOM_LAT, GEOM_LON, GEOM_TYPE


def check_location(chk: ColumnChecker) -> tuple[np.ndarray, np.ndarray]:
    """Point of every row: lat/lon, else the GeoJSON point, else its BCP. Records problems."""
    p, n, frame = chk.problems, chk.n, chk.frame
    lat_s, lon_s = strings(chk.raw("lat"), few=False), strings(chk.raw("lon"), few=False)
    lat_missing, lon_missing = empty(lat_s), empty(lon_s)
    lat = parse_numbers(lat_s, lat_missing)
    lon = parse_numbers(lon_s, lon_missing)
    notpoint = np.zeros(n, dtype=bool)
    if GEOM_LON in frame.columns:
        glon = pd.to_numeric(frame[GEOM_LON], errors="coerce").to_numpy(dtype=float)
        glat = pd.to_numeric(frame[GEOM_LAT], errors="coerce").to_numpy(dtype=float)
        use = lat_missing & lon_missing & np.isfinite(glon) & np.isfinite(glat)
        lat, lon = np.where(use, glat, lat), np.where(use, glon, lon)
        lat_missing, lon_missing = lat_missing & ~use, lon_missing & ~use
        gtype = frame[GEOM_TYPE].astype(object).fillna("").to_numpy(dtype=object)
        notpoint = (gtype != "") & (gtype != "Point")
        p.add(notpoint, "bad_geometry", "geometry",
              lambda i: f"geometry is a {gtype[i]}, not a Point")
    lat_s_arr, lon_s_arr = lat_s.to_numpy(dtype=object), lon_s.to_numpy(dtype=object)
    bcp_given = ~chk.missing.get("bcp_code", np.ones(n, dtype=bool))
    none = lat_missing & lon_missing
    p.add(none & ~bcp_given & ~notpoint, "missing_location", None,
          "no location: give lat and lon, a point geometry, or a bcp_code")
    p.add(lat_missing & ~lon_missing, "missing_coordinate", "lat", "lon given without lat")
    p.add(lon_missing & ~lat_missing, "missing_coordinate", "lon", "lat given without lon")
    bad_lat = ~lat_missing & ~np.isfinite(lat)
    bad_lon = ~lon_missing & ~np.isfinite(lon)
    p.add(bad_lat, "bad_coordinate", "lat", lambda i: f"lat {show(lat_s_arr[i])} is not a number")
    p.add(bad_lon, "bad_coordinate", "lon", lambda i: f"lon {show(lon_s_arr[i])} is not a number")
    both = np.isfinite(lat) & np.isfinite(lon)
    la, lo = np.where(both, lat, 0.0), np.where(both, lon, 0.0)
    lat, lon = lat.copy(), lon.copy()
    out_lat = both & (np.abs(la) > 90)
    out_lon = both & (np.abs(lo) > 180)
    p.add(out_lat, "bad_coordinate", "lat", lambda i: f"lat {la[i]:g} is not between -90 and 90")
    p.add(out_lon, "bad_coordinate", "lon", lambda i: f"lon {lo[i]:g} is not between -180 and 180")
    x0, y0, x1, y1 = chk.ctx.region_bbox
    inside = (lo >= x0) & (lo <= x1) & (la >= y0) & (la <= y1)
    swapped_inside = (la >= x0) & (la <= x1) & (lo >= y0) & (lo <= y1)
    ranged = both & ~out_lat & ~out_lon
    swapped = ranged & ~inside & swapped_inside
    outside = ranged & ~inside & ~swapped_inside
    p.add(swapped, "latlon_swapped", "lat",
          lambda i: f"lat {la[i]:g} / lon {lo[i]:g} lies outside the region; swapped "
          f"(lat {lo[i]:g}, lon {la[i]:g}) it would be inside: lat and lon look swapped")
    p.add(outside, "outside_region", "lat",
          lambda i: f"point (lat {la[i]:g}, lon {lo[i]:g}) lies outside the region "
          f"(lon {x0:g}..{x1:g}, lat {y0:g}..{y1:g})")
    good = both & inside
    lat = np.where(good, la, np.nan)
    lon = np.where(good, lo, np.nan)
    # rows with only a (known) BCP are placed at the BCP
    codes = chk.values.get("bcp_code")
    if codes is not None and chk.refs.bcp_lonlat:
        at_bcp = none & bcp_given & pd.notna(pd.Series(codes)).to_numpy()
        if at_bcp.any():
            pos = pd.Series(codes[at_bcp]).map(chk.refs.bcp_lonlat)
            lon[at_bcp] = [xy[0] if isinstance(xy, tuple) else np.nan for xy in pos]
            lat[at_bcp] = [xy[1] if isinstance(xy, tuple) else np.nan for xy in pos]
    return lon, lat
