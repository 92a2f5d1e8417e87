"""The incident rollup equals a recount of ``incident`` after loads, updates, deletes and
inserts from outside the ETL; triggers record what changed."""

from __future__ import annotations

import csv
import hashlib
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from etl.analytics import rollup
from etl.demo.incidents import window, write_incidents
from etl.demo.reference import read_reference
from etl.load import load_file
from etl.settings import SHIPPED_GEODATA, Settings
from etl.warehouse.schema import INCIDENT_CATEGORIES, ROLLUP_EPOCH, ROLLUP_SPANS, rollup_bucket

FLOAT = pytest.approx


def _rows(engine: Engine, query: str, **params: object) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(text(query), params).mappings()]


def expected_rollup(engine: Engine) -> dict[tuple, dict[str, Any]]:
    """The rollup recomputed in Python from every incident (slots from the vocabulary)."""
    slot = {(r["category"], r["subtype"]): r["slot"]
            for r in _rows(engine, "SELECT slot, category, subtype FROM incident_rollup_vocab")}
    out: dict[tuple, dict[str, Any]] = {}
    for i in _rows(engine, """SELECT occurred_at, category, subtype, country, section_id, h3_r5,
                                     ST_X(geom) AS x, ST_Y(geom) AS y FROM incident"""):
        day = i["occurred_at"].astimezone(UTC).date()
        k = slot[(i["category"], i["subtype"] or "")]
        for span in ROLLUP_SPANS:
            key = (span, rollup_bucket(day, span), i["h3_r5"] or 0, i["country"] or "",
                   i["section_id"] or "")
            row = out.setdefault(key, {"n": 0, "c": [0] * len(INCIDENT_CATEGORIES),
                                       "v": defaultdict(int), "sx": 0.0, "sy": 0.0,
                                       "west": i["x"], "south": i["y"], "east": i["x"],
                                       "north": i["y"]})
            row["n"] += 1
            row["c"][INCIDENT_CATEGORIES.index(i["category"])] += 1
            row["v"][k] += 1
            row["sx"] += i["x"]
            row["sy"] += i["y"]
            row["west"], row["east"] = min(row["west"], i["x"]), max(row["east"], i["x"])
            row["south"], row["north"] = min(row["south"], i["y"]), max(row["north"], i["y"])
    return out


def assert_rollup_exact(engine: Engine) -> None:
    """Every rollup row, and only those, as recounted from ``incident``; state up to date."""
    want = expected_rollup(engine)
    got = {(r["span"], r["bucket"], r["cell"], r["country"], r["section_id"]): r
           for r in _rows(engine, "SELECT * FROM incident_rollup")}
    assert set(got) == set(want)
    for key, row in got.items():
        exp = want[key]
        counts = {k + 1: n for k, n in enumerate(row["v"]) if n}
        assert (row["n"], row["c"], counts) == (exp["n"], exp["c"], dict(exp["v"])), key
        assert (row["sx"], row["sy"]) == (FLOAT(exp["sx"]), FLOAT(exp["sy"])), key
        assert (row["west"], row["south"], row["east"], row["north"]) == (
            exp["west"], exp["south"], exp["east"], exp["north"]), key
    state = _rows(engine, "SELECT max_id, no_cell FROM incident_rollup_state")[0]
    top = _rows(engine, "SELECT coalesce(max(id), 0) AS m, count(*) FILTER (WHERE h3_r5 IS NULL)"
                        " AS nulls FROM incident")[0]
    assert (state["max_id"], state["no_cell"]) == (top["m"], top["nulls"])
    assert _rows(engine, "SELECT day FROM incident_rollup_dirty") == []
    vocab = {(r["category"], r["subtype"]): r["n"]
             for r in _rows(engine, "SELECT category, subtype, n FROM incident_rollup_vocab")}
    counted = _rows(engine, "SELECT category, coalesce(subtype, '') AS subtype, count(*) AS n"
                            " FROM incident GROUP BY 1, 2")
    assert {k: n for k, n in vocab.items() if n} == {(r["category"], r["subtype"]): r["n"]
                                                      for r in counted}


def _demo_csv(path: Path, n: int, days: int, seed: int) -> Path:
    ref = read_reference(SHIPPED_GEODATA)
    write_incidents(path, ref, n_incidents=n, start=window(date(2026, 3, 1), days), days=days,
                    seed=seed, hotspots=[])
    return path


def _refresh(engine: Engine) -> rollup.RefreshReport:
    with engine.begin() as conn:
        return rollup.refresh(conn)


