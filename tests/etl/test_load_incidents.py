"""Loading incident files into a real PostGIS warehouse with the reference geodata."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import Engine

from etl.load import LoadRunFailed, load_file
from etl.settings import Settings
from tests.support import TEST_DATA as DATA
from tests.support import query_rows as _q


def test_load_enriches_and_is_idempotent(geo_engine: Engine, geo_settings: Settings) -> None:
    report = load_file(geo_engine, geo_settings, "incidents", DATA / "incidents_good.csv")
    assert (report.read, report.inserted, report.rejected, report.status) == (6, 6, 0, "succeeded")
    assert report.balanced() and report.source == "incidents_good"
    rows = dict(_q(geo_engine, "SELECT incident_id, occurred_at::text FROM incident"))
    assert rows["RS-2024-0001"] == "2024-05-01 00:15:00+00"  # +02:00 converted to UTC
    # enrichment agrees with PostGIS (point in polygon, geography KNN)
    checks = _q(geo_engine, """
        SELECT i.incident_id, i.country, c.iso2, i.section_id, s.section_id,
               abs(i.border_distance_m - s.d), i.nearest_bcp, b.code, i.h3_r9 IS NOT NULL
        FROM incident i
        LEFT JOIN LATERAL (SELECT iso2 FROM country c WHERE ST_Intersects(c.geom, i.geom)
                           LIMIT 1) c ON true
        CROSS JOIN LATERAL (SELECT section_id, ST_Distance(geom::geography, i.geom::geography) d
                            FROM border_section ORDER BY 2 LIMIT 1) s
        LEFT JOIN LATERAL (SELECT code FROM bcp
                           WHERE ST_DWithin(geom::geography, i.geom::geography, 10000)
                           ORDER BY ST_Distance(geom::geography, i.geom::geography) LIMIT 1) b
               ON true""")
    for iid, country, pg_country, section, pg_section, diff, bcp, pg_bcp, has_h3 in checks:
        if iid == "RS-2024-0002":  # on the border line: the border rule decides (below)
            pg_country = "RS"
        assert (country, section, bcp) == (pg_country, pg_section, pg_bcp), iid
        assert diff < 5 and has_h3, iid
    # a BCP-only report sits at its BCP
    at = _q(geo_engine, """SELECT ST_Equals(i.geom, b.geom), i.nearest_bcp_m FROM incident i
                           JOIN bcp b ON b.code = i.bcp_code WHERE i.incident_id = 'RS-2024-0002'""")
    assert at == [(True, 0.0)]
    before = _q(geo_engine, "SELECT incident_id, updated_at, content_hash FROM incident ORDER BY 1")
    again = load_file(geo_engine, geo_settings, "incidents", DATA / "incidents_good.csv")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 6)
    assert _q(geo_engine, "SELECT incident_id, updated_at, content_hash FROM incident ORDER BY 1"
              ) == before


def test_changed_rows_are_updated_keeping_created_at(
    geo_engine: Engine, geo_settings: Settings, tmp_path: Path
) -> None:
    load_file(geo_engine, geo_settings, "incidents", DATA / "incidents_good.csv", source="rs")
    created = dict(_q(geo_engine, "SELECT incident_id, created_at FROM incident"))
    changed = tmp_path / "incidents_v2.csv"
    lines = (DATA / "incidents_good.csv").read_text().splitlines()
    lines[1] = lines[1].replace(",12,", ",13,")
    lines.append("NEW-1,2024-05-06,45.06,19.05,,other,,1,,,,,HR,,")
    changed.write_text("\n".join(lines) + "\n")
    report = load_file(geo_engine, geo_settings, "incidents", changed, source="rs")
    assert (report.inserted, report.updated, report.unchanged) == (1, 1, 5)
    rows = {r[0]: r[1:] for r in _q(
        geo_engine, "SELECT incident_id, persons, created_at, updated_at > created_at, run_id "
                    "FROM incident")}
    assert rows["RS-2024-0001"][0] == 13 and rows["RS-2024-0001"][2] is True
    assert rows["RS-2024-0001"][1] == created["RS-2024-0001"]
    assert rows["RS-2024-0001"][3] == report.run_id
    assert rows["HR-2024-0001"][2] is False
    # the same ids under another source are other incidents
    other = load_file(geo_engine, geo_settings, "incidents", changed, source="hr")
    assert other.inserted == 7


def test_rejects_are_kept_with_reasons_and_raw_text(
    geo_engine: Engine, geo_settings: Settings
) -> None:
    report = load_file(geo_engine, geo_settings, "incidents", DATA / "incidents_bad.csv")
    assert (report.read, report.inserted, report.unchanged, report.rejected) == (12, 1, 1, 10)
    assert report.balanced()
    assert report.reject_codes["latlon_swapped"] == 1
    rows = _q(geo_engine, "SELECT row_number, raw, reasons FROM rejected_row WHERE run_id = :r "
                          "ORDER BY row_number", r=report.run_id)
    assert [r[0] for r in rows] == [1, 2, 3, 4, 5, 6, 7, 8, 9, 12]
    row9 = rows[8]
    assert row9[1]["nationalities"] == "SYRIA" and row9[1]["lat"] == "abc"
    assert {r["code"] for r in row9[2]} == {
        "missing_value", "bad_coordinate", "bad_nationalities", "unknown_direction",
        "unknown_reporting_country"}
    run = _q(geo_engine, "SELECT status, rows_read, rows_inserted, rows_unchanged, rows_rejected,"
                         " checksum IS NOT NULL FROM load_run WHERE run_id = :r", r=report.run_id)
    assert run == [("succeeded", 12, 1, 1, 10, True)]


def test_dry_run_counts_without_writing(geo_engine: Engine, geo_settings: Settings) -> None:
    load_file(geo_engine, geo_settings, "incidents", DATA / "incidents_good.csv", source="s")
    before = _q(geo_engine, "SELECT count(*), max(updated_at) FROM incident")
    report = load_file(geo_engine, geo_settings, "incidents", DATA / "incidents_bad.csv",
                       source="s", dry_run=True)
    assert report.dry_run and (report.inserted, report.rejected) == (1, 10)
    again = load_file(geo_engine, geo_settings, "incidents", DATA / "incidents_good.csv",
                      source="s", dry_run=True)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 6)
    assert _q(geo_engine, "SELECT count(*), max(updated_at) FROM incident") == before
    assert _q(geo_engine, "SELECT dry_run, status FROM load_run WHERE run_id = :r",
              r=report.run_id) == [(True, "succeeded")]


def test_strict_mode_writes_nothing_but_keeps_the_rejects(
    geo_engine: Engine, geo_settings: Settings
) -> None:
    with pytest.raises(LoadRunFailed, match="strict mode: 10 row") as caught:
        load_file(geo_engine, geo_settings, "incidents", DATA / "incidents_bad.csv", strict=True)
    run_id = caught.value.report.run_id
    assert _q(geo_engine, "SELECT count(*) FROM incident") == [(0,)]
    assert _q(geo_engine, "SELECT status FROM load_run WHERE run_id = :r", r=run_id) == [("failed",)]
    assert _q(geo_engine, "SELECT count(*) FROM rejected_row WHERE run_id = :r",
              r=run_id) == [(10,)]
    ok = load_file(geo_engine, geo_settings, "incidents", DATA / "incidents_good.csv", strict=True)
    assert ok.inserted == 6


def test_geojson_with_extra_columns(geo_engine: Engine, geo_settings: Settings,
                                    tmp_path: Path) -> None:
    report = load_file(geo_engine, geo_settings, "incidents", DATA / "incidents_extra.geojson")
    assert (report.inserted, report.rejected) == (2, 1)
    assert report.reject_codes == {"bad_geometry": 1}
    rows = dict(_q(geo_engine, "SELECT incident_id, attrs FROM incident"))
    assert rows["G-1"] == {"Vehicle_Plate": "NS-123-AB"}
    assert rows["G-2"] == {}  # empty extra values are left out
    raw = _q(geo_engine, "SELECT raw FROM rejected_row WHERE run_id = :r", r=report.run_id)
    assert raw[0][0]["geometry"].startswith("LINESTRING")
    gpkg = tmp_path / "incidents_extra.gpkg"
    import pyogrio

    frame = pyogrio.read_dataframe(DATA / "incidents_extra.geojson", datetime_as_string=True)
    pyogrio.write_dataframe(frame, gpkg)
    again = load_file(geo_engine, geo_settings, "incidents", gpkg, source="incidents_extra")
    assert (again.unchanged, again.rejected) == (2, 1)


def test_missing_reference_data_is_a_clear_failure(engine: Engine, settings: Settings,
                                                   tmp_path: Path) -> None:
    path = tmp_path / "incidents.csv"
    shutil.copy(DATA / "incidents_good.csv", path)
    with pytest.raises(LoadRunFailed, match="load it first with `borderwatch load geodata`"):
        load_file(engine, settings, "incidents", path)
    assert _q(engine, "SELECT status FROM load_run") == [("failed",)]


def test_bulk_load_rebuilds_the_same_indexes(
    geo_engine: Engine, geo_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import etl.stores

    indexes = "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'incident' ORDER BY 1"
    before = _q(geo_engine, indexes)
    monkeypatch.setattr(etl.stores, "BULK_MIN_ROWS", 1)
    report = load_file(geo_engine, geo_settings, "incidents", DATA / "incidents_good.csv")
    assert report.inserted == 6
    assert _q(geo_engine, indexes) == before and len(before) >= 6  # 4 secondary, rebuilt


def test_border_rule_gives_points_on_the_line_to_the_reporting_country(
    geo_engine: Engine, geo_settings: Settings, tmp_path: Path
) -> None:
    """At a BCP or within 1 km of the border, a reporting country of that border wins."""
    # spots north of the Horgos BCP: 1.3 km south of it (about 200 m from the HU-RS section,
    # inside the Hungarian polygon) and 1.5 km north of it (3 km from the section)
    spots = {}
    for name, metres in (("near", -1300.0), ("far", 1500.0)):
        spots[name] = _q(geo_engine, """
            SELECT ST_X(q), ST_Y(q), (SELECT iso2 FROM country c WHERE ST_Intersects(c.geom, q)),
                   (SELECT min(ST_Distance(q::geography, s.geom::geography))
                    FROM border_section s)
            FROM (SELECT ST_Project(geom::geography, :m, 0)::geometry AS q FROM bcp
                  WHERE code = 'RS-HU-HORGOS') x""", m=metres)[0]
    near, far = spots["near"], spots["far"]
    assert near[2] == far[2] == "HU" and near[3] < 500 and far[3] > 2000
    path = tmp_path / "border.csv"
    path.write_text(
        "incident_id,occurred_at,lat,lon,bcp_code,category,reporting_country\n"
        "bcp-rs,2024-05-01,,,RS-HU-HORGOS,other,RS\n"
        "bcp-hu,2024-05-01,,,RS-HU-HORGOS,other,HU\n"
        "bcp-hr,2024-05-01,,,RS-HU-HORGOS,other,HR\n"
        "bcp-none,2024-05-01,,,RS-HU-HORGOS,other,\n"
        f"near-rs,2024-05-01,{near[1]},{near[0]},,other,RS\n"
        f"near-ba,2024-05-01,{near[1]},{near[0]},,other,BA\n"
        f"far-rs,2024-05-01,{far[1]},{far[0]},,other,RS\n"
    )
    report = load_file(geo_engine, geo_settings, "incidents", path)
    assert report.inserted == 7
    pip = dict(_q(geo_engine, "SELECT i.incident_id, c.iso2 FROM incident i LEFT JOIN country c "
                              "ON ST_Intersects(c.geom, i.geom)"))
    got = dict(_q(geo_engine, "SELECT incident_id, country FROM incident"))
    assert got["bcp-rs"] == "RS" and got["bcp-hu"] == "HU"
    assert got["bcp-hr"] == pip["bcp-hr"] and got["bcp-none"] == pip["bcp-none"]
    assert (got["near-rs"], got["near-ba"]) == ("RS", "HU")
    assert got["far-rs"] == "HU"  # more than 1 km inside Hungary: the polygon decides


class _ReaderDuringLoad:
    """Progress hook: when the load announces its final write (indexes dropped or not, not
    yet committed), a dashboard-like reader counts incidents with a short lock timeout."""

    def __init__(self, engine: Engine) -> None:
        self.engine, self.outcome = engine, ""

    def message(self, text: str) -> None:
        if not text.startswith("writing"):
            return
        import psycopg

        url = self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("SET lock_timeout = '300ms'")
            try:
                n = conn.execute("SELECT count(*) FROM incident").fetchone()
                self.outcome = f"read {n[0] if n else '?'}"
            except psycopg.errors.LockNotAvailable:
                self.outcome = "blocked"

    def update(self, done: int, total: int, rows: int) -> None:
        return None


@pytest.mark.parametrize(("max_existing", "expected"), [(5, "read 6"), (100, "blocked")])
def test_a_bulk_load_into_a_table_with_data_keeps_it_readable(
    geo_engine: Engine, geo_settings: Settings, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, max_existing: int, expected: str,
) -> None:
    """Only a first backfill (table nearly empty) drops indexes and so locks out readers."""
    import etl.stores

    load_file(geo_engine, geo_settings, "incidents", DATA / "incidents_good.csv", source="a")
    with geo_engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE incident")  # reltuples = 6
    monkeypatch.setattr(etl.stores, "BULK_MIN_ROWS", 1)
    monkeypatch.setattr(etl.stores, "BULK_MAX_EXISTING", max_existing)
    reader = _ReaderDuringLoad(geo_engine)
    report = load_file(geo_engine, geo_settings, "incidents", DATA / "incidents_good.csv",
                       source="b", progress=reader)
    assert report.inserted == 6
    assert reader.outcome == expected


def test_a_bulk_load_over_rows_of_its_own_source_does_not_lock_itself_out(
    geo_engine: Engine, geo_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The keys of a load into a table holding rows of its source are looked up on a second
    connection, chunk after chunk: such a load keeps the table's indexes, whose dropping
    would lock that connection out (the load would wait for itself)."""
    import threading

    import etl.stores

    load_file(geo_engine, geo_settings, "incidents", DATA / "incidents_good.csv", source="a")
    with geo_engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE incident")  # reltuples = 6: a nearly empty table
    monkeypatch.setattr(etl.stores, "BULK_MIN_ROWS", 1)
    header, first = (DATA / "incidents_good.csv").read_text().splitlines()[:2]
    path = tmp_path / "more.csv"
    path.write_text("\n".join([header] + [first.replace("RS-2024-0001", f"RS-2024-9{i:03d}")
                                          for i in range(250)]) + "\n")
    done: list = []
    load = threading.Thread(target=lambda: done.append(load_file(
        geo_engine, geo_settings.model_copy(update={"load_chunk_rows": 100}), "incidents", path,
        source="a")), daemon=True)
    load.start()
    load.join(180)
    assert done, "the load did not finish: it waited for its own lock"
    assert (done[0].inserted, done[0].status) == (250, "succeeded")
