"""Loaders under hostile input (issue 9): no byte silently lost, no impossible instant stored,
no unbounded text, no traceback, no lock held for a file that is refused anyway."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import geopandas as gpd
import psycopg
import pytest
import shapely
from sqlalchemy import Engine

from etl.errors import InputFileError
from etl.load import LOAD_LOCK_KEY, load_file
from etl.settings import Settings
from tests.conftest import settings_for
from tests.support import query_rows as _q

HEAD = "incident_id,occurred_at,lat,lon,category,description\n"


def _codes(engine: Engine, run_id: int | None) -> dict[int, list[str]]:
    return dict(_q(engine, "SELECT row_number, jsonb_path_query_array(reasons, '$[*].code') "
                           "FROM rejected_row WHERE run_id = :r", r=run_id))


def _messages(engine: Engine, run_id: int | None) -> dict[int, str]:
    return dict(_q(engine, "SELECT row_number, reasons::text FROM rejected_row WHERE run_id = :r",
                   r=run_id))


# ----------------------------------------------------------------------------- NUL bytes


def test_a_nul_in_a_csv_value_is_a_reject_never_a_cut_value(
        geo_engine: Engine, geo_settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "incidents_nul.csv"
    path.write_bytes((HEAD + "N\x002,2024-05-01,46.15,19.9,other,ok\n"
                      "A-1,2024-05-01,46.15,19.9,other,before\x00after\n"
                      "A-2,2024-05-01,46.15,19.9,other,fine\n").encode())
    report = load_file(geo_engine, geo_settings, "incidents", path)
    assert (report.read, report.inserted, report.rejected) == (3, 1, 2)
    assert _codes(geo_engine, report.run_id) == {1: ["bad_text"], 2: ["bad_text"]}
    assert _q(geo_engine, "SELECT incident_id, description FROM incident") == [("A-2", "fine")]


def test_a_nul_in_a_code_or_a_count_is_a_reject(
        geo_engine: Engine, geo_settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "flows_nul.csv"
    path.write_bytes(b"bcp_code,date,direction,category,count\n"
                     b"RS-HU-HORGOS\x00GARBAGE,2024-05-01,entry,cars,5\n"
                     b"RS-HU-HORGOS,2024-05-01,entry,cars,1\x00\n")
    report = load_file(geo_engine, geo_settings, "flows", path)
    assert (report.read, report.inserted, report.rejected) == (2, 0, 2)
    assert all("bad_text" in codes for codes in _codes(geo_engine, report.run_id).values())


def test_a_nul_escape_in_geojson_is_a_reject(
        geo_engine: Engine, geo_settings: Settings, tmp_path: Path) -> None:
    features = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [19.9, 46.15]},
                 "properties": {"incident_id": iid, "occurred_at": "2024-05-01",
                                "category": "other"}} for iid in ("GN\u00001", "GN-2")]
    path = tmp_path / "incidents_nul.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    assert "\\u0000" in path.read_text()
    report = load_file(geo_engine, geo_settings, "incidents", path)
    assert (report.read, report.inserted, report.rejected) == (2, 1, 1)
    assert _codes(geo_engine, report.run_id) == {1: ["bad_text"]}
    assert _q(geo_engine, "SELECT incident_id FROM incident") == [("GN-2",)]


def test_a_nul_in_geopackage_text_is_a_reject(
        geo_engine: Engine, geo_settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "incidents_nul.gpkg"
    gpd.GeoDataFrame({"incident_id": ["GP-1", "GP-2"], "occurred_at": ["2024-05-01"] * 2,
                      "category": ["other"] * 2},
                     geometry=[shapely.Point(19.9, 46.15)] * 2, crs=4326).to_file(path)
    with sqlite3.connect(path) as db:
        for name in ("ST_IsEmpty", "ST_MinX", "ST_MaxX", "ST_MinY", "ST_MaxY"):
            db.create_function(name, 1, lambda g: 0)  # the GeoPackage's triggers call them
        db.execute("UPDATE incidents_nul SET incident_id = 'GP' || char(0) || '1' "
                   "WHERE incident_id = 'GP-1'")
    report = load_file(geo_engine, geo_settings, "incidents", path)
    assert (report.read, report.inserted, report.rejected) == (2, 1, 1)
    assert _codes(geo_engine, report.run_id) == {1: ["bad_text"]}


# -------------------------------------------------------------------- dates and offsets


@pytest.mark.parametrize(("value", "code"), [
    ("2024-05-01T10:00+99:00", "bad_date"),
    ("2024-05-01T10:00+24:00", "bad_date"),
    ("2024-05-01T10:00+05:75", "bad_date"),
    ("2024/05/01 10:00", "bad_date"),
    ("2024-5-1", "bad_date"),
    ("20240501", "bad_date"),
    ("2999-01-01T10:00Z", "future_date"),
])
def test_impossible_offsets_and_other_shapes_are_refused(
        geo_engine: Engine, geo_settings: Settings, tmp_path: Path, value: str, code: str
) -> None:
    path = tmp_path / "incidents_times.csv"
    path.write_text(HEAD + f"T-1,{value},46.15,19.9,other,\nT-2,2024-05-01T10:00-12:00,46.15,"
                    "19.9,other,\n")
    report = load_file(geo_engine, geo_settings, "incidents", path)
    assert _codes(geo_engine, report.run_id) == {1: [code]}
    assert _q(geo_engine, "SELECT occurred_at::text FROM incident") == [
        ("2024-05-01 22:00:00+00",)]


def test_an_impossible_offset_in_an_impact_level_is_refused(
        geo_engine: Engine, geo_settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "levels.csv"
    path.write_text("section_id,impact_level,reason,attributed_at\n"
                    "HU-RS-02,high,Pressure,2024-05-01T10:00+24:00\n")
    report = load_file(geo_engine, geo_settings, "impact_levels", path)
    assert _codes(geo_engine, report.run_id) == {1: ["bad_date"]}
    assert "offset" in _messages(geo_engine, report.run_id)[1]


# ------------------------------------------------------------------------ text limits


def test_free_text_has_a_limit(geo_engine: Engine, geo_settings: Settings,
                               tmp_path: Path) -> None:
    path = tmp_path / "incidents_long.csv"
    path.write_text("incident_id,occurred_at,lat,lon,category,description,Remark\n"
                    f"L-1,2024-05-01,46.15,19.9,other,{'d' * 10_000_000},\n"
                    f"L-2,2024-05-01,46.15,19.9,other,short,{'r' * 1_001}\n"
                    f"L-3,2024-05-01,46.15,19.9,other,{'d' * 2_000},{'r' * 1_000}\n")
    report = load_file(geo_engine, geo_settings, "incidents", path)
    assert _codes(geo_engine, report.run_id) == {1: ["bad_text"], 2: ["bad_text"]}
    messages = _messages(geo_engine, report.run_id)
    assert "longer than 2,000 characters" in messages[1]
    assert "longer than 1,000 characters" in messages[2]
    assert _q(geo_engine, "SELECT incident_id, length(description) FROM incident") == [
        ("L-3", 2000)]
    levels = tmp_path / "levels_long.csv"
    levels.write_text(f"section_id,impact_level,reason\nHU-RS-02,high,{'x' * 3_000_000}\n")
    report = load_file(geo_engine, geo_settings, "impact_levels", levels)
    assert _codes(geo_engine, report.run_id) == {1: ["bad_text"]}


def test_limits_are_written_as_people_write_numbers(
        geo_engine: Engine, geo_settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "incidents_big.csv"
    path.write_text("incident_id,occurred_at,lat,lon,category,persons\n"
                    "P-1,2024-05-01,46.15,19.9,other,9999999999\n")
    report = load_file(geo_engine, geo_settings, "incidents", path)
    message = _messages(geo_engine, report.run_id)[1]
    assert "larger than 2147483647" in message and "e+09" not in message


# ----------------------------------------------------------- features GDAL cannot read


def test_an_unreadable_geojson_feature_is_a_reject_and_the_rest_loads(
        geo_engine: Engine, geo_settings: Settings, tmp_path: Path) -> None:
    def feature(iid: str, coordinates: object) -> dict:
        return {"type": "Feature", "geometry": {"type": "Point", "coordinates": coordinates},
                "properties": {"incident_id": iid, "occurred_at": "2024-05-01",
                               "category": "other"}}

    path = tmp_path / "incidents_broken.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        feature("B-1", [19.9, 46.15]), feature("B-2", ["a", "b"]), feature("B-3", [19.9, 46.1]),
    ]}))
    small = settings_for(geo_engine.url.render_as_string(hide_password=False),
                         load_chunk_rows=100)
    report = load_file(geo_engine, small, "incidents", path)
    assert (report.read, report.inserted, report.rejected, report.status) == (
        3, 2, 1, "succeeded")
    assert _codes(geo_engine, report.run_id) == {2: ["bad_feature"]}
    assert "invalid 'y' coordinate" in _messages(geo_engine, report.run_id)[2]


def test_a_geopackage_with_two_layers_says_which_it_read(
        geo_engine: Engine, geo_settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "two_layers.gpkg"
    rows = gpd.GeoDataFrame({"incident_id": ["L-1"], "occurred_at": ["2024-05-01"],
                             "category": ["other"]}, geometry=[shapely.Point(19.9, 46.15)],
                            crs=4326)
    rows.to_file(path, layer="reports")
    rows.to_file(path, layer="drafts")
    with _no_warnings():
        report = load_file(geo_engine, geo_settings, "incidents", path)
    assert report.inserted == 1
    assert report.message is not None and "2 layers" in report.message
    assert "'reports'" in report.message and str(tmp_path) not in report.message


class _no_warnings:  # noqa: N801  (a context manager failing on any Python warning)
    def __enter__(self) -> None:
        import warnings

        self._ctx = warnings.catch_warnings(record=True)
        self._caught = self._ctx.__enter__()
        warnings.simplefilter("always")

    def __exit__(self, *exc: object) -> None:
        self._ctx.__exit__(*exc)
        assert [str(w.message) for w in self._caught] == []


# ------------------------------------------------------------ refused before any lock


@pytest.mark.parametrize("header", [
    ",".join(f"c{i}" for i in range(5_000)),
    "incident_id,occurred_at,lat,lon,category," + "x" * 100_000,
])
def test_a_pathological_header_is_refused_before_the_lock(
        geo_engine: Engine, tmp_path: Path, header: str) -> None:
    path = tmp_path / "incidents_wide.csv"
    path.write_text(header + "\n" + "a," * 10 + "\n")
    url = geo_engine.url.render_as_string(hide_password=False)
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as holder:
        holder.execute("SELECT pg_advisory_xact_lock(%s)", (LOAD_LOCK_KEY,))
        with pytest.raises(InputFileError, match="columns|header"):
            load_file(geo_engine, settings_for(url, lock_timeout_s=0), "incidents", path)
    assert _q(geo_engine, "SELECT count(*) FROM load_run WHERE kind = 'incidents'") == [(0,)]


def test_bad_bytes_anywhere_are_refused_like_bad_bytes_in_the_header(
        geo_engine: Engine, geo_settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "incidents_latin1.csv"
    body = "".join(f"E-{i},2024-05-01,46.15,19.9,other,\n" for i in range(30_000))
    path.write_bytes((HEAD + body).encode() + "E-x,2024-05-01,46.15,19.9,other,Ü\n".encode(
        "latin-1"))
    with pytest.raises(InputFileError, match="not UTF-8 text .*line 30,002") as refused:
        load_file(geo_engine, geo_settings, "incidents", path)
    assert refused.value.exit_code == 2
    assert _q(geo_engine, "SELECT count(*) FROM load_run WHERE kind = 'incidents'") == [(0,)]
