"""Loading IBM benchmark assessments against the reference framework."""

from __future__ import annotations

from sqlalchemy import Engine

from etl.load import load_file
from etl.settings import Settings
from tests.support import TEST_DATA as DATA
from tests.support import query_rows as _q


def test_benchmarks_load_and_reload(geo_engine: Engine, geo_settings: Settings) -> None:
    report = load_file(geo_engine, geo_settings, "benchmarks", DATA / "benchmarks_good.csv")
    assert (report.read, report.inserted, report.rejected) == (5, 5, 0)
    rows = _q(geo_engine, "SELECT country, round, component_id, round_date::text, level, "
                          "deadline::text FROM benchmark_assessment ORDER BY round_date, country")
    assert rows[0] == ("RS", "2009", "border_control", "2009-01-01", 1, "2010-06-30")
    assert ("AL", "2024-H1", "information_exchange", "2024-01-01", 3, None) in rows
    assert ("XK", "2024-Q3", "inter_agency_cooperation", "2024-07-01", 1, "2025-03-31") in rows
    again = load_file(geo_engine, geo_settings, "benchmarks", DATA / "benchmarks_good.csv")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 5)


def test_benchmark_rejects(geo_engine: Engine, geo_settings: Settings) -> None:
    report = load_file(geo_engine, geo_settings, "benchmarks", DATA / "benchmarks_bad.csv")
    assert (report.read, report.inserted, report.rejected) == (6, 0, 6)
    codes = dict(_q(geo_engine, "SELECT row_number, jsonb_path_query_array(reasons, '$[*].code')"
                                " FROM rejected_row WHERE run_id = :r", r=report.run_id))
    assert codes == {1: ["unknown_country"], 2: ["bad_round"], 3: ["unknown_component"],
                     4: ["unknown_level"], 5: ["future_date"], 6: ["bad_date"]}
    msg = _q(geo_engine, "SELECT reasons->0->>'message' FROM rejected_row WHERE run_id = :r "
                         "AND row_number = 3", r=report.run_id)
    assert "did you mean 'border_control'" in msg[0][0]
