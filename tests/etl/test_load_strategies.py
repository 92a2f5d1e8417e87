"""Loading national IBM strategies and action plans."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from etl.load import load_file
from etl.settings import Settings
from tests.support import TEST_DATA as DATA
from tests.support import query_rows as _q


def test_strategies_load_reload_and_update(geo_engine: Engine, geo_settings: Settings,
                                           tmp_path: Path) -> None:
    report = load_file(geo_engine, geo_settings, "strategies", DATA / "strategies_good.csv")
    assert report.balanced() and (report.read, report.inserted, report.rejected) == (4, 4, 0)
    rows = _q(geo_engine, "SELECT country, document, adopted_on::text, valid_until::text, status, "
                          "measures_implemented_pct, source FROM national_strategy "
                          "ORDER BY country, adopted_on")
    assert rows == [
        ("AL", "ibm_strategy", "2014-03-01", None, "in_force", None, "strategies_good"),
        ("RS", "ibm_strategy", "2012-10-18", "2016-12-31", "expired", None, "strategies_good"),
        ("RS", "action_plan", "2012-12-20", "2016-12-31", "superseded", 64.5, "strategies_good"),
        ("XK", "action_plan", "2021-01-15", "2025-12-31", "in_force", 40.0, "strategies_good"),
    ]
    again = load_file(geo_engine, geo_settings, "strategies", DATA / "strategies_good.csv")
    assert (again.inserted, again.updated, again.unchanged, again.rejected) == (0, 0, 4, 0)
    fix = tmp_path / "strategies_fix.csv"
    fix.write_text("country,document,adopted_on,status,measures_implemented_pct\n"
                   "XK,action_plan,2021-01-15,in_force,55\n")
    fixed = load_file(geo_engine, geo_settings, "strategies", fix)
    assert (fixed.inserted, fixed.updated) == (0, 1)
    assert _q(geo_engine, "SELECT measures_implemented_pct, title, source FROM national_strategy "
                          "WHERE country = 'XK'") == [(55.0, None, "strategies_fix")]


def test_strategy_rejects(geo_engine: Engine, geo_settings: Settings) -> None:
    report = load_file(geo_engine, geo_settings, "strategies", DATA / "strategies_bad.csv")
    assert report.balanced() and (report.read, report.inserted, report.rejected) == (11, 1, 10)
    codes = dict(_q(geo_engine, "SELECT row_number, jsonb_path_query_array(reasons, '$[*].code')"
                                " FROM rejected_row WHERE run_id = :r", r=report.run_id))
    assert codes == {
        1: ["unknown_country"], 2: ["unknown_document"], 3: ["bad_date"], 4: ["future_date"],
        5: ["inconsistent_dates"], 6: ["unknown_status"], 7: ["number_out_of_range"],
        8: ["negative_value"], 9: ["missing_value"], 11: ["duplicate_conflict"],
    }
    messages = dict(_q(geo_engine, "SELECT row_number, reasons->0->>'message' FROM rejected_row "
                                   "WHERE run_id = :r", r=report.run_id))
    assert messages[5] == "valid_until 2014-12-31 is before adopted_on 2015-01-01"
    assert "valid: expired, in_force, superseded, under_revision" in messages[6]
    assert _q(geo_engine, "SELECT country, title FROM national_strategy") == [("ME", "Strategy")]
