"""``borderwatch analyse hotspots``: the recorded job on a real PostGIS, its files, staleness
after a load, incremental recounts equal to full ones, and clear errors."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine

from etl.analytics.hotspot_job import OUT_COLUMNS, Request, run_hotspots
from etl.cli import cli_group
from etl.demo import DemoSpec, generate
from etl.load import load_file
from etl.settings import SHIPPED_GEODATA, Settings
from etl.warehouse.schema import HOTSPOT_CLASSES
from tests.support import query_rows

END = dt.date(2025, 6, 30)


def _cli(engine: Engine, *args: str) -> Result:
    env = {"BORDERWATCH_DATABASE_URL": engine.url.render_as_string(hide_password=False),
           "BORDERWATCH_LOG_LEVEL": "ERROR"}
    return CliRunner().invoke(cli_group, list(args), env=env, catch_exceptions=False)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """8,000 demo incidents over 20 weeks (two files: the first 16 weeks, then the rest)."""
    out = tmp_path_factory.mktemp("demo_hotspot_job")
    generate(out, DemoSpec(incidents=8_000, days=140, seed=5, end=END), geodata_dir=SHIPPED_GEODATA)
    lines = (out / "incidents.csv").read_text().splitlines(keepends=True)
    cut = next(i for i, line in enumerate(lines[1:], 1) if line.split(",")[1] >= "2025-05-20")
    (out / "early.csv").write_text("".join(lines[:cut]))
    (out / "late.csv").write_text("".join(lines[:1] + lines[cut:]))
    return out


def _cells(engine: Engine) -> dict[int, tuple]:
    return {r[0]: r[1:] for r in query_rows(
        engine, "SELECT cell, n, round(z::numeric, 9), class, pattern FROM hotspot_cell")}


def test_analyse_writes_the_map_tables_and_a_csv(geo_engine: Engine, geo_settings: Settings,
                                                 demo: Path, tmp_path: Path) -> None:
    load_file(geo_engine, geo_settings, "incidents", demo / "incidents.csv", source="demo")
    out = tmp_path / "cells.csv"
    done = _cli(geo_engine, "analyse", "hotspots", "--out", str(out))
    assert done.exit_code == 0, done.output
    assert "hot and" in done.output and "wrote" in done.output
    ((cells, incidents, steps, period_to),) = query_rows(
        geo_engine, "SELECT cells, incidents, steps, period_to FROM hotspot_analysis")
    assert steps in (19, 20) and period_to < END  # whole weeks inside the 140 days (UTC)
    assert 5_000 < cells < 9_000  # resolution 6 over the land border zone
    assert 0.9 * 8_000 < incidents <= 8_000
    rows = list(csv.reader(out.open()))
    assert tuple(rows[0]) == OUT_COLUMNS
    assert len(rows) - 1 == cells
    assert {r[7] for r in rows[1:]} <= set(HOTSPOT_CLASSES)
    assert sum(int(r[3]) for r in rows[1:]) == incidents
    assert any(r[7].startswith("hot_") for r in rows[1:])
    ((kind, status, message),) = query_rows(
        geo_engine, "SELECT kind, status, message FROM load_run WHERE kind = 'hotspots'")
    assert status == "succeeded" and "hot and" in message


def test_a_load_marks_the_analysis_stale_and_the_next_run_recounts_only_its_steps(
        geo_engine: Engine, geo_settings: Settings, demo: Path) -> None:
    load_file(geo_engine, geo_settings, "incidents", demo / "early.csv", source="demo")
    request = Request(date_from=dt.date(2025, 2, 10), date_to=END)
    run_hotspots(geo_engine, geo_settings, request)
    assert query_rows(geo_engine, "SELECT count(*) FROM hotspot_dirty") == [(0,)]
    load_file(geo_engine, geo_settings, "incidents", demo / "late.csv", source="demo")
    ((dirty,),) = query_rows(geo_engine, "SELECT count(*) FROM hotspot_dirty")
    assert 30 <= dirty <= 45  # the days of the second file: the analysis is stale
    report, _, _ = run_hotspots(geo_engine, geo_settings, request)
    assert not report.recounted_all and 0 < report.recounted_steps
    incremental = _cells(geo_engine)
    full, _, _ = run_hotspots(geo_engine, geo_settings, Request(
        date_from=request.date_from, date_to=END, full=True))
    assert full.recounted_all
    assert _cells(geo_engine) == incremental


def test_geojson_out_and_a_category(geo_engine: Engine, geo_settings: Settings, demo: Path,
                                    tmp_path: Path) -> None:
    load_file(geo_engine, geo_settings, "incidents", demo / "incidents.csv", source="demo")
    out = tmp_path / "cells.geojson"
    done = _cli(geo_engine, "analyse", "hotspots", "--category", "unauthorised_crossing",
                "--resolution", "5", "--out", str(out))
    assert done.exit_code == 0, done.output
    doc = json.loads(out.read_text())
    assert doc["borderwatch"]["resolution"] == 5
    assert doc["borderwatch"]["categories"] == ["unauthorised_crossing"]
    first = doc["features"][0]
    assert first["geometry"]["type"] == "Polygon" and len(first["geometry"]["coordinates"][0]) == 7
    assert set(first["properties"]) == set(OUT_COLUMNS)
    ((n,),) = query_rows(geo_engine, "SELECT incidents FROM hotspot_analysis")
    ((crossings,),) = query_rows(
        geo_engine, "SELECT count(*) FROM incident WHERE category = 'unauthorised_crossing'")
    assert n <= crossings < 8_000


def test_clear_errors_and_nothing_written(geo_engine: Engine, tmp_path: Path) -> None:
    empty = _cli(geo_engine, "analyse", "hotspots")
    assert empty.exit_code != 0 and "no incident is loaded" in empty.output
    bad = _cli(geo_engine, "analyse", "hotspots", "--out", str(tmp_path / "x.txt"))
    assert bad.exit_code != 0 and ".csv or .geojson" in bad.output
    day = _cli(geo_engine, "analyse", "hotspots", "--from", "2025-13-01")
    assert day.exit_code == 2 and "not a date" in day.output
    assert query_rows(geo_engine, "SELECT count(*) FROM hotspot_analysis") == [(0,)]
    assert "Traceback" not in empty.output + bad.output + day.output
