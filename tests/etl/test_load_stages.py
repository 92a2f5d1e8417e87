"""The load does no work it does not need: a reload enriches only the rows that are new or
changed (keys classified first), and the report says where the time went (no timing is
asserted: figures are measured in bench/)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from etl.load import load_file
from etl.settings import Settings
from tests.support import TEST_DATA as DATA
from tests.support import query_rows as _q


def test_a_reload_enriches_only_new_and_changed_rows(
        geo_engine: Engine, geo_settings: Settings, tmp_path: Path, enriched: list[int]) -> None:
    first = load_file(geo_engine, geo_settings, "incidents", DATA / "incidents_good.csv")
    assert sum(enriched) == 6 and first.inserted == 6
    stored = _q(geo_engine, "SELECT incident_id, country, section_id, nearest_bcp, h3_r9 "
                            "FROM incident ORDER BY 1")
    enriched.clear()
    again = load_file(geo_engine, geo_settings, "incidents", DATA / "incidents_good.csv")
    assert (again.unchanged, sum(enriched)) == (6, 0)
    changed = tmp_path / "incidents_good.csv"
    lines = (DATA / "incidents_good.csv").read_text().splitlines()
    lines[1] = lines[1].replace(",12,", ",13,")
    changed.write_text("\n".join(lines) + "\n")
    enriched.clear()
    third = load_file(geo_engine, geo_settings, "incidents", changed)
    assert (third.updated, third.unchanged, sum(enriched)) == (1, 5, 1)
    assert _q(geo_engine, "SELECT incident_id, country, section_id, nearest_bcp, h3_r9 "
                          "FROM incident ORDER BY 1") == stored  # the update enriched it alike


def test_the_report_says_where_the_time_went(geo_engine: Engine, geo_settings: Settings) -> None:
    report = load_file(geo_engine, geo_settings, "incidents", DATA / "incidents_good.csv")
    assert {"read", "validate", "enrich", "write (writer thread)",
            "finish the table (updates, indexes)", "after the load (rollup)"} <= set(report.stages)
    assert all(s >= 0 for s in report.stages.values())
    assert "stages" in report.as_dict()
