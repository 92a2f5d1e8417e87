"""``borderwatch db``: a private cluster that starts, survives a restart, stops cleanly, and
makes the database of each database name it is given."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from etl.settings import PROJECT_ROOT

BW = [sys.executable, "-m", "dashboard.cli"]


def _bw(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*BW, *args], capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture
def cluster_env() -> dict[str, str]:
    data_dir = PROJECT_ROOT / "var" / "test-cli"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BORDERWATCH_")}
    env["BORDERWATCH_DATA_DIR"] = str(data_dir)
    yield env
    _bw("db", "stop", env=env)
    shutil.rmtree(data_dir, ignore_errors=True)


def _connect(url: str) -> psycopg.Connection:
    u = make_url(url)
    return psycopg.connect(
        host=u.host, port=u.port, user=u.username, password=u.password, dbname=u.database,
        autocommit=True,
    )


def _postgres_processes(data_dir: Path) -> list[str]:
    out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if "postgres" in line and str(data_dir) in line]


def test_start_url_restart_stop_and_a_database_per_name(cluster_env: dict[str, str]) -> None:
    started = _bw("db", "start", env=cluster_env)
    assert started.returncode == 0, started.stderr
    url = _bw("db", "url", "--show-password", env=cluster_env).stdout.strip()
    port = make_url(url).port
    assert make_url(url).host == "127.0.0.1" and port != 5432
    shown = _bw("db", "url", env=cluster_env).stdout.strip()  # as config shows it: masked
    assert shown == make_url(url).render_as_string(hide_password=True)
    assert make_url(url).password not in shown and ":***@" in shown
    config = _bw("config", env=cluster_env).stdout.splitlines()  # the port in use, not 0
    assert f"BORDERWATCH_PG_PORT={port}  # chosen on the first db start" in config
    with _connect(url) as conn:
        assert "POSTGIS=" in conn.execute("SELECT postgis_full_version()").fetchone()[0]
        conn.execute("CREATE TABLE kept (x int)")
        conn.execute("INSERT INTO kept VALUES (42)")

    again = _bw("db", "start", env=cluster_env)  # idempotent: already running
    assert again.returncode == 0 and f":{port}" in again.stdout

    assert _bw("db", "stop", env=cluster_env).stdout.strip() == "stopped"
    data_dir = Path(cluster_env["BORDERWATCH_DATA_DIR"]) / "postgres"
    assert _postgres_processes(data_dir) == []
    status = _bw("db", "status", env=cluster_env)
    assert status.returncode == 3 and "stopped" in status.stdout

    assert _bw("db", "start", env=cluster_env).returncode == 0
    again_url = _bw("db", "url", "--show-password", env=cluster_env).stdout.strip()
    assert again_url == url  # same port, same password
    with _connect(url) as conn:
        assert conn.execute("SELECT x FROM kept").fetchone()[0] == 42

    migrated = _bw("db", "migrate", env=cluster_env)
    assert migrated.returncode == 0, migrated.stderr
    status = _bw("db", "status", env=cluster_env)
    assert "up to date" in status.stdout

    # A new database name gets its database on the running cluster (this cluster: making a
    # second one, and stopping it, took about 8 s of a separate test)
    assert _bw("db", "start", env=cluster_env).returncode == 0
    second = dict(cluster_env, BORDERWATCH_DATABASE_NAME="second_db")
    started = _bw("db", "start", env=second)  # already running: the database is still made
    assert started.returncode == 0, started.stderr
    assert "created database second_db" in started.stdout
    third = dict(cluster_env, BORDERWATCH_DATABASE_NAME="third_db")
    for env in (second, third):  # migrate alone creates it too (it starts the warehouse)
        migrated = _bw("db", "migrate", env=env)
        assert migrated.returncode == 0 and "Traceback" not in migrated.stderr, migrated.stderr
        url = _bw("db", "url", "--show-password", env=env).stdout.strip()
        with _connect(url) as conn:
            assert conn.execute("SELECT current_database()").fetchone()[0] == env[
                "BORDERWATCH_DATABASE_NAME"]
            assert conn.execute("SELECT count(*) FROM alembic_version").fetchone()[0] == 1

    # an external URL naming a database that does not exist: a clear error, no traceback
    missing = make_url(url).set(database="not_there").render_as_string(hide_password=False)
    external = dict(cluster_env, BORDERWATCH_DATABASE_URL=missing)
    res = _bw("db", "migrate", env=external)
    assert res.returncode == 1 and "Traceback" not in res.stderr, res.stderr
    assert 'database "not_there" does not exist' in res.stderr
    assert make_url(url).password not in res.stderr

    bad = _bw("db", "start", env=dict(cluster_env, BORDERWATCH_DATABASE_NAME='x"; DROP'))
    assert bad.returncode == 2 and "BORDERWATCH_DATABASE_NAME" in bad.stderr


def test_missing_postgis_gives_a_clear_message(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BORDERWATCH_")}
    env.update(
        BORDERWATCH_DATA_DIR=str(tmp_path / "data"),
        BORDERWATCH_PG_BIN_DIR=str(tmp_path / "no-postgres-here"),  # no server programs
        BORDERWATCH_PG_AUTO_INSTALL="false",  # and no apt
    )
    res = _bw("db", "start", env=env)
    assert res.returncode == 1
    assert "Traceback" not in res.stderr + res.stdout
    assert "apt-get install postgresql-15 postgresql-15-postgis-3" in res.stderr
    assert "BORDERWATCH_DATABASE_URL" in res.stderr and "docker compose" in res.stderr


def test_bad_setting_is_a_usage_error() -> None:
    env = dict(os.environ, BORDERWATCH_PORT="not-a-port")
    res = _bw("db", "status", env=env)
    assert res.returncode == 2
    assert "BORDERWATCH_PORT" in res.stderr and "Traceback" not in res.stderr


def test_db_commands_refuse_embedded_actions_with_external_url() -> None:
    env = dict(os.environ, BORDERWATCH_DATABASE_URL="postgresql+psycopg://u:secret@127.0.0.1:1/x")
    res = _bw("db", "stop", env=env)
    assert res.returncode == 2 and "BORDERWATCH_DATABASE_URL is set" in res.stderr
    assert "secret" not in res.stderr
