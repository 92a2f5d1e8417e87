"""In-file duplicates with bounded memory: older keys spill to a TEMP table on a side connection.

A small memory limit (``memory_keys``) and small chunks put the spill boundary inside a file of
a few thousand rows; duplicates of spilled and of in-memory rows must be found exactly as
without the spill, and the side connection must be gone after the load, also after a failure.
"""

from __future__ import annotations

import csv
import logging
import time
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine, text

from etl.load import LoadRunFailed, load_file
from etl.settings import Settings
from etl.validate import SeenKeys
from etl.warehouse import seen_keys
from etl.warehouse.seen_keys import TempKeyStore
from tests.conftest import settings_for
from tests.support import query_rows as _q
from tests.support import refuse_incident

BASE = 2_400  # distinct incidents at the top of the file
HEADER = ["incident_id", "occurred_at", "lat", "lon", "category", "persons", "reporting_country"]


def _row(key: int, persons: int, when: str = "2024-05-01T10:00:00+02:00") -> dict[str, str]:
    return {"incident_id": f"inc-{key}", "occurred_at": when, "lat": f"{45.5 + key * 1e-5:.5f}",
            "lon": "19.9", "category": "unauthorised_crossing", "persons": str(persons),
            "reporting_country": "RS"}


def _file(path: Path) -> tuple[Path, dict[int, tuple[list[str], int]], int]:
    """A file with duplicates on both sides of the spill boundary.

    Returns the path, the expected rejects (row -> (codes, row named in the message)) and the
    number of exact duplicates.
    """
    rows: list[dict[str, str]] = [_row(k, k % 20) for k in range(1, BASE + 1)]
    rows[2] = _row(1, 1)  # row 3 repeats row 1 exactly, in the same chunk
    rejects: dict[int, tuple[list[str], int]] = {}
    rows[299] = _row(10, 99)  # row 300: same key as row 10 (in memory then), other content
    rejects[300] = (["duplicate_conflict"], 10)
    exact = 1

    def tail(row: dict[str, str]) -> int:
        rows.append(row)
        return len(rows)

    for k in range(BASE + 1, BASE + 120):  # new keys between the duplicates
        tail(_row(k, 1))
        if k == BASE + 10:
            tail(_row(5, 5))  # exact repeat of row 5 (spilled long ago)
            exact += 1
        elif k == BASE + 20:
            rejects[tail(_row(7, 8))] = (["duplicate_conflict"], 7)  # spilled row 7, changed
        elif k == BASE + 30:
            tail(_row(2_390, 2_390 % 20))  # exact repeat of a recent row (still in memory)
            exact += 1
        elif k == BASE + 40:
            rejects[tail(_row(2_395, 0))] = (["duplicate_conflict"], 2_395)
        elif k == BASE + 50:  # a bad row repeating spilled row 9 gets both reasons
            rejects[tail(_row(9, 9, when="yesterday"))] = (["bad_date", "duplicate_conflict"], 9)
        elif k == BASE + 60:
            rejects[tail(_row(10, 3))] = (["duplicate_conflict"], 10)  # row 10 again, spilled
        elif k == BASE + 70:
            tail(_row(5, 5))  # row 5 once more
            exact += 1
        elif k == BASE + 80:  # a new key repeated with other content in the same chunk
            first = len(rows)
            rejects[tail(_row(k, 7))] = (["duplicate_conflict"], first)
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=HEADER)
        writer.writeheader()
        writer.writerows(rows)
    return path, rejects, exact


def _rejects(engine: Engine, run_id: int | None) -> dict[int, list[tuple[str, str]]]:
    rows = _q(engine, "SELECT row_number, reasons FROM rejected_row WHERE run_id = :r", r=run_id)
    return {n: [(x["code"], x["message"]) for x in reasons] for n, reasons in rows}


