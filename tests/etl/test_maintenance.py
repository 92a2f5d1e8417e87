"""``borderwatch delete incidents``, ``analyse rollup`` and ``runs``: deletes keep the rollup
exact and are recorded; a rebuild restores a rollup emptied by a crash."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine

from etl.cli import cli_group
from etl.maintenance import UnknownSource, delete_source, incident_sources, rollup_job
from etl.settings import Settings
from tests.etl.test_rollup import assert_rollup_exact
from tests.support import TEST_DATA, query_rows

GOOD = TEST_DATA / "incidents_good.csv"


def _cli(engine: Engine, *args: str, stdin: str | None = None) -> Result:
    env = {"BORDERWATCH_DATABASE_URL": engine.url.render_as_string(hide_password=False),
           "BORDERWATCH_LOG_LEVEL": "ERROR"}
    return CliRunner().invoke(cli_group, list(args), env=env, input=stdin,
                              catch_exceptions=False)


def _load(engine: Engine, source: str) -> None:
    done = _cli(engine, "load", "incidents", str(GOOD), "--source", source)
    assert done.exit_code == 0, done.output


def _by_source(engine: Engine) -> dict[str, int]:
    return dict(query_rows(engine, "SELECT source, count(*) FROM incident GROUP BY source"))


def test_delete_source_removes_only_that_source_and_keeps_the_rollup_exact(
        geo_engine: Engine, geo_settings: Settings) -> None:
    _load(geo_engine, "nccA")
    _load(geo_engine, "nccB")
    assert _by_source(geo_engine) == {"nccA": 6, "nccB": 6}
    assert [(s.source, s.incidents) for s in incident_sources(geo_engine)] == [
        ("nccA", 6), ("nccB", 6)]

    plan = delete_source(geo_engine, geo_settings, "nccA", dry_run=True)
    assert (plan.deleted, plan.run_id) == (6, None)
    assert _by_source(geo_engine) == {"nccA": 6, "nccB": 6}

    done = delete_source(geo_engine, geo_settings, "nccA")
    assert done.deleted == 6 and done.rollup_days > 0
    assert _by_source(geo_engine) == {"nccB": 6}
    assert_rollup_exact(geo_engine)
    run = query_rows(geo_engine, "SELECT kind, source, status, message FROM load_run "
                                 "WHERE run_id = :r", r=done.run_id)[0]
    assert run == ("delete", "nccA", "succeeded", "deleted 6 incident(s) of source nccA")


def test_unknown_source_names_the_known_ones(geo_engine: Engine, geo_settings: Settings) -> None:
    _load(geo_engine, "nccA")
    with pytest.raises(UnknownSource, match=r"'ncca'.*nccA \(6\)"):
        delete_source(geo_engine, geo_settings, "ncca")
    out = _cli(geo_engine, "delete", "incidents", "--source", "ncca", "--yes")
    assert out.exit_code == 2 and "Traceback" not in out.output
    assert "no incident has the source 'ncca'; sources stored: nccA (6)" in out.stderr
    assert _by_source(geo_engine) == {"nccA": 6}


def test_cli_delete_asks_confirms_and_lists(geo_engine: Engine) -> None:
    _load(geo_engine, "feed")
    listed = _cli(geo_engine, "delete", "incidents", "--list")
    assert listed.stdout.split() == ["6", "feed"]
    dry = _cli(geo_engine, "delete", "incidents", "--source", "feed", "--dry-run")
    assert "would delete 6 incident(s) of source feed [dry run]" in dry.stdout
    no_tty = _cli(geo_engine, "delete", "incidents", "--source", "feed")
    assert no_tty.exit_code == 2 and "add --yes" in no_tty.stderr
    assert _by_source(geo_engine) == {"feed": 6}
    gone = _cli(geo_engine, "delete", "incidents", "--source", "feed", "--yes")
    assert gone.exit_code == 0 and "deleted 6 incident(s) of source feed" in gone.stdout
    assert _by_source(geo_engine) == {}
    runs = _cli(geo_engine, "runs", "--json", "--limit", "2")
    kinds = [json.loads(line)["kind"] for line in runs.stdout.splitlines()]
    assert kinds == ["delete", "incidents"]
    text = _cli(geo_engine, "runs")
    assert "delete" in text.stdout and "deleted 6 incident(s) of source feed" in text.stdout


def test_rebuild_restores_a_rollup_emptied_by_a_crash(geo_engine: Engine,
                                                      geo_settings: Settings) -> None:
    _load(geo_engine, "nccA")
    with geo_engine.begin() as conn:  # what crash recovery does to the unlogged tables
        conn.exec_driver_sql("TRUNCATE incident_rollup, incident_rollup_state")
    assert query_rows(geo_engine, "SELECT count(*) FROM incident_rollup") == [(0,)]
    out = _cli(geo_engine, "analyse", "rollup", "--rebuild")
    assert out.exit_code == 0, out.output
    assert out.stdout.startswith("rebuilt: ")
    assert_rollup_exact(geo_engine)
    again = rollup_job(geo_engine, geo_settings)
    assert again.days == 0  # nothing changed since
    kinds = query_rows(geo_engine, "SELECT kind FROM load_run ORDER BY run_id")
    assert kinds[-3:] == [("incidents",), ("rollup",), ("rollup",)]


def test_rejects_lists_the_latest_file_load_not_a_maintenance_job(geo_engine: Engine) -> None:
    bad = _cli(geo_engine, "load", "incidents", str(TEST_DATA / "incidents_bad.csv"))
    assert bad.exit_code == 0
    _cli(geo_engine, "analyse", "rollup")
    listed = _cli(geo_engine, "rejects")
    assert "incidents from incidents_bad.csv" in listed.stdout and "latlon_swapped" in listed.stdout


def test_a_delete_waits_for_a_running_load_and_then_gives_up_cleanly(geo_engine: Engine) -> None:
    from etl.load import LOAD_LOCK_KEY

    _load(geo_engine, "feed")
    with geo_engine.connect() as holder:  # a load in another process holds the lock
        holder.exec_driver_sql(f"SELECT pg_advisory_lock({LOAD_LOCK_KEY})")
        env = {"BORDERWATCH_DATABASE_URL": geo_engine.url.render_as_string(hide_password=False),
               "BORDERWATCH_LOG_LEVEL": "ERROR", "BORDERWATCH_LOCK_TIMEOUT_S": "1"}
        out = CliRunner().invoke(cli_group, ["delete", "incidents", "--source", "feed", "--yes"],
                                 env=env, catch_exceptions=False)
        holder.exec_driver_sql(f"SELECT pg_advisory_unlock({LOAD_LOCK_KEY})")
    assert out.exit_code == 1 and "Traceback" not in out.output
    assert "waiting for another load to finish (at most 1 s)" in out.stderr
    assert "another load was still running after 1 s" in out.stderr
    assert _by_source(geo_engine) == {"feed": 6}
    last = query_rows(geo_engine, "SELECT kind, status FROM load_run ORDER BY run_id DESC LIMIT 1")
    assert last == [("delete", "failed")]
