"""The demo's illustrative impact levels: derived from its planted hotspots, loaded clean."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine

from etl.demo import DemoSpec, generate
from etl.demo.impact import NEAR_KM, section_distances_km
from etl.demo.load import has_foreign_data, load_demo
from etl.demo.reference import read_reference
from etl.load import load_impact_levels
from etl.settings import SHIPPED_GEODATA, Settings
from tests.support import TEST_DATA
from tests.support import query_rows as _q

END = dt.date(2025, 10, 31)


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def test_impact_file_follows_the_planted_hotspots(tmp_path: Path) -> None:
    spec = DemoSpec(incidents=1_500, days=200, seed=3, end=END)
    generate(tmp_path / "a", spec, geodata_dir=SHIPPED_GEODATA)
    generate(tmp_path / "b", spec, geodata_dir=SHIPPED_GEODATA)
    path = tmp_path / "a" / "impact_levels.csv"
    assert path.read_bytes() == (tmp_path / "b" / "impact_levels.csv").read_bytes()
    truth = json.loads((tmp_path / "a" / "ground_truth.json").read_text())
    hotspots = truth["hotspots"]
    assert len(hotspots) >= 2
    borders = read_reference(SHIPPED_GEODATA).borders
    rows = _read(path)
    assert sorted(rows["section_id"]) == sorted(borders.sec_id.tolist())  # one row per section
    level = dict(zip(rows["section_id"], rows["impact_level"], strict=True))
    latest = max(hotspots, key=lambda h: (h["end"], h["hotspot_id"]))
    assert [s for s, lv in level.items() if lv == "critical"] == [latest["section_id"]]
    assert {h["section_id"] for h in hotspots} == {
        s for s, lv in level.items() if lv in ("high", "critical")}
    near: set[str] = set()
    for h in hotspots:
        d = section_distances_km(borders, h["lon"], h["lat"])
        near |= {str(s) for s in borders.sec_id[d <= NEAR_KM]}
        assert d[borders.sec_id == h["section_id"]][0] < 10  # the hotspot lies by its section
    assert {s for s, lv in level.items() if lv == "medium"} == near - {
        h["section_id"] for h in hotspots}
    elevated = rows[rows["impact_level"] != "low"]
    assert elevated["reason"].str.startswith(
        "illustrative demo attribution: planted hotspot H").all()
    assert (elevated["attributed_at"] == "2025-10-31T12:00:00Z").all()
    assert (rows.loc[rows["impact_level"] == "low", "reason"] == "").all()
    assert {a["section_id"] for a in truth["impact_levels"]} == set(elevated["section_id"])
    assert "illustrative" in (tmp_path / "a" / "README.md").read_text().split("impact_levels")[1]


def test_demo_load_colours_the_sections(
    geo_engine: Engine, geo_settings: Settings, tmp_path: Path
) -> None:
    done = load_demo(geo_engine, geo_settings, DemoSpec(incidents=300, days=20, seed=5, end=END),
                     out_dir=tmp_path)
    report = done.reports["impact_levels"]
    file_rows = _read(tmp_path / "impact_levels.csv")
    elevated = file_rows[file_rows["impact_level"] != "low"]
    assert (report.read, report.rejected, report.source) == (len(file_rows), 0, "demo")
    assert report.updated == len(elevated) > 0
    stored = dict(_q(geo_engine, "SELECT section_id, impact_level FROM border_section "
                                 "WHERE impact_level <> 'low'"))
    assert stored == dict(zip(elevated["section_id"], elevated["impact_level"], strict=True))
    assert not has_foreign_data(geo_engine)
    load_impact_levels(geo_engine, geo_settings, TEST_DATA / "impact_levels_good.csv")
    assert has_foreign_data(geo_engine)  # the next demo load needs --force