def _backend_gone(engine: Engine, pid: int, timeout: float = 10.0) -> bool:
    """The backend ``pid`` has left pg_stat_activity (its exit is asynchronous to close())."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if _q(engine, "SELECT count(*) FROM pg_stat_activity WHERE pid = :p", p=pid) == [(0,)]:
            return True
        time.sleep(0.05)
    return False


def _spills(caplog: pytest.LogCaptureFixture) -> list[int]:
    """Backend pids of the side connections opened (from the store's log line)."""
    return [int(r.args[0]) for r in caplog.records  # type: ignore[index, arg-type]
            if r.name == seen_keys.__name__ and "TEMP table" in r.getMessage()]


def test_seen_keys_answer_the_same_with_a_store(engine: Engine) -> None:
    rng = np.random.default_rng(7)
    n = 5_000
    k1, k2, c1 = (rng.integers(0, 2**64, n, dtype=np.uint64) for _ in range(3))
    rows = np.arange(1, n + 1, dtype=np.int64)
    in_memory = SeenKeys()
    with TempKeyStore(engine) as store:
        spilling = SeenKeys(1_000, store)
        for a in range(0, n, 300):
            for seen in (in_memory, spilling):
                seen.add(k1[a:a + 300], k2[a:a + 300], c1[a:a + 300], rows[a:a + 300])
        assert spilling.in_memory <= 1_000 and spilling.stored == store.keys >= 3_800
        # known keys (spilled and recent), then unknown ones and a k1 match with another k2
        ask1 = np.concatenate([k1[::7], rng.integers(0, 2**64, 2_000, dtype=np.uint64), k1[:5]])
        ask2 = np.concatenate([k2[::7], rng.integers(0, 2**64, 2_000, dtype=np.uint64),
                               k2[5:10]])
        want = in_memory.lookup(ask1, ask2)
        got = spilling.lookup(ask1, ask2)
        for a, b in zip(want, got, strict=True):
            assert np.array_equal(a, b)
        assert want[0].sum() == len(k1[::7])
        # the filter sends only the stored keys to the database (false positives: ~1e-8)
        spilled = np.isin(ask1[: len(k1[::7])], k1[: spilling.stored])
        assert spilling.store_lookups == int(spilled.sum()) + 5 > 5  # + the 5 mismatched pairs
        pid = store.backend_pid
        assert pid is not None
    assert _backend_gone(engine, pid)


def test_a_spilling_load_finds_the_same_duplicates(
    geo_engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=seen_keys.__name__)
    path, expected, exact = _file(tmp_path / "incidents_dups.csv")
    small = settings_for(geo_engine.url.render_as_string(hide_password=False),
                         load_chunk_rows=250)
    plain = load_file(geo_engine, small, "incidents", path, dry_run=True)
    assert _spills(caplog) == []  # 2,500 keys: no spill under the default limit
    dry = load_file(geo_engine, small, "incidents", path, dry_run=True, memory_keys=1_000)
    real = load_file(geo_engine, small, "incidents", path, memory_keys=1_000)
    pids = _spills(caplog)
    assert len(pids) == 2  # both spilling loads used a side connection
    lines = sum(1 for _ in path.open()) - 1
    for report in (plain, dry, real):
        assert (report.read, report.unchanged, report.rejected) == (lines, exact, len(expected))
        assert report.inserted == lines - exact - len(expected) and report.balanced()
        got = _rejects(geo_engine, report.run_id)
        assert {n: [code for code, _ in reasons] for n, reasons in got.items()} == {
            n: codes for n, (codes, _) in expected.items()}
        for n, (_, earlier) in expected.items():
            assert f"as row {earlier} of this file" in got[n][-1][1], (n, got[n])
    assert _rejects(geo_engine, dry.run_id) == _rejects(geo_engine, plain.run_id)
    assert _q(geo_engine, "SELECT count(*) FROM incident") == [(real.inserted,)]
    assert all(_backend_gone(geo_engine, pid) for pid in pids)


class _CtrlC:
    """A progress watcher that presses Ctrl-C once ``rows`` rows have been read."""

    def __init__(self, rows: int) -> None:
        self.rows = rows

    def message(self, text: str) -> None:
        return None

    def update(self, done: int, total: int, rows: int) -> None:
        if rows >= self.rows:
            raise KeyboardInterrupt


@pytest.mark.parametrize("how", ["database error", "interrupted"])
def test_the_side_connection_is_closed_after_a_failed_load(
    geo_engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture, how: str
) -> None:
    caplog.set_level(logging.INFO, logger=seen_keys.__name__)
    if how == "database error":  # the database refuses a row late in the file
        refuse_incident(geo_engine, f"inc-{BASE}")
    path, _, _ = _file(tmp_path / "incidents_fail.csv")
    small: Settings = settings_for(geo_engine.url.render_as_string(hide_password=False),
                                   load_chunk_rows=250)
    expected: type[BaseException] = (LoadRunFailed if how == "database error"
                                      else KeyboardInterrupt)
    progress = _CtrlC(2_000) if how == "interrupted" else None
    with pytest.raises(expected):
        load_file(geo_engine, small, "incidents", path, memory_keys=500, progress=progress)
    pids = _spills(caplog)
    assert len(pids) == 1 and _backend_gone(geo_engine, pids[0])
    assert _q(geo_engine, "SELECT count(*) FROM incident") == [(0,)]
    runs = _q(geo_engine, "SELECT status, message LIKE :m FROM load_run WHERE kind = :k",
              m=how + "%", k="incidents")
    assert runs == [("failed", True)]


def test_a_user_without_temp_tables_gets_a_clear_message(geo_engine: Engine, tmp_path: Path) -> None:
    """An external PostGIS whose load user may not create TEMP tables: a file that needs the
    spill fails with a message saying what to grant, and writes nothing."""
    db = geo_engine.url.database
    with geo_engine.begin() as conn:
        conn.execute(text("CREATE ROLE bw_limited LOGIN PASSWORD 'limited-pw'"))
        conn.execute(text(f'REVOKE TEMPORARY ON DATABASE "{db}" FROM PUBLIC'))
        conn.execute(text("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public "
                          "TO bw_limited"))
        conn.execute(text("GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO bw_limited"))
    limited_url = geo_engine.url.set(username="bw_limited", password="limited-pw")
    limited = settings_for(limited_url.render_as_string(hide_password=False), load_chunk_rows=250)
    from etl.warehouse.engine import get_engine

    engine = get_engine(limited)
    path, _, _ = _file(tmp_path / "incidents_limited.csv")
    try:
        with pytest.raises(LoadRunFailed, match="may not create temporary tables") as failed:
            load_file(engine, limited, "incidents", path, memory_keys=1_000)
        assert "GRANT TEMPORARY ON DATABASE" in failed.value.user_message
        assert _q(geo_engine, "SELECT count(*) FROM incident") == [(0,)]
        assert _q(geo_engine, "SELECT status FROM load_run ORDER BY run_id DESC LIMIT 1") == [
            ("failed",)]
    finally:
        engine.dispose()
        with geo_engine.begin() as conn:
            conn.execute(text("REASSIGN OWNED BY bw_limited TO CURRENT_USER"))
            conn.execute(text("DROP OWNED BY bw_limited"))
            conn.execute(text("DROP ROLE bw_limited"))
