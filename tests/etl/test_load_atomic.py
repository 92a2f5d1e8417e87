"""A killed load leaves nothing behind; concurrent loads wait for each other, never deadlock."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg
import pytest
from sqlalchemy import Engine

from etl.errors import LoadBusy
from etl.load import LOAD_LOCK_KEY, LoadRunFailed, load_file
from etl.settings import Settings
from etl.sources.geodata import load_geodata
from tests.conftest import settings_for
from tests.support import TEST_DATA as DATA
from tests.support import query_rows as _q
from tests.support import refuse_incident

CLI = [sys.executable, "-c", "from dashboard.cli import main; main()"]


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _psycopg(engine: Engine) -> psycopg.Connection:
    return psycopg.connect(_url(engine).replace("postgresql+psycopg://", "postgresql://"))


def _big_file(path: Path, n: int) -> Path:
    rng = np.random.default_rng(1)
    pd.DataFrame({
        "incident_id": [f"big-{i}" for i in range(n)],
        "occurred_at": "2024-05-01T10:00:00+02:00",
        "lat": np.round(46.15 + rng.normal(0, 0.05, n), 5),
        "lon": np.round(19.9 + rng.normal(0, 0.05, n), 5),
        "category": "unauthorised_crossing",
        "persons": rng.integers(0, 20, n),
        "reporting_country": "RS",
    }).to_csv(path, index=False)
    return path


def _cli(engine: Engine, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "BORDERWATCH_DATABASE_URL": _url(engine), "BORDERWATCH_LOG_LEVEL": "ERROR"}
    return subprocess.Popen([*CLI, *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _wait_for(condition, timeout: float = 90.0) -> None:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


@pytest.mark.parametrize("phase", ['COPY "incident"'])
def test_a_killed_load_leaves_the_warehouse_as_it_was(
    geo_engine: Engine, geo_settings: Settings, tmp_path: Path, phase: str
) -> None:
    load_file(geo_engine, geo_settings, "incidents", DATA / "incidents_good.csv")
    before = _q(geo_engine, "SELECT incident_id, updated_at FROM incident ORDER BY 1")
    big = _big_file(tmp_path / "incidents_big.csv", 80_000)
    db = geo_engine.url.database
    proc = _cli(geo_engine, "load", "incidents", str(big), "--source", "big")
    try:
        _wait_for(lambda: _q(
            geo_engine, "SELECT count(*) FROM pg_stat_activity WHERE datname = :d "
            "AND state = 'active' AND query LIKE :p", d=db, p=phase + "%")[0][0] > 0
            or proc.poll() is not None)
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
    # the server notices the dead client and rolls its transaction back
    _wait_for(lambda: _q(geo_engine, "SELECT count(*) FROM pg_stat_activity WHERE datname = :d "
                         "AND application_name = 'borderwatch'", d=db)[0][0] == 0)
    assert _q(geo_engine, "SELECT incident_id, updated_at FROM incident ORDER BY 1") == before
    killed = _q(geo_engine, "SELECT run_id, status FROM load_run WHERE source = 'big'")
    assert [s for _, s in killed] == ["running"]
    assert _q(geo_engine, "SELECT count(*) FROM rejected_row WHERE run_id = :r",
              r=killed[0][0]) == [(0,)]
    again = load_file(geo_engine, geo_settings, "incidents", DATA / "incidents_good.csv",
                      source="after")
    assert again.inserted == 6
    assert _q(geo_engine, "SELECT status, message LIKE 'interrupted%' FROM load_run "
                          "WHERE run_id = :r", r=killed[0][0]) == [("failed", True)]


def test_two_loads_at_once_are_serialised(geo_engine: Engine, tmp_path: Path) -> None:
    big = _big_file(tmp_path / "incidents_twice.csv", 5_000)
    db = geo_engine.url.database
    with _psycopg(geo_engine) as holder:  # a load in progress, as far as the others can tell
        holder.execute("SELECT pg_advisory_xact_lock(%s)", (LOAD_LOCK_KEY,))
        procs = [_cli(geo_engine, "load", "incidents", str(big), "--source", "s", "--json")
                 for _ in range(2)]
        _wait_for(lambda: _q(geo_engine, "SELECT count(*) FROM pg_locks l JOIN pg_database d "
                             "ON d.oid = l.database WHERE d.datname = :d AND "
                             "l.locktype = 'advisory' AND NOT l.granted", d=db)[0][0] == 2)
        assert _q(geo_engine, "SELECT count(*) FROM incident") == [(0,)]
        holder.commit()
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    reports = [json.loads(out) for out, _ in outs]
    assert sorted((r["inserted"], r["unchanged"]) for r in reports) == [(0, 5000), (5000, 0)]
    assert all("waiting for another load" in err for _, err in outs)


def test_waiting_is_bounded(geo_engine: Engine) -> None:
    url = _url(geo_engine)
    with _psycopg(geo_engine) as holder:
        holder.execute("SELECT pg_advisory_xact_lock(%s)", (LOAD_LOCK_KEY,))
        for timeout, message in ((1, "still running after 1 s"), (0, "another load is running")):
            with pytest.raises(LoadRunFailed, match=message):
                load_file(geo_engine, settings_for(url, lock_timeout_s=timeout), "incidents",
                          DATA / "incidents_good.csv")
        # a dry run writes nothing and does not wait
        dry = load_file(geo_engine, settings_for(url, lock_timeout_s=0), "incidents",
                        DATA / "incidents_good.csv", dry_run=True)
        assert dry.inserted == 6
    assert _q(geo_engine, "SELECT status, count(*) FROM load_run WHERE kind = 'incidents' "
              "GROUP BY 1 ORDER BY 1") == [
        ("failed", 2), ("succeeded", 1)]


def test_reference_data_loads_take_the_same_lock(geo_engine: Engine) -> None:
    """``load geodata`` (and ``load bcps``, same helper) waits for a running data load."""
    url = _url(geo_engine)
    db = geo_engine.url.database
    done: dict[str, int] = {}
    with _psycopg(geo_engine) as holder:
        holder.execute("SELECT pg_advisory_xact_lock(%s)", (LOAD_LOCK_KEY,))
        with pytest.raises(LoadBusy, match="still running after 1 s"):
            load_geodata(geo_engine, settings_for(url, lock_timeout_s=1))
        waiter = threading.Thread(target=lambda: done.update(load_geodata(geo_engine,
                                                                          settings_for(url))))
        waiter.start()
        _wait_for(lambda: _q(geo_engine, "SELECT count(*) FROM pg_locks l JOIN pg_database d "
                             "ON d.oid = l.database WHERE d.datname = :d AND "
                             "l.locktype = 'advisory' AND NOT l.granted", d=db)[0][0] == 1)
        assert not done
        holder.commit()
    waiter.join(120)
    assert done["inserted"] == done["updated"] == 0 and done["unchanged"] > 0
    assert _q(geo_engine, "SELECT status FROM load_run WHERE kind = 'geodata' ORDER BY run_id"
              ) == [("succeeded",), ("failed",), ("succeeded",)]


def test_a_database_error_while_streaming_writes_nothing(
    geo_engine: Engine, geo_settings: Settings, tmp_path: Path
) -> None:
    """A failure in the writer thread (here: a trigger refusing one row of the second chunk)
    fails the whole load, recorded, with nothing written."""
    refuse_incident(geo_engine, "big-1500")
    big = _big_file(tmp_path / "incidents_boom.csv", 2_000)
    lines = big.read_text().splitlines()
    lines[5] = lines[5].replace("unauthorised_crossing", "nonsense")  # one reject too
    big.write_text("\n".join(lines) + "\n")
    small_chunks = settings_for(_url(geo_engine), load_chunk_rows=500)
    with pytest.raises(LoadRunFailed, match="database error") as caught:
        load_file(geo_engine, small_chunks, "incidents", big)
    run_id = caught.value.report.run_id
    assert _q(geo_engine, "SELECT count(*) FROM incident") == [(0,)]
    assert _q(geo_engine, "SELECT count(*) FROM rejected_row") == [(0,)]
    assert _q(geo_engine, "SELECT status FROM load_run WHERE run_id = :r", r=run_id) == [
        ("failed",)]
