"""``borderwatch load impact-levels``: attributions update border sections, atomically."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine

from etl.cli import cli_group
from etl.load import LOAD_LOCK_KEY, LoadRunFailed, load_impact_levels
from etl.settings import Settings
from etl.sources.geodata import load_geodata
from tests.conftest import settings_for
from tests.support import TEST_DATA as DATA
from tests.support import query_rows as _q

GOOD = DATA / "impact_levels_good.csv"
BAD = DATA / "impact_levels_bad.csv"
HEADER = "section_id,impact_level,reason,attributed_at,attributed_by\n"


def _levels(engine: Engine) -> dict[str, tuple]:
    """Sections that are not plain 'low without a reason': level, reason, date (UTC)."""
    rows = _q(engine, "SELECT section_id, impact_level, impact_reason, "
                      "to_char(impact_updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') "
                      "FROM border_section WHERE impact_level <> 'low' OR impact_reason IS NOT NULL "
                      "OR impact_updated_at IS NOT NULL ORDER BY 1")
    return {r[0]: r[1:] for r in rows}


def _codes(engine: Engine, run_id: int | None) -> dict[int, list[str]]:
    return dict(_q(engine, "SELECT row_number, jsonb_path_query_array(reasons, '$[*].code') "
                           "FROM rejected_row WHERE run_id = :r", r=run_id))


def _cli(engine: Engine, *args: str) -> Result:
    env = {"BORDERWATCH_DATABASE_URL": engine.url.render_as_string(hide_password=False),
           "BORDERWATCH_LOG_LEVEL": "ERROR"}
    return CliRunner().invoke(cli_group, ["load", "impact-levels", *args], env=env,
                              catch_exceptions=False)


EXPECTED = {
    "GR-TR-01": ("critical", "Mass arrival at the Evros, whole area at risk", "2025-06-03 10:00"),
    "HR-RS-03": ("medium", "Rising detections between BCPs", "2025-06-02 00:00"),
    "HU-RS-02": ("high", "Sustained pressure near Horgoš; joint patrols reinforced",
                 "2025-06-01 06:00"),
    "MK-RS-01": ("low", "Back to regular control after the operation", "2025-05-30 00:00"),
}


def test_good_rows_update_sections_reload_is_unchanged_and_geodata_keeps_them(
    geo_engine: Engine, geo_settings: Settings,
) -> None:
    report = load_impact_levels(geo_engine, geo_settings, GOOD)
    # BA-HR-05 'low' without a reason is what the section holds; row 6 repeats row 1 exactly
    assert (report.read, report.inserted, report.updated, report.unchanged, report.rejected) == (
        6, 0, 4, 2, 0)
    assert report.balanced() and report.status == "succeeded"
    assert _levels(geo_engine) == EXPECTED
    history = _q(geo_engine, "SELECT section_id, level, attributed_by, load_run_id "
                             "FROM section_impact_history ORDER BY section_id")
    assert history == [("GR-TR-01", "critical", None, report.run_id),
                       ("HR-RS-03", "medium", "HR NCC", report.run_id),
                       ("HU-RS-02", "high", "RS NCC", report.run_id),
                       ("MK-RS-01", "low", "MK NCC", report.run_id)]

    again = load_impact_levels(geo_engine, geo_settings, GOOD)
    assert (again.read, again.updated, again.unchanged, again.rejected) == (6, 0, 6, 0)
    assert _q(geo_engine, "SELECT count(*) FROM section_impact_history") == [(4,)]
    assert _q(geo_engine, "SELECT kind, status, rows_read, rows_updated, rows_unchanged "
                          "FROM load_run WHERE run_id = :r", r=again.run_id) == [
        ("impact_levels", "succeeded", 6, 0, 6)]

    load_geodata(geo_engine, geo_settings)
    assert _levels(geo_engine) == EXPECTED


def test_every_bad_row_is_rejected_with_its_reason(
    geo_engine: Engine, geo_settings: Settings,
) -> None:
    report = load_impact_levels(geo_engine, geo_settings, BAD)
    assert (report.read, report.updated, report.unchanged, report.rejected) == (11, 1, 0, 10)
    assert _codes(geo_engine, report.run_id) == {
        1: ["unknown_section_id"], 2: ["unknown_impact_level"], 3: ["missing_reason"],
        4: ["future_date"], 5: ["bad_date"], 6: ["missing_value"],
        # a section listed twice with different content: neither row is taken
        7: ["duplicate_conflict"], 8: ["duplicate_conflict"],
        10: ["unknown_impact_level", "duplicate_conflict"], 11: ["duplicate_conflict"],
    }
    messages = dict(_q(geo_engine, "SELECT row_number, reasons->0->>'message' FROM rejected_row "
                                   "WHERE run_id = :r", r=report.run_id))
    assert "did you mean 'HU-RS-03'?" in messages[1]
    assert "did you mean 'high'?" in messages[2]
    assert "rows 8" in messages[7].replace("row(s)", "rows") and "none of its rows" in messages[7]
    raw = _q(geo_engine, "SELECT raw->>'reason', raw->>'impact_level' FROM rejected_row "
                         "WHERE run_id = :r AND row_number = 7", r=report.run_id)
    assert raw == [("Reason A", "high")]
    assert _levels(geo_engine) == {"BA-HR-02": ("medium", "Patrols doubled", "2025-06-01 00:00")}


def test_dry_run_writes_nothing(geo_engine: Engine, geo_settings: Settings) -> None:
    report = load_impact_levels(geo_engine, geo_settings, GOOD, dry_run=True)
    assert (report.updated, report.unchanged, report.dry_run) == (4, 2, True)
    assert _levels(geo_engine) == {}
    assert _q(geo_engine, "SELECT count(*) FROM section_impact_history") == [(0,)]
    assert _q(geo_engine, "SELECT dry_run, status FROM load_run WHERE run_id = :r",
              r=report.run_id) == [(True, "succeeded")]


def test_a_failed_load_leaves_the_sections_as_they_were(
    geo_engine: Engine, geo_settings: Settings,
) -> None:
    load_impact_levels(geo_engine, geo_settings, GOOD)
    with pytest.raises(LoadRunFailed, match="strict mode: 10 row"):
        load_impact_levels(geo_engine, geo_settings, BAD, strict=True)
    assert _levels(geo_engine) == EXPECTED  # BA-HR-02, valid in the bad file, stays low
    assert _q(geo_engine, "SELECT status, rows_rejected FROM load_run WHERE kind = "
                          "'impact_levels' ORDER BY run_id") == [("succeeded", 0), ("failed", 10)]
    assert _q(geo_engine, "SELECT count(*) FROM section_impact_history") == [(4,)]


def test_an_older_attribution_does_not_replace_a_newer_one(
    geo_engine: Engine, geo_settings: Settings, tmp_path: Path,
) -> None:
    load_impact_levels(geo_engine, geo_settings, GOOD)
    path = tmp_path / "later.csv"
    path.write_text(HEADER
                    + "HU-RS-02,low,Pressure over,2025-05-01,\n"  # older, other content
                    + "HR-RS-03,medium,Rising detections between BCPs,2025-01-01,\n"  # same
                    + "GR-TR-01,high,Arrivals down,2025-06-03T10:00Z,\n",  # same time: applies
                    encoding="utf-8")
    report = load_impact_levels(geo_engine, geo_settings, path)
    assert (report.updated, report.unchanged, report.rejected) == (1, 1, 1)
    assert _codes(geo_engine, report.run_id) == {1: ["superseded"]}
    levels = _levels(geo_engine)
    assert levels["HU-RS-02"][0] == "high" and levels["GR-TR-01"][:2] == ("high", "Arrivals down")
    assert levels["HR-RS-03"][2] == "2025-06-02 00:00"  # an unchanged level keeps its date


def test_geojson_attributes_are_read_like_csv(geo_engine: Engine, geo_settings: Settings) -> None:
    report = load_impact_levels(geo_engine, geo_settings, DATA / "impact_levels.geojson")
    assert (report.read, report.updated, report.rejected) == (2, 1, 1)
    assert _codes(geo_engine, report.run_id) == {2: ["unknown_impact_level"]}
    assert _levels(geo_engine) == {"HU-RS-01": ("medium", "Seasonal peak", "2025-07-01 00:00")}


def test_it_takes_the_load_lock_and_needs_sections(geo_engine: Engine, engine: Engine) -> None:
    url = geo_engine.url.render_as_string(hide_password=False)
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as holder:
        holder.execute("SELECT pg_advisory_xact_lock(%s)", (LOAD_LOCK_KEY,))
        with pytest.raises(LoadRunFailed, match="another load is running"):
            load_impact_levels(geo_engine, settings_for(url, lock_timeout_s=0), GOOD)
        dry = load_impact_levels(geo_engine, settings_for(url, lock_timeout_s=0), GOOD,
                                 dry_run=True)
        assert dry.updated == 4
    empty = settings_for(engine.url.render_as_string(hide_password=False))
    with pytest.raises(LoadRunFailed, match="no border sections"):
        load_impact_levels(engine, empty, GOOD)


def test_cli_reports_and_exit_codes(geo_engine: Engine, tmp_path: Path) -> None:
    ok = _cli(geo_engine, str(GOOD))
    assert ok.exit_code == 0, ok.output
    assert "read 6  inserted 0  updated 4  unchanged 2  rejected 0" in ok.stdout
    strict = _cli(geo_engine, str(BAD), "--strict", "--json")
    assert strict.exit_code == 1 and json.loads(strict.stdout)["status"] == "failed"
    assert "strict mode: 10 row(s) rejected" in strict.stderr
    no_level = tmp_path / "no_level.csv"
    no_level.write_text("section_id,reason\nHU-RS-01,x\n", encoding="utf-8")
    usage = _cli(geo_engine, str(no_level))
    assert usage.exit_code == 2 and "missing required column(s)" in usage.stderr


def test_reject_codes_are_documented() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "formats.md").read_text(encoding="utf-8")
    for code in ("unknown_section_id", "unknown_impact_level", "missing_reason", "superseded",
                 "duplicate_conflict", "future_date"):
        assert f"`{code}`" in doc, code
    assert "## Impact levels of border sections" in doc
