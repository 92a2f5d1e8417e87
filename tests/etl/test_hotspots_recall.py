"""The hotspot analysis on data with a known answer: the demo's planted hotspots must be found
(recall >= 0.9), and incidents drawn uniformly over the land border zone must leave at most 5 %
of the cells significant after FDR. Pure: the incidents go from the generated files (or the
random draw) straight to H3 cells, as the loader would place them, without a database."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from h3.api import basic_int as h3int

from etl.analytics.hotspots import cells as H
from etl.analytics.hotspots.analysis import Params, Result, Steps, analyse, count_events
from etl.demo import DemoSpec, generate
from etl.settings import SHIPPED_GEODATA

GEODATA = SHIPPED_GEODATA
END = dt.date(2025, 10, 31)
RES = Params().resolution


@pytest.fixture(scope="module")
def zone() -> shapely.Geometry:
    countries = pyogrio.read_dataframe(GEODATA / "countries.geojson")
    lines = pyogrio.read_dataframe(GEODATA / "border_lines.geojson")
    targets = set(countries.loc[countries.is_target.astype(bool), "iso2"])
    ours = lines.country_a.isin(targets) | lines.country_b.isin(targets)
    return H.border_zone(countries[countries.iso2.isin(targets)].geometry.values,
                         lines[ours].geometry.values, 30.0)


@pytest.fixture(scope="module")
def bcps() -> pd.DataFrame:
    return pd.read_csv(GEODATA / "bcps.csv", dtype={"code": str}).set_index("code")


@pytest.fixture(scope="module")
def study(zone: shapely.Geometry, bcps: pd.DataFrame) -> np.ndarray:
    """The study cells: the land border zone and every BCP's cell."""
    return H.zone_cells(zone, RES, (bcps.lat.to_numpy(), bcps.lon.to_numpy()))


def _cells(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    return np.array([h3int.latlng_to_cell(a, o, RES) for a, o in zip(lat, lon, strict=True)],
                    dtype=np.uint64).view(np.int64)


def _km(lat0: float, lon0: float, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    p0, p = np.radians(lat0), np.radians(lat)
    a = np.sin((p - p0) / 2) ** 2 + np.cos(p0) * np.cos(p) * np.sin(np.radians(lon - lon0) / 2) ** 2
    return 6371.0 * 2 * np.arcsin(np.sqrt(a))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default demo dataset (50,000 incidents over two years, seed 2009)."""
    out = tmp_path_factory.mktemp("demo_hotspots")
    generate(out, DemoSpec(end=END), geodata_dir=GEODATA)
    return out


def test_every_planted_hotspot_is_found(demo: Path, study: np.ndarray, bcps: pd.DataFrame,
                                        record_property: object) -> None:
    truth = json.loads((demo / "ground_truth.json").read_text())
    rows = pd.read_csv(demo / "incidents.csv", dtype=str, keep_default_na=False)
    lat = pd.to_numeric(rows.lat, errors="coerce").to_numpy()
    lon = pd.to_numeric(rows.lon, errors="coerce").to_numpy()
    at = np.isnan(lat)  # named by bcp_code only: the loader places them at the BCP
    lat[at] = bcps.lat.reindex(rows.bcp_code[at]).to_numpy()
    lon[at] = bcps.lon.reindex(rows.bcp_code[at]).to_numpy()
    days = (pd.to_datetime(rows.occurred_at, utc=True).dt.tz_convert(None)
            .to_numpy().astype("datetime64[D]"))
    gen = truth["generator"]
    steps = Steps.within(dt.date.fromisoformat(gen["first_day"]), dt.date.fromisoformat(gen["last_day"]))
    cube, left_out = count_events(study, _cells(lat, lon), days, steps)
    assert left_out < 0.03 * len(rows)  # deep inland and the partial first/last week only
    result = analyse(study, cube, Params())
    hot_bins = (result.space_time.q <= Params().alpha) & (result.space_time.z > 0)
    clat, clon = H.centres(study)
    edge = h3int.average_hexagon_edge_length(RES, "km")
    found, report = 0, []
    for h in truth["hotspots"]:
        near = _km(h["lat"], h["lon"], clat, clon) <= h["radius_km"] + edge
        first = (dt.date.fromisoformat(h["start"]) - steps.first).days // steps.days
        last = (dt.date.fromisoformat(h["end"]) - steps.first).days // steps.days
        when = hot_bins[near][:, max(first, 0):last + 1].any()
        where = np.isin(result.classes[near], ["hot_99", "hot_95", "hot_90"]).any()
        found += int(when)
        report.append(f"{h['hotspot_id']}: space-time {'found' if when else 'MISSED'}, "
                      f"period class {'hot' if where else 'not hot'}")
    recall = found / len(truth["hotspots"])
    record_property("hotspot_recall", recall)  # type: ignore[operator]
    print(f"recall {recall:.2f} ({found}/{len(truth['hotspots'])}); " + "; ".join(report))
    assert len(truth["hotspots"]) >= 5
    assert recall >= 0.9, report


def _uniform(rng: np.random.Generator, zone: shapely.Geometry, n: int
             ) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points uniform by area in ``zone`` (rejection sampling, equal-area in latitude)."""
    x0, y0, x1, y1 = zone.bounds
    shapely.prepare(zone)
    lats, lons, got = [], [], 0
    while got < n:
        lon = rng.uniform(x0, x1, 4 * n)
        lat = np.degrees(np.arcsin(rng.uniform(np.sin(np.radians(y0)), np.sin(np.radians(y1)), 4 * n)))
        keep = shapely.contains_xy(zone, lon, lat)
        lats.append(lat[keep])
        lons.append(lon[keep])
        got += int(keep.sum())
    return np.concatenate(lats)[:n], np.concatenate(lons)[:n]


@pytest.mark.parametrize("seed", [1, 2])
def test_uniform_incidents_leave_at_most_5_percent_significant(
        seed: int, zone: shapely.Geometry, study: np.ndarray) -> None:
    rng = np.random.default_rng(seed)
    n = 50_000
    lat, lon = _uniform(rng, zone, n)
    steps = Steps(first=dt.date(2024, 1, 1), count=104)
    days = np.datetime64(steps.first) + rng.integers(0, 7 * steps.count, n)
    cube, left_out = count_events(study, _cells(lat, lon), days, steps)
    assert left_out == 0
    result: Result = analyse(study, cube, Params())
    share = result.significant / len(study)
    bins = float((result.space_time.q <= Params().alpha).mean())
    patterned = float((result.patterns != "no_pattern").mean())
    print(f"seed {seed}: {share:.4f} of cells significant, {bins:.4f} of bins, "
          f"{patterned:.4f} with a pattern: {Counter(result.classes.tolist())}")
    assert share <= 0.05
    assert bins <= 0.05
    assert patterned <= 0.05
