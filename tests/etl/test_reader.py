"""etl.reader: CSV / GeoJSON / GeoPackage streamed as chunks of text (no database)."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from sqlalchemy import Engine

from etl.errors import InputFileError
from etl.reader import normalise_header, open_input
from etl.settings import Settings
from etl.sources import benchmarks, flows, incidents
from etl.validate import GEOM_LON, GEOM_TYPE, OVERFLOW, ROW

DATA = Path(__file__).parent.parent / "data"


def _frames(path: Path, spec=incidents.SPEC, chunk_rows: int = 100) -> pd.DataFrame:
    inp = open_input(path, spec, chunk_rows)
    return pd.concat([c.frame for c in inp.chunks()], ignore_index=True)


def test_header_names_are_case_insensitive_and_extras_kept(tmp_path: Path) -> None:
    path = tmp_path / "incidents_x.csv"
    path.write_text(
        "\ufeffIncident ID,OCCURRED_AT,Latitude,Lon,Category,Vehicle Plate\n"
        "a1,2024-05-01,45.1,19.1,other,NS-1\n",
        encoding="utf-8",
    )
    inp = open_input(path, incidents.SPEC, 10)
    assert inp.columns[:5] == ["incident_id", "occurred_at", "lat", "lon", "category"]
    assert inp.extras == ("Vehicle Plate",)
    assert inp.raw_names["incident_id"] == "Incident ID"
    frame = _frames(path)
    assert frame.loc[0, "Vehicle Plate"] == "NS-1"
    assert frame.loc[0, "lat"] == "45.1"
    assert normalise_header("  Wait-Minutes  AVG ") == "wait_minutes_avg"


def test_rows_are_numbered_across_chunks_and_blank_lines_skipped(tmp_path: Path) -> None:
    lines = ["incident_id,occurred_at,lat,lon,category"]
    lines += [f"r{i},2024-05-01,45,19,other" for i in range(250)]
    lines.insert(10, "")
    path = tmp_path / "incidents_many.csv"
    path.write_text("\n".join(lines) + "\n")
    inp = open_input(path, incidents.SPEC, 100)
    chunks = list(inp.chunks())
    assert [len(c.frame) for c in chunks] == [100, 100, 50]
    assert chunks[-1].frame[ROW].tolist()[-1] == 250
    assert chunks[-1].done == chunks[-1].total == path.stat().st_size


def test_short_and_long_rows(tmp_path: Path) -> None:
    path = tmp_path / "incidents_ragged.csv"
    path.write_text(
        "incident_id,occurred_at,lat,lon,category\n"
        "short,2024-05-01\n"
        "long,2024-05-01,45,19,other,surplus,more\n"
        'quoted,"2024-05-01","45","19","other, with comma"\n'
    )
    frame = _frames(path)
    assert frame.loc[0, "category"] == ""
    assert frame.loc[1, OVERFLOW] == "surplus,more"
    assert frame.loc[2, "category"] == "other, with comma"
    assert frame.loc[2, OVERFLOW] == ""


def test_very_long_row_falls_back_to_the_csv_module(tmp_path: Path) -> None:
    rows = [f"r{i},2024-05-01,45,19,other" for i in range(30)]
    rows[17] = "r17,2024-05-01,45,19,other," + ",".join(f"x{i}" for i in range(40))
    path = tmp_path / "incidents_wide.csv"
    path.write_text("incident_id,occurred_at,lat,lon,category\n" + "\n".join(rows) + "\n")
    frame = _frames(path, chunk_rows=10)
    assert frame["incident_id"].tolist() == [f"r{i}" for i in range(30)]
    assert frame[ROW].tolist() == list(range(1, 31))
    assert frame.loc[17, OVERFLOW].startswith("x0,x1")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("incidents.xlsx", b"x", "unknown format"),
        ("incidents_empty.csv", b"", "empty file"),
        ("incidents_nokey.csv", b"occurred_at,lat,lon,category\n", "incident_id"),
        ("incidents_noloc.csv", b"incident_id,occurred_at,category\n", "lat or bcp_code"),
        ("incidents_twice.csv", b"incident_id,Incident_ID,occurred_at,lat,lon,category\n",
         "appears twice"),
        ("incidents_latin1.csv", "incident_id,occurred_at,lat,lon,category,Ü\n".encode("latin-1"),
         "not UTF-8"),
    ],
)
def test_bad_files_are_refused_before_any_row(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputFileError, match=message):
        open_input(path, incidents.SPEC, 10)


def test_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="no such file"):
        open_input(tmp_path / "nope.csv", flows.SPEC, 10)


def test_undecodable_bytes_later_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "flows_bad_bytes.csv"
    path.write_bytes(b"bcp_code,date,direction,category,count\nA,2024-05-01,entry,cars,1\n"
                     b"B,2024-05-01,entry,cars,\xff\xfe\n")
    with pytest.raises(InputFileError, match="not UTF-8"):
        _frames(path, flows.SPEC)


def test_geojson_point_geometry_and_properties() -> None:
    frame = _frames(DATA / "incidents_extra.geojson")
    assert frame["incident_id"].tolist() == ["G-1", "G-2", "G-3"]
    assert frame.loc[0, GEOM_LON] == pytest.approx(19.9)
    assert frame.loc[0, "persons"] == "4"
    assert frame.loc[1, GEOM_TYPE] == ""
    assert frame.loc[2, GEOM_TYPE] == "LineString"
    assert frame.loc[0, "Vehicle_Plate"] == "NS-123-AB"


def test_geopackage_in_another_crs_is_read_in_wgs84(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame(
        {"Country": ["RS"], "Round": ["2010"], "Component": ["border_control"], "Level": [2]},
        geometry=[shapely.Point(19.9, 46.15)], crs=4326,
    ).to_crs(3857)
    path = tmp_path / "benchmarks.gpkg"
    gdf.to_file(path, driver="GPKG")
    frame = _frames(path, benchmarks.SPEC)
    assert frame.loc[0, "level"] == "2"
    assert frame.loc[0, GEOM_LON] == pytest.approx(19.9)


def test_a_long_first_row_loses_nothing(tmp_path: Path) -> None:
    path = tmp_path / "flows_first_long.csv"
    path.write_text("bcp_code,date,direction,category,count\n"
                    "A,2024-05-01,entry,cars,1," + ",".join("x" * 9) + ",last\nB,,,,\n")
    frame = _frames(path, flows.SPEC)
    assert frame.loc[0, OVERFLOW].endswith(",last") and frame["bcp_code"].tolist() == ["A", "B"]


def test_a_geojson_date_that_does_not_exist_is_a_reject_not_a_failed_load(
    geo_engine: Engine, geo_settings: Settings, tmp_path: Path
) -> None:
    """GDAL types a GeoJSON property that looks like a date as a date; 2024-02-30 then failed
    the whole read in pyogrio ('day is out of range for month', 'internal error'). Read as
    text, it is that row's bad_date and the rest loads (found by the property test)."""
    from etl.load import iter_rejects, load_file

    features = [{"type": "Feature", "geometry": None,
                 "properties": {"country": "RS", "date": day, "topic": "ibm_strategy",
                                "organiser": "IOM",
                                "agencies": "border_police", "participants": "5",
                                "title": f"t{n}"}}
                for n, day in enumerate(("2024-02-30", "2024-02-10"))]
    path = tmp_path / "trainings.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    report = load_file(geo_engine, geo_settings, "trainings", path)
    assert (report.read, report.inserted, report.rejected) == (2, 1, 1)
    (row, raw, reasons), = iter_rejects(geo_engine, report.run_id or 0)
    assert row == 1 and raw["date"] == "2024-02-30"
    assert [r["code"] for r in reasons] == ["bad_date"]
