"""Loading daily flow files (counts and waiting times per BCP)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from etl.load import load_file
from etl.settings import Settings
from tests.support import TEST_DATA as DATA
from tests.support import query_rows as _q


def test_flows_load_update_and_reject(geo_engine: Engine, geo_settings: Settings,
                                      tmp_path: Path) -> None:
    report = load_file(geo_engine, geo_settings, "flows", DATA / "flows_good.csv")
    assert (report.read, report.inserted, report.rejected) == (6, 6, 0)
    rows = _q(geo_engine, "SELECT bcp_code, date::text, direction, category, count, "
                          "wait_minutes_avg, lanes_open, source FROM flow "
                          "WHERE bcp_code = 'RS-HR-BATROVCI' ORDER BY direction")
    assert rows == [
        ("RS-HR-BATROVCI", "2024-05-01", "entry", "persons", 9100, None, None, "flows_good"),
        ("RS-HR-BATROVCI", "2024-05-01", "exit", "persons", 8870, 12.0, 5, "flows_good"),
    ]
    again = load_file(geo_engine, geo_settings, "flows", DATA / "flows_good.csv", source="other")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 6)
    changed = tmp_path / "flows_fix.csv"
    changed.write_text("bcp_code,date,direction,category,count\n"
                       "RS-HU-HORGOS,2024-05-01,entry,cars,5300\n")
    fix = load_file(geo_engine, geo_settings, "flows", changed)
    assert (fix.inserted, fix.updated) == (0, 1)
    assert _q(geo_engine, "SELECT count, wait_minutes_avg, source FROM flow WHERE bcp_code = "
                          "'RS-HU-HORGOS' AND direction = 'entry' AND category = 'cars'"
              ) == [(5300, None, "flows_fix")]


def test_flow_rejects(geo_engine: Engine, geo_settings: Settings) -> None:
    report = load_file(geo_engine, geo_settings, "flows", DATA / "flows_bad.csv")
    assert report.balanced() and (report.read, report.inserted, report.rejected) == (11, 1, 10)
    codes = dict(_q(geo_engine, "SELECT row_number, jsonb_path_query_array(reasons, '$[*].code')"
                                " FROM rejected_row WHERE run_id = :r", r=report.run_id))
    assert codes == {
        1: ["unknown_bcp_code"], 2: ["bad_date"], 3: ["future_date"], 4: ["unknown_direction"],
        5: ["unknown_category"], 6: ["negative_count"], 7: ["bad_number"],
        8: ["inconsistent_wait"], 9: ["negative_count"], 11: ["duplicate_conflict"],
    }
