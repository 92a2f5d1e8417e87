"""The BCP registry: pure validation, and `borderwatch load bcps FILE` against PostGIS."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, text

from etl.cli.load import load
from etl.errors import LoadBusy
from etl.load import LOAD_LOCK_KEY, load_file
from etl.report import LoadReport
from etl.settings import Settings
from etl.sources.bcps import COLUMNS, RegistryContext, validate
from tests.conftest import settings_for


def load_bcp_file(engine: Engine, settings: Settings, path: Path, source: str | None = None
                  ) -> LoadReport:
    return load_file(engine, settings, "bcps", path, source=source)


HEADER = list(COLUMNS)
GOOD = {
    "code": "RS-HU-TEST", "name_a": "Test Š", "name_b": "Teszt Ő", "country_a": "RS",
    "country_b": "HU", "mode": "road", "e_road": "E75", "joint_control": "false",
    "one_stop": "no", "lat": "46.1603", "lon": "19.9774", "coord_confidence": "high",
    "notes": "a note",
}


def _ctx(distances: dict[int, float] | None = None) -> RegistryContext:
    return RegistryContext(
        countries=frozenset({"RS", "HU", "HR", "TR", "AL"}),
        pairs=frozenset({"HU-RS", "HR-RS"}),
        border_m=distances or {},
        max_border_km=3.0,
    )


def _codes(reject) -> set[tuple[str, str | None]]:  # type: ignore[no-untyped-def]
    return {(r.code, r.field) for r in reject.reasons}


def test_validation_collects_every_problem_of_a_row() -> None:
    bad = {**GOOD, "code": "bad code", "country_a": "XX", "mode": "hovercraft",
           "lat": "north", "lon": "", "joint_control": "maybe", "e_road": "A1"}
    result = validate([(1, bad)], _ctx())
    assert result.accepted == []
    assert _codes(result.rejects[0]) == {
        ("bad_code", "code"), ("unknown_country", "country_a"), ("bad_mode", "mode"),
        ("bad_number", "lat"), ("missing_value", "lon"), ("bad_boolean", "joint_control"),
        ("bad_e_road", "e_road"),
    }


def test_validation_checks_pair_and_distance() -> None:
    rows = [
        (1, GOOD),
        (2, {**GOOD, "code": "FAR", "lat": "46.5"}),
        (3, {**GOOD, "code": "NO-LINE", "country_a": "AL", "country_b": "TR"}),
        (4, {**GOOD, "code": "SAME", "country_b": "RS"}),
        (5, {**GOOD, "code": "RANGE", "lat": "95"}),
    ]
    result = validate(rows, _ctx({1: 120.0, 2: 37_000.0}))
    assert [r["code"] for r in result.accepted] == ["RS-HU-TEST"]
    assert result.accepted[0]["border_distance_m"] == 120.0
    assert result.accepted[0]["attrs"] == {"notes": "a note"}
    reasons = {r.row_number: _codes(r) for r in result.rejects}
    assert reasons == {
        2: {("too_far_from_border", "lat")},
        3: {("no_border_line", "country_b")},
        4: {("same_country", "country_b")},
        5: {("out_of_range", "lat")},
    }


def test_duplicate_codes() -> None:
    rows = [(1, GOOD), (2, dict(GOOD)), (3, {**GOOD, "code": "X1"}),
            (4, {**GOOD, "code": "X1", "name_b": "other"})]
    result = validate(rows, _ctx())
    assert [r["code"] for r in result.accepted] == ["RS-HU-TEST"]
    assert result.repeats == [2]  # identical repeat: loaded once
    assert {r.row_number for r in result.rejects} == {3, 4}
    assert all(("duplicate_code", "code") in _codes(r) for r in result.rejects)


def _write(path: Path, rows: list[dict[str, str]], extra: str | None = None) -> Path:
    header = HEADER + ([extra] if extra else [])
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return path


def _bad_file(tmp_path: Path) -> Path:
    rows = [
        {**GOOD, "station": "HQ-1"},                                       # good, new
        {**GOOD, "code": "RS-HR-BATROVCI", "name_a": "Batrovci (motorway)",  # good, updates
         "country_b": "HR", "lat": "45.0523", "lon": "19.0876", "station": ""},
        {**GOOD, "code": "FAR-AWAY", "lat": "45.5", "lon": "19.5", "station": ""},
        {**GOOD, "code": "NOWHERE", "country_a": "ZZ", "mode": "ship", "lat": "x",
         "station": ""},
        {**GOOD, "code": "NO-PAIR", "country_a": "AL", "country_b": "TR", "station": ""},
    ]
    return _write(tmp_path / "service_registry.csv", rows, extra="station")


def test_load_bcps_rejects_bad_rows_and_loads_good_ones(
    geo_engine: Engine, geo_settings: Settings, tmp_path: Path
) -> None:
    path = _bad_file(tmp_path)
    report = load_bcp_file(geo_engine, geo_settings, path, source="rs-border-police")
    assert (report.read, report.inserted, report.updated, report.rejected) == (5, 1, 1, 3)
    assert report.balanced() and report.status == "succeeded"
    with geo_engine.connect() as conn:
        run = conn.execute(
            text("SELECT kind, source, status, rows_read, rows_rejected, checksum "
                 "FROM load_run WHERE run_id = :r"), {"r": report.run_id}
        ).one()
        rejects = conn.execute(
            text("SELECT row_number, raw, reasons FROM rejected_row WHERE run_id = :r "
                 "ORDER BY row_number"), {"r": report.run_id}
        ).all()
        loaded = conn.execute(
            text("SELECT code, source, attrs, border_distance_m, name_a FROM bcp "
                 "WHERE code IN ('RS-HU-TEST', 'RS-HR-BATROVCI') ORDER BY code")
        ).all()
    assert (run.kind, run.source, run.status, run.rows_read, run.rows_rejected) == (
        "bcps", "rs-border-police", "succeeded", 5, 3)
    assert len(run.checksum) == 64
    assert [r.row_number for r in rejects] == [3, 4, 5]
    assert rejects[1].raw["lat"] == "x"  # raw text kept as read
    for r in rejects:
        assert r.reasons and all(set(x) == {"code", "field", "message"} for x in r.reasons)
    assert {x["code"] for x in rejects[0].reasons} == {"too_far_from_border"}
    assert {x["code"] for x in rejects[1].reasons} == {"unknown_country", "bad_mode",
                                                        "bad_number"}
    assert {x["code"] for x in rejects[2].reasons} == {"no_border_line"}
    batrovci, test = loaded
    assert batrovci.name_a == "Batrovci (motorway)" and batrovci.source == "rs-border-police"
    assert test.attrs == {"station": "HQ-1", "notes": "a note"}
    assert test.border_distance_m < 3000

    again = load_bcp_file(geo_engine, geo_settings, path, source="rs-border-police")
    assert (again.inserted, again.updated, again.unchanged, again.rejected) == (0, 0, 2, 3)


def test_cli_load_bcps_json(geo_engine: Engine, geo_settings: Settings, tmp_path: Path) -> None:
    path = _bad_file(tmp_path)
    result = CliRunner().invoke(load, ["bcps", str(path), "--json"], obj=geo_settings)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["kind"] == "bcps" and report["rejected"] == 3
    assert report["reject_codes"]["too_far_from_border"] == 1


def test_cli_load_bcps_without_required_columns(
    geo_settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "broken.csv"
    path.write_text("code,name\nX,Y\n", encoding="utf-8")
    result = CliRunner().invoke(load, ["bcps", str(path)], obj=geo_settings)
    assert result.exit_code == 2
    assert "required column(s) missing" in result.output
    assert "Traceback" not in result.output


def test_load_waits_for_no_one_when_another_load_holds_the_lock(
    geo_engine: Engine, tmp_path: Path
) -> None:
    url = geo_engine.url.render_as_string(hide_password=False)
    impatient = settings_for(url, lock_timeout_s=0)
    with geo_engine.connect() as other:
        other.execute(text("SELECT pg_advisory_lock(:k)"), {"k": LOAD_LOCK_KEY})
        with pytest.raises(LoadBusy):
            load_bcp_file(geo_engine, impatient, _bad_file(tmp_path))
        other.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOAD_LOCK_KEY})
    with geo_engine.connect() as conn:
        status = conn.execute(
            text("SELECT status FROM load_run WHERE kind = 'bcps'")
        ).scalar_one()
        loaded = conn.execute(text("SELECT count(*) FROM bcp WHERE code = 'RS-HU-TEST'"))
        assert loaded.scalar_one() == 0
    assert status == "failed"
