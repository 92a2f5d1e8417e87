"""Property: whatever a file holds, of every input kind and in every format, a load never
crashes, never truncates a value, and counts every row (read = loaded + rejected).

The rows are drawn from each kind's declared columns (so a new kind is covered as soon as it
is registered), mixed with junk: NUL characters, offsets that do not exist, dates pandas cannot
hold, text longer than any limit, ragged CSV rows, GeoJSON geometries GDAL refuses, GeoPackage
text holding a NUL.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import sqlite3
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from etl.errors import InputFileError
from etl.load import load_file
from etl.settings import Settings
from etl.sources import KINDS
from etl.validate import TEXT_LIMIT, Column, SourceSpec

_COUNTER = itertools.count()
KIND_NAMES = sorted(KINDS)
REFS = {
    "bcp": ["RS-HU-HORGOS", "TR-BG-KAPIKULE", "rs-hu-horgos"],
    "country": ["RS", "HR", "hu", "XK"],
    "component": ["border_control", "risk_analysis"],
    "level": ["0", "2", "3"],
    "section": ["HU-RS-02", "hr-rs-03", "GR-TR-01"],
}
JUNK = st.one_of(
    st.sampled_from(["", " ", "nan", "-1", "1e400", "NULL", "\x00", "N\x002", "before\x00after",
                     "RS-HU-HORGOS\x00GARBAGE", "1\x00", "x" * (TEXT_LIMIT + 1), "ÿ€漢",
                     'a "quoted", value', "line\nbreak", "9" * 30]),
    st.text(max_size=12),
)
BY_KIND: dict[str, list[str]] = {
    "int": ["0", "3", "-2", "2.5", "99999999999"],
    "float": ["0", "35.5", "-1", "46.15", "19.9", "inf"],
    "date": ["2024-05-01", "2024-02-30", "2999-01-01", "2024-5-1", "2024/05/01", "2010-01-01"],
    "timestamp": ["2024-05-01T10:00:00+02:00", "2024-05-01T10:00+99:00", "2024-05-01T10:00+24:00",
                  "2024-05-01T10:00-14:30", "2024-05-01 10:00", "2024-05-01T08:00:00Z",
                  "2024/05/01 10:00", "2999-01-01T00:00Z"],
    "codes": ["SYR", "SYR;AFG", "Syria", ";".join(["SYR"] * 300)],
    "round": ["2010", "2024-H1", "2024-Q5", "spring"],
    "bool": ["true", "no", "maybe", ""],
}
GEOMETRIES = [
    None,
    {"type": "Point", "coordinates": [19.9, 46.15]},
    {"type": "Point", "coordinates": [21.5, 42.0]},
    {"type": "Point", "coordinates": ["a", "b"]},
    {"type": "Point", "coordinates": []},
    {"type": "Point", "coordinates": "ab"},
    {"type": "LineString", "coordinates": [[19.0, 46.0], [20.0, 46.0]]},
]


def _values(col: Column) -> st.SearchStrategy[str]:
    if col.kind == "enum":
        good = st.sampled_from([*col.choices, col.choices[0].upper(), "nope"])
    elif col.kind == "ref":
        good = st.sampled_from([*REFS.get(col.ref or "", []), "ZZ-NOPE"])
    elif col.kind in BY_KIND:
        good = st.sampled_from(BY_KIND[col.kind])
    else:
        good = st.one_of(st.text(max_size=20), st.sampled_from(["RS-1", "a note"]))
    return st.one_of(good, good, JUNK)


@st.composite
def tables(draw: st.DrawFn, kinds: list[str]) -> tuple[SourceSpec, list[str], list[list[str]]]:
    """A kind, a header (its columns, maybe an extra one) and up to 10 rows of text."""
    spec = KINDS[draw(st.sampled_from(kinds))]
    header = [c.name for c in spec.columns] + (["Extra Note"] if draw(st.booleans()) else [])
    strategies = {c.name: _values(c) for c in spec.columns}
    rows = [[draw(strategies[h]) if h in strategies else draw(JUNK) for h in header]
            for _ in range(draw(st.integers(0, 10)))]
    return spec, header, rows


def _check(engine: Engine, settings_: Settings, spec: SourceSpec, path: Path,
           inputs: set[str]) -> None:
    report = load_file(engine, settings_, spec.kind, path, source=path.stem)
    assert report.status == "succeeded"
    assert report.read == report.inserted + report.updated + report.unchanged + report.rejected
    with engine.connect() as conn:
        kept = conn.execute(text("SELECT count(*) FROM rejected_row WHERE run_id = :r"),
                            {"r": report.run_id}).scalar_one()
        run = conn.execute(text("SELECT rows_read, rows_rejected, status FROM load_run "
                                "WHERE run_id = :r"), {"r": report.run_id}).one()
        stored = _stored_text(conn, spec, report.run_id, path.stem)
    assert kept == report.rejected and tuple(run) == (report.read, report.rejected, "succeeded")
    # nothing truncated: every text value stored is a value of the file (blanks removed)
    assert stored <= inputs, stored - inputs


def _stored_text(conn: Any, spec: SourceSpec, run_id: int | None, source: str) -> set[str]:
    """Text values this run stored in the kind's plain text columns."""
    if spec.kind == "impact_levels":
        rows = conn.execute(text("SELECT reason, attributed_by FROM section_impact_history "
                                 "WHERE load_run_id = :r"), {"r": run_id}).all()
        return {v for r in rows for v in r if v is not None}
    types = dict(conn.execute(text(
        "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
        "WHERE attrelid = CAST(:t AS regclass) AND attnum > 0"), {"t": spec.table}).all())
    cols = [c.target_name for c in spec.columns if c.kind == "text" and c.target_name
            and c.case == "keep"
            and c.target_name != "attrs" and not types.get(c.target_name, "").endswith("[]")]
    if not cols:
        return set()
    where = "run_id = :r" if "run_id" in types else "source = :s"
    rows = conn.execute(text(f"SELECT {', '.join(cols)} FROM {spec.table} WHERE {where}"),
                        {"r": run_id, "s": source}).all()
    return {v for r in rows for v in r if v is not None}


