"""Loading daily flow files (counts and waiting times per BCP)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from etl.load import iter_rejects, load_file
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


def test_each_side_reports_its_own_rows(geo_engine: Engine, geo_settings: Settings,
                                        tmp_path: Path) -> None:
    """Both services of a crossing load side by side; the default side is the BCP's country_a;
    a reporting country that is not one of the BCP's two is rejected with a reason."""
    path = tmp_path / "two_sides.csv"
    path.write_text(
        "bcp_code,reporting_country,date,direction,category,count\n"
        "RS-HR-BATROVCI,RS,2024-05-01,exit,cars,4000\n"      # 1 Serbia counts leaving
        "RS-HR-BATROVCI,hr,2024-05-01,entry,cars,3950\n"     # 2 Croatia counts the same arriving
        "RS-HR-BATROVCI,,2024-05-01,entry,cars,3800\n"       # 3 empty: country_a (RS)
        "RS-HR-BATROVCI,HU,2024-05-01,entry,trucks,10\n"     # 4 Hungary is not at Batrovci
        "RS-HR-BATROVCI,ZZ,2024-05-01,entry,buses,10\n"      # 5 not a country at all
        "XX-NOWHERE,HR,2024-05-01,entry,cars,10\n"           # 6 unknown BCP: one reason only
        "RS-HR-BATROVCI,RS,2024-05-01,exit,cars,4000\n"      # 7 exact duplicate of row 1
        "RS-HR-BATROVCI,HR,2024-05-01,entry,cars,3951\n"     # 8 same key as row 2, other count
    )
    report = load_file(geo_engine, geo_settings, "flows", path)
    assert report.balanced()
    assert (report.read, report.inserted, report.unchanged, report.rejected) == (8, 3, 1, 4)
    rows = _q(geo_engine, "SELECT reporting_country, direction, count FROM flow "
                          "WHERE bcp_code = 'RS-HR-BATROVCI' ORDER BY reporting_country, direction")
    assert rows == [("HR", "entry", 3950), ("RS", "entry", 3800), ("RS", "exit", 4000)]
    reasons = {n: [(r["code"], r["message"]) for r in rs]
               for n, _, rs in iter_rejects(geo_engine, report.run_id or 0)}
    assert reasons[4] == [("foreign_reporting_country",
                           "reporting_country HU is not one of the two countries of BCP "
                           "RS-HR-BATROVCI (RS, HR)")]
    assert [c for c, _ in reasons[5]] == ["unknown_reporting_country"]
    assert [c for c, _ in reasons[6]] == ["unknown_bcp_code"]
    assert [c for c, _ in reasons[8]] == ["duplicate_conflict"]
    # an old file (no reporting_country column) lands on country_a's rows
    old = load_file(geo_engine, geo_settings, "flows", DATA / "flows_good.csv")
    assert old.inserted == 6
    assert _q(geo_engine, "SELECT DISTINCT f.reporting_country = b.country_a FROM flow f "
                          "JOIN bcp b ON b.code = f.bcp_code WHERE f.source = 'flows_good'"
              ) == [(True,)]