def test_loads_keep_the_rollup_exact(geo_engine: Engine, geo_settings: Settings,
                                     tmp_path: Path) -> None:
    first = _demo_csv(tmp_path / "first.csv", 600, 300, seed=3)
    report = load_file(geo_engine, geo_settings, "incidents", first, source="demo")
    assert report.inserted == 600
    assert_rollup_exact(geo_engine)
    state = _rows(geo_engine, "SELECT version, run_id FROM incident_rollup_state")[0]
    assert (state["version"], state["run_id"]) == (1, report.run_id)

    # the same file again with some rows changed: moved in time and space, recategorised
    with first.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    for i, row in enumerate(rows[:60]):
        if i % 3 == 0:
            when = datetime.fromisoformat(row["occurred_at"]) - timedelta(days=40)
            row["occurred_at"] = when.isoformat()
        elif i % 3 == 1 and row["lat"]:
            row["lat"], row["lon"] = f"{float(row['lat']) + 0.3:.5f}", f"{float(row['lon']) - 0.4:.5f}"
        else:
            row["category"], row["subtype"] = "crisis", "public_order"
        row["description"] = f"changed {i}"
    for row in rows[60:70]:
        row["description"] = "only the text changed"
    changed = tmp_path / "changed.csv"
    with changed.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    again = load_file(geo_engine, geo_settings, "incidents", changed, source="demo")
    assert again.updated == 70
    assert_rollup_exact(geo_engine)

    dry = load_file(geo_engine, geo_settings, "incidents",
                    _demo_csv(tmp_path / "more.csv", 50, 20, seed=4), source="more", dry_run=True)
    assert dry.inserted == 50
    assert _rows(geo_engine, "SELECT version FROM incident_rollup_state")[0]["version"] == 2


def _insert(engine: Engine, n: int, seed: int, **fixed: Any) -> None:
    """Incidents written outside the ETL (no refresh), some without cell, country or section."""
    with engine.begin() as conn:
        for k in range(n):
            h = int(hashlib.md5(f"{seed}-{k}".encode()).hexdigest()[:8], 16)
            lon, lat = 19.0 + (h % 1000) / 500, 42.0 + (h // 1000 % 1000) / 400
            values = {
                "iid": f"oob-{seed}-{k}", "at": datetime(2025, 1, 1, tzinfo=UTC) + timedelta(hours=h % 9000),
                "cat": ("crisis", "other", "unauthorised_crossing")[h % 3],
                "sub": None if h % 4 == 0 else ("mass_arrival", "not_in_any_list")[h % 2],
                "country": None if h % 5 == 0 else "RS", "section": None if h % 7 == 0 else "HU-RS-01",
                "lon": lon, "lat": lat, **fixed,
            }
            conn.execute(text("""
                INSERT INTO incident (source, incident_id, occurred_at, category, subtype, country,
                                      section_id, h3_r5, content_hash, geom)
                VALUES ('oob', :iid, :at, :cat, :sub, :country, :section,
                        CASE WHEN :lon < 19.5 THEN NULL ELSE 599686042433355775 + 0 END,
                        'x', ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))"""), values)


def test_refresh_after_outside_writes_updates_and_deletes(engine: Engine) -> None:
    _insert(engine, 120, seed=1)
    first = _refresh(engine)
    assert first.days > 0 and first.rows > 0
    assert_rollup_exact(engine)
    assert _refresh(engine).days == 0  # nothing changed: nothing recomputed

    with engine.begin() as conn:
        conn.execute(text("UPDATE incident SET description = 'text only' WHERE id % 3 = 0"))
    assert _rows(engine, "SELECT day FROM incident_rollup_dirty") == []  # no count moved

    with engine.begin() as conn:
        moved = conn.execute(text("UPDATE incident SET occurred_at = occurred_at + interval '50 days'"
                                  " WHERE id % 4 = 0 RETURNING occurred_at")).all()
        conn.execute(text("UPDATE incident SET category = 'other', subtype = NULL WHERE id % 5 = 1"))
        conn.execute(text("UPDATE incident SET geom = ST_Translate(geom, 0.01, 0) WHERE id % 6 = 2"))
        conn.execute(text("DELETE FROM incident WHERE id % 7 = 3"))
    dirty = {r["day"] for r in _rows(engine, "SELECT day FROM incident_rollup_dirty")}
    assert {m[0].astimezone(UTC).date() for m in moved} <= dirty
    _insert(engine, 30, seed=2)
    _refresh(engine)
    assert_rollup_exact(engine)

    with engine.begin() as conn:
        conn.execute(text("TRUNCATE incident"))
    assert _rows(engine, "SELECT count(*) AS n FROM incident_rollup") == [{"n": 0}]
    _insert(engine, 10, seed=3)
    _refresh(engine)
    assert_rollup_exact(engine)

    with engine.begin() as conn:
        conn.execute(text("DELETE FROM incident_rollup WHERE span = 7"))  # damage it
        rollup.rebuild(conn)
    assert_rollup_exact(engine)


@settings(max_examples=200, deadline=None)
@given(day=st.dates(date(1960, 1, 1), date(2100, 1, 1)), span=st.sampled_from(ROLLUP_SPANS))
def test_buckets_are_aligned_and_nested(day: date, span: int) -> None:
    start = rollup_bucket(day, span)
    assert start <= day < start + timedelta(days=span)
    assert (start - ROLLUP_EPOCH).days % span == 0
    for coarser in ROLLUP_SPANS:
        if coarser > span:  # a bucket lies inside one bucket of every longer span
            assert rollup_bucket(start, coarser) == rollup_bucket(start + timedelta(days=span - 1),
                                                                  coarser)