def _inputs(rows: list[list[str]]) -> set[str]:
    return {v.strip() for r in rows for v in r}


PROPERTIES = dict(max_examples=30, deadline=None,
                  suppress_health_check=[HealthCheck.function_scoped_fixture,
                                         HealthCheck.too_slow])


@settings(**PROPERTIES)
@given(case=tables(KIND_NAMES), ragged=st.lists(st.integers(0, 20), max_size=3))
def test_csv_of_every_kind(geo_engine: Engine, geo_settings: Settings, tmp_path: Path,
                           case: tuple[SourceSpec, list[str], list[list[str]]],
                           ragged: list[int]) -> None:
    spec, header, rows = case
    written = [list(r) for r in rows]
    for i, n in enumerate(ragged):  # too many or too few fields
        if written:
            row = written[i % len(written)]
            written[i % len(written)] = row[:n] if n < len(row) else row + ["x"] * (n - len(row))
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([header, *written])
    path = tmp_path / f"{spec.kind}_{next(_COUNTER)}.csv"
    path.write_text(buf.getvalue(), encoding="utf-8")
    _check(geo_engine, geo_settings, spec, path, _inputs(written))


@settings(**PROPERTIES)
@given(case=tables(KIND_NAMES), geometries=st.lists(st.sampled_from(GEOMETRIES), min_size=10,
                                                     max_size=10))
def test_geojson_of_every_kind(geo_engine: Engine, geo_settings: Settings, tmp_path: Path,
                               case: tuple[SourceSpec, list[str], list[list[str]]],
                               geometries: list[Any]) -> None:
    spec, header, rows = case
    features = [{"type": "Feature", "properties": dict(zip(header, r, strict=True)),
                 "geometry": g} for r, g in zip(rows, geometries, strict=False)]
    path = tmp_path / f"{spec.kind}_{next(_COUNTER)}.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}),
                    encoding="utf-8")
    if not rows:  # no feature, no property: no column, refused before anything is read
        with pytest.raises(InputFileError, match="missing required column"):
            load_file(geo_engine, geo_settings, spec.kind, path)
        return
    _check(geo_engine, geo_settings, spec, path, _inputs(rows))


MARK = "\u2400"  # stands for a NUL while GDAL writes the file (it would cut the text there)


def _with_nul(path: Path, layer: str, columns: list[str]) -> None:
    """Put back the NULs GDAL could not write, with SQLite."""
    with sqlite3.connect(path) as db:
        for name in ("ST_IsEmpty", "ST_MinX", "ST_MaxX", "ST_MinY", "ST_MaxY"):
            db.create_function(name, 1, lambda g: 0)  # the GeoPackage's triggers call them
        for col in columns:
            q = '"' + col.replace('"', '""') + '"'
            db.execute(f'UPDATE "{layer}" SET {q} = replace({q}, ?, char(0))', (MARK,))


@settings(**{**PROPERTIES, "max_examples": 20})
@given(case=tables(KIND_NAMES), points=st.lists(st.booleans(), min_size=10, max_size=10))
def test_geopackage_of_every_kind(geo_engine: Engine, geo_settings: Settings, tmp_path: Path,
                                  case: tuple[SourceSpec, list[str], list[list[str]]],
                                  points: list[bool]) -> None:
    spec, header, rows = case
    if not rows:
        return  # GDAL writes no layer without features
    frame = gpd.GeoDataFrame(
        {h: [r[i].replace("\x00", MARK) for r in rows] for i, h in enumerate(header)},
        geometry=[shapely.Point(19.9, 46.15) if p else shapely.LineString([(19, 46), (20, 46)])
                  for p in points[: len(rows)]], crs=4326)
    path = tmp_path / f"{spec.kind}_{next(_COUNTER)}.gpkg"
    frame.to_file(path, layer="data", driver="GPKG")
    _with_nul(path, "data", header)
    _check(geo_engine, geo_settings, spec, path, _inputs(rows))
