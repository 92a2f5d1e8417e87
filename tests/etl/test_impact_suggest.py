"""Suggested impact levels: the rule (pure), the recorded job, and a file that
``borderwatch load impact-levels`` loads as written."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine

from etl.analytics.impact import COLUMNS, Thresholds, suggest
from etl.cli import cli_group
from tests.dashboard.seed import incident_row, insert_incidents
from tests.support import query_rows

T = Thresholds()
DAY = dt.date(2025, 10, 31)


def test_rule_needs_both_a_ratio_and_enough_incidents() -> None:
    # baseline 130 over 364 days = 10 per 28 days
    assert suggest("A", "low", 31, 130, DAY, T).level == "high"
    assert suggest("A", "low", 30, 130, DAY, T).level == "high"
    assert suggest("A", "low", 29, 130, DAY, T).level == "medium"
    assert suggest("A", "low", 15, 130, DAY, T).level == "medium"
    assert suggest("A", "low", 14, 130, DAY, T).level == "low"
    assert suggest("A", "low", 9, 0, DAY, T).level == "low"  # 9x a floor of 1, but only 9
    quiet = suggest("A", "high", 10, 0, DAY, T)
    assert quiet.level == "high" and not quiet.differs
    assert "10 incident(s) within 2025-10-04..2025-10-31" in quiet.reason
    assert "0.0 per 28 days" in quiet.reason and "decided level high" in quiet.reason
    # 56 days of history: the baseline total covers two windows, not 13
    assert suggest("A", "low", 20, 20, DAY, T, baseline_days=56).ratio == 2.0
    assert "over the 56 days before" in suggest("A", "low", 20, 20, DAY, T, 56).reason
    assert suggest("A", "medium", 0, 260, DAY, T).level == "low"


def _cli(engine: Engine, *args: str) -> Result:
    env = {"BORDERWATCH_DATABASE_URL": engine.url.render_as_string(hide_password=False),
           "BORDERWATCH_LOG_LEVEL": "ERROR"}
    return CliRunner().invoke(cli_group, list(args), env=env, catch_exceptions=False)


def _burst(section: str, lon: float, lat: float, days: range, per_day: int, tag: str
           ) -> list[dict]:
    rows = []
    for d in days:
        when = dt.datetime(2025, 10, 31, 12, tzinfo=dt.UTC) - dt.timedelta(days=d)
        for k in range(per_day):
            row = incident_row(ident=f"{tag}-{d}-{k}", lon=lon, lat=lat, occurred_at=when,
                               category="unauthorised_crossing")
            rows.append({**row, "section_id": section, "border_distance_m": 500.0})
    return rows


@pytest.fixture
def pressured(geo_engine: Engine) -> tuple[Engine, str, str]:
    """One section under new pressure, one steady, in the shipped geodata."""
    sections = [r[0] for r in query_rows(
        geo_engine, "SELECT section_id FROM border_section ORDER BY section_id")]
    hot, steady = sections[0], sections[1]
    rows = (_burst(hot, 20.0, 41.0, range(0, 20), 3, "hot")  # 60 in the last 20 days
            + _burst(hot, 20.0, 41.0, range(40, 390, 14), 1, "hotbase")  # ~1 a fortnight
            + _burst(steady, 20.1, 41.1, range(0, 390, 2), 1, "steady"))  # steady: 1 every 2 days
    insert_incidents(geo_engine, rows)
    return geo_engine, hot, steady


def test_analyse_impact_writes_a_file_load_impact_levels_accepts(
        pressured: tuple[Engine, str, str], tmp_path: Path) -> None:
    engine, hot, steady = pressured
    out = tmp_path / "suggested.csv"
    done = _cli(engine, "analyse", "impact", "--out", str(out))
    assert done.exit_code == 0, done.output
    assert f"{hot}" in done.output and "suggested high" in done.output
    stored = dict(query_rows(engine, "SELECT section_id, level FROM section_impact_suggestion"))
    assert stored[hot] == "high" and stored[steady] == "low"
    rows = list(csv.DictReader(out.open()))
    assert tuple(rows[0]) == COLUMNS
    assert len(rows) == len(stored)
    assert all(r["reason"].startswith("suggested by borderwatch") for r in rows)
    loaded = _cli(engine, "load", "impact-levels", str(out), "--strict")
    assert loaded.exit_code == 0, loaded.output
    assert "rejected 0" in loaded.output.replace(",", "") or " 0 rejected" in loaded.output
    levels = dict(query_rows(engine, "SELECT section_id, impact_level FROM border_section"))
    assert levels[hot] == "high" and levels[steady] == "low"
    ((reason,),) = query_rows(engine, "SELECT impact_reason FROM border_section "
                                      "WHERE section_id = :s", s=hot)
    assert "60 incident(s)" in reason


def test_changed_only_and_clear_errors(pressured: tuple[Engine, str, str], tmp_path: Path
                                       ) -> None:
    engine, hot, _ = pressured
    out = tmp_path / "changed.csv"
    done = _cli(engine, "analyse", "impact", "--out", str(out), "--changed-only")
    assert done.exit_code == 0, done.output
    rows = list(csv.DictReader(out.open()))
    assert [r["section_id"] for r in rows] == [hot]
    bad = _cli(engine, "analyse", "impact", "--out", str(tmp_path / "x.json"))
    assert bad.exit_code == 2 and ".csv" in bad.output and "Traceback" not in bad.output


def test_too_little_history_suggests_nothing(geo_engine: Engine, tmp_path: Path) -> None:
    sections = [r[0] for r in query_rows(geo_engine, "SELECT section_id FROM border_section")]
    insert_incidents(geo_engine, _burst(sections[0], 20.0, 41.0, range(0, 40), 2, "short"))
    out = tmp_path / "none.csv"
    done = _cli(geo_engine, "analyse", "impact", "--out", str(out))
    assert done.exit_code == 0, done.output
    assert "not enough for a baseline" in done.output
    assert query_rows(geo_engine, "SELECT count(*) FROM section_impact_suggestion") == [(0,)]
    assert out.read_text().splitlines() == [",".join(COLUMNS)]


def test_no_incident_is_a_clear_error(geo_engine: Engine) -> None:
    done = _cli(geo_engine, "analyse", "impact")
    assert done.exit_code != 0 and "no incident is loaded" in done.output
