"""Enrichment without a database: the grid-pruned nearest search is exact, the border rule."""

from __future__ import annotations

import numpy as np
import shapely
from pyproj import Geod

from etl import enrich

GEOD = Geod(ellps="WGS84")


def _geography(seed: int = 3) -> enrich.Geography:
    rng = np.random.default_rng(seed)
    lines = []
    for _ in range(6):  # wiggly lines around the middle of the region
        lon0, lat0 = rng.uniform(18, 26), rng.uniform(40, 45)
        steps = rng.normal(0, 0.05, (40, 2)).cumsum(axis=0)
        lines.append(shapely.linestrings(np.c_[lon0 + steps[:, 0], lat0 + steps[:, 1]]))
    sections = [(f"S-{i}", shapely.to_wkb(g), "RS", "BA" if i % 2 else "HU")
                for i, g in enumerate(lines)]
    bcps = [(f"B-{i}", float(x), float(y), "RS", "HU")
            for i, (x, y) in enumerate(shapely.get_coordinates(lines[0])[::10])]
    square = shapely.to_wkb(shapely.box(18, 40, 30, 46))
    return enrich.build_geography([("RS", square)], sections, bcps)


def test_nearest_section_and_bcp_are_those_of_a_brute_force_search() -> None:
    geo = _geography()
    rng = np.random.default_rng(7)
    lon, lat = rng.uniform(17.5, 27, 3000), rng.uniform(39.5, 46, 3000)
    x, y = (np.asarray(v) for v in geo.to_laea.transform(lon, lat))
    owner, ids, dist = enrich.nearest_sections(geo, x, y, lon, lat)
    seg = geo.sections
    pts = shapely.points(x, y)
    lines = shapely.linestrings(np.stack([np.c_[seg.ax, seg.ay], np.c_[seg.bx, seg.by]], 1))
    brute = shapely.distance(pts[:, None], lines[None, :]).min(axis=1)
    best = np.array([shapely.distance(p, lines[seg.owner == o]).min()
                     for p, o in zip(pts, owner, strict=True)])
    assert np.allclose(best, brute, atol=1e-6)  # the section found holds a nearest segment
    assert ids[0] == f"S-{owner[0]}" and np.all(dist >= 0)
    radius = 20_000.0
    codes, bdist = enrich.nearest_bcps(geo, x, y, lon, lat, radius)
    blon, blat = geo.bcp_lonlat[:, 0], geo.bcp_lonlat[:, 1]
    for i in range(0, 3000, 7):
        d = GEOD.inv(np.full(len(blon), lon[i]), np.full(len(blon), lat[i]), blon, blat)[2]
        if d.min() <= radius * 0.97:  # clear of the LAEA margin: the nearest one is found
            assert codes[i] == geo.bcp_codes[int(np.argmin(d))] and abs(bdist[i] - d.min()) < 1e-3
        elif d.min() > radius:
            assert codes[i] is None


def test_border_rule() -> None:
    geo = _geography()
    lon0, lat0 = geo.bcp_lonlat[0]
    lon = np.array([lon0, lon0, lon0, lon0 + 0.001, 29.0])
    lat = np.array([lat0, lat0, lat0, lat0, 45.9])
    reporting = np.array(["HU", "BA", None, "HU", "HU"], dtype=object)
    bcp_code = np.array(["B-0", "B-0", "B-0", None, None], dtype=object)
    out = enrich.enrich_points(geo, lon, lat, bcp_radius_m=10_000, reporting=reporting,
                               bcp_code=bcp_code)
    # at the BCP: HU (one of its countries) wins; BA (not one of them) and no report: polygon;
    # 80 m away, near the RS-HU section the BCP is on: HU; far from every line: polygon
    assert out["country"].tolist() == ["HU", "RS", "RS", "HU", "RS"]
    assert out["nearest_bcp"][0] == "B-0" and out["nearest_bcp_m"][0] == 0.0
