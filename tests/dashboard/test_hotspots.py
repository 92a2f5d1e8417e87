"""The hotspot layer: builders (pure) and the query over a real analysis in PostGIS."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
from h3.api import basic_int as h3int
from sqlalchemy import Engine

from dashboard.components import hotspots as hs
from dashboard.queries import hotspots as q
from dashboard.queries.raw import BBox
from etl.analytics.hotspot_store import Meta, write_result
from etl.analytics.hotspots.analysis import Params, Steps, analyse
from etl.warehouse.schema import HOTSPOT_CLASSES

CELL = h3int.latlng_to_cell(45.05, 19.10, 6)


def _row(**over: object) -> dict:
    base = {"cell": CELL, "lat": 45.05, "lon": 19.1, "n": 42, "z": 3.14159, "q": 0.001,
            "class": "hot_99", "pattern": "intensifying_hot_spot", "trend": 1}
    return {**base, **over}


def test_layer_is_compact_hexagons_with_class_pattern_and_small_counts_hidden() -> None:
    fc = hs.hotspot_layer([_row(), _row(cell=h3int.grid_ring(CELL, 1)[0], n=2, z=-2.5,
                                        **{"class": "cold_95"}, pattern="<b>odd</b>", trend=0)], 5)
    first, second = fc["features"]
    assert first["geometry"]["type"] == "Polygon" and len(first["geometry"]["coordinates"][0]) == 7
    assert first["properties"] == {"k": HOTSPOT_CLASSES.index("hot_99"),
                                   "pt": list(hs.PATTERN_STYLE).index("intensifying_hot_spot"),
                                   "n": 42, "z": 3.14, "t": 1}
    assert second["properties"]["n"] == "1-4"  # a small count as a range, never "2"
    assert second["properties"]["k"] == HOTSPOT_CLASSES.index("cold_95")
    assert second["properties"]["pt"] == list(hs.PATTERN_STYLE).index("no_pattern")  # unknown
    # 4,000 hexagons (the cap) stay under 1 MB
    assert 4000 * len(json.dumps(first, separators=(",", ":"))) < 1_000_000


def test_hideout_and_legend_by_mode() -> None:
    h = hs.hotspot_hideout("pattern")
    assert h["mode"] == "pattern" and len(h["classColors"]) == 7 and len(h["patternColors"]) == 17
    assert h["classLabels"][0] == "Hot spot, 99 % confidence"
    assert h["patternLabels"][2] == "Intensifying hot spot"
    assert hs.hotspot_hideout("<script>")["mode"] == "class"
    text = " ".join(str(li.children) for li in hs.hotspot_legend("class", []))
    for c in ("99 %", "95 %", "90 %", "Cold spot"):
        assert c in text
    patterns = hs.hotspot_legend("pattern", [_row(), _row(pattern="no_pattern")])
    labels = [str(li.children[1].children) for li in patterns]
    assert labels == ["Intensifying hot spot", "Significant over the period, no emerging pattern"]
    assert "No emerging pattern in view" in str(hs.hotspot_legend("pattern", [])[0].children)


def test_status_says_when_what_and_stale() -> None:
    assert "analyse hotspots" in hs.analysis_status(None)
    a = q.Analysis(computed_at=dt.datetime(2025, 11, 2, 9, 30, tzinfo=dt.UTC),
                   period_from=dt.date(2023, 11, 6), period_to=dt.date(2025, 10, 26), step_days=7,
                   steps=103, resolution=6, k=1, zone_km=30.0, categories=(), cells=6708,
                   incidents=49_000, significant=200, stale_days=3)
    text = hs.analysis_status(a)
    assert "Computed 2025-11-02 09:30 UTC over 2023-11-06 to 2025-10-26" in text
    assert "103 weekly steps, all categories" in text and "Stale" in text and "3 days" in text


def test_query_returns_significant_cells_in_view_strongest_first(engine: Engine) -> None:
    assert q.significant_cells(engine, None, 100) == (None, [])
    study = np.sort(np.array(list(h3int.grid_disk(CELL, 6)), dtype=np.uint64).view(np.int64))
    rng = np.random.default_rng(2)
    cube = rng.poisson(0.3, (len(study), 12)).astype(float)
    centre = int(np.flatnonzero(study == CELL)[0])
    cube[centre, :] += 6
    result = analyse(study, cube, Params())
    meta = Meta(run_id=None, steps=Steps(dt.date(2025, 1, 6), 12), params=Params(), zone_km=30.0,
                categories=(), incidents=int(cube.sum()), left_out=0)
    with engine.begin() as conn:
        write_result(conn.connection.driver_connection, meta, result)  # type: ignore[arg-type]
    analysis, rows = q.significant_cells(engine, BBox(18.0, 44.0, 20.5, 46.0), 1000)
    assert analysis is not None and analysis.cells == len(study) and analysis.stale_days == 0
    by_cell = {r["cell"]: r for r in rows}
    assert by_cell[CELL]["class"] == "hot_99" and by_cell[CELL]["n"] == int(cube[centre].sum())
    assert all(r["class"] != "not_significant" or r["pattern"] != "no_pattern" for r in rows)
    assert [abs(r["z"]) for r in rows] == sorted((abs(r["z"]) for r in rows), reverse=True)
    assert len(rows) == int(((result.classes != "not_significant")
                             | (result.patterns != "no_pattern")).sum())
    assert q.significant_cells(engine, BBox(25.0, 40.0, 26.0, 41.0), 1000)[1] == []
    assert len(q.significant_cells(engine, None, 1)[1]) == 1
