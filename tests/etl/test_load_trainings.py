"""Loading trainings (the courses that carry the national IBM strategies)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from etl.load import load_file
from etl.settings import Settings
from tests.support import TEST_DATA as DATA
from tests.support import query_rows as _q


def test_trainings_load_reload_and_update(geo_engine: Engine, geo_settings: Settings,
                                          tmp_path: Path) -> None:
    report = load_file(geo_engine, geo_settings, "trainings", DATA / "trainings_good.csv")
    assert report.balanced() and (report.read, report.inserted, report.rejected) == (4, 4, 0)
    rows = _q(geo_engine, "SELECT country, date::text, topic, organiser, agencies, participants "
                          "FROM training ORDER BY date, country")
    assert rows == [
        ("XK", "2023-11-20", "fundamental_rights", "OSCE", ["border_police", "police"], 15),
        ("RS", "2024-03-12", "risk_analysis", "Frontex", ["border_police", "customs"], 24),
        ("AL", "2024-04-02", "document_security", "IOM", ["border_police"], 18),
        ("MK", "2024-04-02", "ibm_strategy", "National IBM coordination body",
         ["border_police", "customs", "phytosanitary"], 30),
    ]
    again = load_file(geo_engine, geo_settings, "trainings", DATA / "trainings_good.csv")
    assert (again.inserted, again.updated, again.unchanged, again.rejected) == (0, 0, 4, 0)
    fix = tmp_path / "trainings_fix.csv"
    fix.write_text("country,date,topic,organiser,agencies,participants\n"
                   "RS,2024-03-12,risk_analysis,Frontex,customs;border_police,26\n")
    fixed = load_file(geo_engine, geo_settings, "trainings", fix)
    assert (fixed.inserted, fixed.updated) == (0, 1)
    assert _q(geo_engine, "SELECT agencies, participants, title FROM training "
                          "WHERE country = 'RS'") == [(["customs", "border_police"], 26, None)]


def test_training_rejects(geo_engine: Engine, geo_settings: Settings) -> None:
    report = load_file(geo_engine, geo_settings, "trainings", DATA / "trainings_bad.csv")
    assert report.balanced() and (report.read, report.inserted, report.rejected) == (11, 1, 10)
    codes = dict(_q(geo_engine, "SELECT row_number, jsonb_path_query_array(reasons, '$[*].code')"
                                " FROM rejected_row WHERE run_id = :r", r=report.run_id))
    assert codes == {
        1: ["unknown_country"], 2: ["bad_date"], 3: ["unknown_topic"], 4: ["missing_value"],
        5: ["unknown_agency"], 6: ["negative_count"], 7: ["bad_number"], 8: ["future_date"],
        9: ["missing_value"], 11: ["duplicate_conflict"],
    }
    messages = dict(_q(geo_engine, "SELECT row_number, reasons->0->>'message' FROM rejected_row "
                                   "WHERE run_id = :r", r=report.run_id))
    assert messages[5] == "unknown agency 'coastguard' (did you mean 'coast_guard'?)"
    assert _q(geo_engine, "SELECT country, participants FROM training") == [("ME", 12)]


def test_trainings_need_reference_data(engine: Engine, settings: Settings) -> None:
    from etl.load import LoadRunFailed

    try:
        load_file(engine, settings, "trainings", DATA / "trainings_good.csv")
    except LoadRunFailed as exc:
        assert "borderwatch load geodata" in exc.user_message
    else:
        raise AssertionError("a load without reference data must fail")
    assert _q(engine, "SELECT count(*) FROM training") == [(0,)]


def test_new_kinds_are_documented() -> None:
    from etl.sources import strategies, trainings
    from etl.warehouse.schema import AGENCIES, STRATEGY_DOCUMENTS, STRATEGY_STATUSES, TRAINING_TOPICS

    doc = (DATA.parents[1] / "docs" / "formats.md").read_text(encoding="utf-8")
    for title, spec in (("## National strategies", strategies.SPEC), ("## Trainings", trainings.SPEC)):
        section = doc.split(title, 1)[1].split("\n## ", 1)[0]
        for column in spec.columns:
            assert f"| `{column.name}` |" in section, (spec.kind, column.name)
    for word in (*AGENCIES, *STRATEGY_DOCUMENTS, *STRATEGY_STATUSES, *TRAINING_TOPICS,
                 "inconsistent_dates", "unknown_agency"):
        assert f"`{word}`" in doc, word
