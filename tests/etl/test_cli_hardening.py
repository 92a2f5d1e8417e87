"""What a user of ``borderwatch load`` / ``rejects`` sees when things go wrong (issue 9): one
rule for the counts of failed runs, exports that a spreadsheet cannot run, messages said once,
no traceback and no stray warning."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import psycopg
import shapely
from click.testing import CliRunner, Result
from sqlalchemy import Engine

from etl.cli import cli_group
from etl.load import LOAD_LOCK_KEY
from tests.support import TEST_DATA as DATA
from tests.support import query_rows as _q

CLI = [sys.executable, "-m", "dashboard.cli"]


def _run(engine: Engine, *args: str, **env: str) -> Result:
    env = {"BORDERWATCH_DATABASE_URL": engine.url.render_as_string(hide_password=False),
           "BORDERWATCH_LOG_LEVEL": "ERROR", **env}
    return CliRunner().invoke(cli_group, list(args), env=env, catch_exceptions=False)


def _process(engine: Engine, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BORDERWATCH_DATABASE_URL": engine.url.render_as_string(
        hide_password=False), "BORDERWATCH_LOG_LEVEL": "ERROR"}
    return subprocess.run([*CLI, *args], capture_output=True, text=True, env=env, timeout=300)


def test_a_strict_run_says_plainly_that_nothing_was_loaded(geo_engine: Engine) -> None:
    result = _run(geo_engine, "load", "incidents", str(DATA / "incidents_bad.csv"), "--strict",
                  "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert (report["read"], report["rejected"], report["not_loaded"]) == (12, 10, 2)
    assert (report["inserted"], report["updated"], report["unchanged"]) == (0, 0, 0)
    assert report["read"] == (report["inserted"] + report["updated"] + report["unchanged"]
                              + report["rejected"] + report["not_loaded"])
    text = _run(geo_engine, "load", "incidents", str(DATA / "incidents_bad.csv"), "--strict")
    assert "nothing was loaded: 2 valid row(s) of the 12 read were not loaded" in text.stdout


def test_rejects_csv_is_safe_in_a_spreadsheet_and_keeps_the_file_order(
        geo_engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "incidents_formula.csv"
    path.write_text("occurred_at,incident_id,Zeta,category,lat,lon,Alpha\n"
                    "2024-05-01,F-1,=cmd|' /C calc'!A0,nonsense,46.15,19.9,+1\n"
                    "2024-05-01,F-2,@SUM(A1),other,46.15,19.9,-2\n")
    _run(geo_engine, "load", "incidents", str(path))
    out = _run(geo_engine, "rejects", "--csv").stdout
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["row_number", "codes", "messages", "occurred_at", "incident_id", "Zeta",
                       "category", "lat", "lon", "Alpha"]
    assert rows[1][5] == "'=cmd|' /C calc'!A0" and rows[1][9] == "'+1"
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


def test_the_lock_timeout_says_nothing_was_written_once(geo_engine: Engine) -> None:
    url = geo_engine.url.render_as_string(hide_password=False)
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as holder:
        holder.execute("SELECT pg_advisory_xact_lock(%s)", (LOAD_LOCK_KEY,))
        result = _run(geo_engine, "load", "incidents", str(DATA / "incidents_good.csv"),
                      BORDERWATCH_LOCK_TIMEOUT_S="1")
    assert result.exit_code == 1
    assert result.stderr.count("nothing was written") == 1, result.stderr
    assert "still running after 1 s" in result.stderr


def test_a_broken_geojson_gives_no_traceback_and_no_running_run(
        geo_engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "incidents.geojson"
    features = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": c},
                 "properties": {"incident_id": f"G-{i}", "occurred_at": "2024-05-01",
                                "category": "other"}}
                for i, c in enumerate([[19.9, 46.15], ["a", "b"]])]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    done = _process(geo_engine, "load", "incidents", str(path), "--json")
    assert "Traceback" not in done.stderr and done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["reject_codes"] == {"bad_feature": 1}
    assert _q(geo_engine, "SELECT status FROM load_run WHERE kind = 'incidents'") == [
        ("succeeded",)]


def test_a_two_layer_geopackage_prints_one_clear_note(geo_engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "incidents.gpkg"
    rows = gpd.GeoDataFrame({"incident_id": ["L-1"], "occurred_at": ["2024-05-01"],
                             "category": ["other"]}, geometry=[shapely.Point(19.9, 46.15)],
                            crs=4326)
    rows.to_file(path, layer="reports")
    rows.to_file(path, layer="drafts")
    done = _process(geo_engine, "load", "incidents", str(path))
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr and str(tmp_path) not in done.stderr + done.stdout
    assert "holds 2 layers (reports, drafts); only the first, 'reports', was read" in done.stdout
