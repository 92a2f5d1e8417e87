"""``borderwatch load incidents|flows|benchmarks`` and ``borderwatch rejects`` (exit codes, output)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine

from etl.cli import cli_group

DATA = Path(__file__).parent.parent / "data"


def _run(engine: Engine, *args: str) -> Result:
    env = {"BORDERWATCH_DATABASE_URL": engine.url.render_as_string(hide_password=False),
           "BORDERWATCH_LOG_LEVEL": "ERROR"}
    return CliRunner().invoke(cli_group, list(args), env=env, catch_exceptions=False)


def test_load_reports_and_lists_rejects(geo_engine: Engine) -> None:
    ok = _run(geo_engine, "load", "incidents", str(DATA / "incidents_good.csv"))
    assert ok.exit_code == 0, ok.output
    assert "read 6  inserted 6  updated 0  unchanged 0  rejected 0" in ok.stdout
    bad = _run(geo_engine, "load", "incidents", str(DATA / "incidents_bad.csv"), "--source", "x",
               "--json")
    assert bad.exit_code == 0
    report = json.loads(bad.stdout)
    assert (report["read"], report["inserted"], report["rejected"]) == (12, 1, 10)
    assert report["reject_codes"]["latlon_swapped"] == 1 and bad.stderr == ""
    listed = _run(geo_engine, "rejects")
    assert listed.exit_code == 0
    assert f"run {report['run_id']}: incidents from incidents_bad.csv" in listed.stdout
    assert "latlon_swapped [lat]: lat 19.9 / lon 46.15" in listed.stdout
    as_csv = _run(geo_engine, "rejects", "--run", str(report["run_id"]), "--csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert len(rows) == 10 and rows[0]["row_number"] == "1"
    assert rows[0]["codes"] == "bad_date" and rows[0]["occurred_at"] == "not a date"
    first = _run(geo_engine, "rejects", "--run", str(report["run_id"] - 1))
    assert "0 rejected" in first.stdout


@pytest.mark.parametrize("kind", ["flows", "benchmarks", "strategies", "trainings"])
def test_other_kinds_and_dry_run(geo_engine: Engine, kind: str) -> None:
    path = str(DATA / f"{kind}_good.csv")
    dry = _run(geo_engine, "load", kind, path, "--dry-run", "--json")
    assert dry.exit_code == 0 and json.loads(dry.stdout)["dry_run"] is True
    real = _run(geo_engine, "load", kind, path, "--json")
    assert json.loads(real.stdout)["inserted"] == json.loads(dry.stdout)["inserted"] > 0


def test_strict_failure_exits_1(geo_engine: Engine) -> None:
    result = _run(geo_engine, "load", "flows", str(DATA / "flows_bad.csv"), "--strict", "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["status"] == "failed"
    assert "strict mode: 10 row(s) rejected, nothing was loaded" in result.stderr


def test_missing_reference_data_exits_1(engine: Engine) -> None:
    result = _run(engine, "load", "benchmarks", str(DATA / "benchmarks_good.csv"))
    assert result.exit_code == 1
    assert "borderwatch load geodata" in result.stderr and "Traceback" not in result.output


@pytest.mark.parametrize(
    ("name", "content", "code", "message"),
    [
        ("missing.csv", None, 2, "does not exist"),
        ("incidents.xlsx", "x", 2, "unknown format"),
        ("incidents.csv", "a,b\n1,2\n", 2, "missing required column"),
    ],
)
def test_bad_usage_exits_2(engine: Engine, tmp_path: Path, name: str, content: str | None,
                           code: int, message: str) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    result = _run(engine, "load", "incidents", str(path))
    assert result.exit_code == code and message in result.output


def test_rejects_without_runs(engine: Engine) -> None:
    result = _run(engine, "rejects")
    assert result.exit_code == 1 and "no load has been run yet" in result.stderr
