"""The server path without Docker: borderwatch built as a wheel, installed into a fresh venv
outside the checkout, works against the test PostGIS as the container image does.

The wheel is built from exactly the files the Dockerfile's build stage copies, and the server is
started with the Dockerfile's CMD, so this test is the image's recipe run on the host: migrate,
load the shipped geodata, load a small demo, serve until ``/healthz`` answers. Nothing may come
from the checkout: the commands run in a folder outside it, with a clean environment.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from etl.settings import PROJECT_ROOT
from etl.warehouse import migrate
from tests.support import TEST_SECRET, clean_env, free_port, wait_for_http

DOCKERFILE = PROJECT_ROOT / "Dockerfile"


def build_stage_copies() -> list[tuple[list[str], str]]:
    """``(sources, destination)`` of every COPY in the Dockerfile's first (build) stage."""
    stages = re.split(r"^FROM ", DOCKERFILE.read_text(), flags=re.M)
    assert len(stages) >= 3, "the Dockerfile should build the wheel in a stage of its own"
    copies = []
    for line in stages[1].splitlines():
        if line.startswith("COPY "):
            *sources, dest = line.split()[1:]
            copies.append((sources, dest))
    return copies


def dockerfile_cmd() -> list[str]:
    match = re.search(r"^CMD (\[.*\])\s*$", DOCKERFILE.read_text(), flags=re.M)
    assert match, "Dockerfile has no exec-form CMD"
    return list(json.loads(match.group(1)))


def _run(args: list[str], *, timeout: float = 600, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout,  # type: ignore[call-overload]
                          **kw)


def _copy_build_context(src: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for sources, dest in build_stage_copies():
        target = src / dest
        for name in sources:
            origin = PROJECT_ROOT / name
            where = target / name if dest.endswith("/") else target
            if origin.is_dir():
                shutil.copytree(origin, where, ignore=ignore)
            else:
                where.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(origin, where)


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv (outside the checkout) with the borderwatch wheel and its dependencies."""
    root = tmp_path_factory.mktemp("installed")
    src, wheels, venv = root / "src", root / "wheels", root / "venv"
    _copy_build_context(src)
    built = _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                  "--wheel-dir", str(wheels), str(src)], cwd=root)
    assert built.returncode == 0, built.stderr[-3000:]
    wheel = next(wheels.glob("borderwatch-*.whl"))
    # A venv without pip of its own (ensurepip is slow): this pip installs into it (--python).
    made = _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=root)
    assert made.returncode == 0, made.stderr
    # --no-compile: byte-compiling all of plotly, pandas & co. would double the install time
    installed = _run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"),
                      "install", "--quiet", "--no-compile", str(wheel)], cwd=root, env=_env(root))
    assert installed.returncode == 0, installed.stderr[-3000:]
    return venv


def _env(root: Path, **extra: str) -> dict[str, str]:
    """A clean environment: no BORDERWATCH_* nor Python paths, HOME inside ``root``. Bytecode
    is written (installed with --no-compile, each module is compiled once, when first used)."""
    env = clean_env(HOME=str(root / "home"), **extra)
    for name in ("PYTHONPATH", "VIRTUAL_ENV", "XDG_DATA_HOME", "PYTHONHOME",
                 "PYTHONDONTWRITEBYTECODE"):
        env.pop(name, None)
    return env


@pytest.fixture
def empty_database(admin_url: str) -> Iterator[str]:
    """A new database with nothing in it (not even PostGIS): `db migrate` does the rest."""
    import psycopg

    name = f"inst_{uuid.uuid4().hex[:10]}"
    u = make_url(admin_url)
    args = dict(host=u.host, port=u.port, user=u.username, password=u.password, dbname="postgres",
                autocommit=True)
    with psycopg.connect(**args) as conn:  # type: ignore[arg-type]
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(**args) as conn:  # type: ignore[arg-type]
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _count(url: str, sql: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(sql)).scalar_one())
    finally:
        engine.dispose()


def test_installed_wheel_migrates_loads_and_serves(venv: Path, empty_database: str,
                                                   tmp_path: Path) -> None:
    work = tmp_path / "work"  # the working folder: outside the checkout, no .env
    work.mkdir()
    env = _env(tmp_path, BORDERWATCH_DATABASE_URL=empty_database, BORDERWATCH_SECRET_KEY=TEST_SECRET)
    bin_dir = venv / "bin"

    def bw(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        res = _run([str(bin_dir / "borderwatch"), *args], cwd=work, env=env, input=stdin)
        assert "Traceback" not in res.stderr, res.stderr
        assert res.returncode == 0, f"borderwatch {' '.join(args)}:\n{res.stdout}\n{res.stderr}"
        return res

    config = dict(line.split("  #")[0].split("=", 1) for line in bw("config").stdout.splitlines())
    data_dir = tmp_path / "home" / ".local" / "share" / "borderwatch"
    assert config["BORDERWATCH_DATA_DIR"] == str(data_dir)  # never inside site-packages
    # etl.settings (hence the code) and the geodata come from the venv, not the checkout
    assert config["BORDERWATCH_GEODATA_DIR"] == str(
        venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}"
        / "site-packages" / "geodata")

    assert migrate.head_revision() in bw("db", "migrate").stdout
    geodata = bw("load", "geodata").stdout
    assert "rejected 0" in geodata, geodata
    shipped_bcps = (PROJECT_ROOT / "geodata" / "bcps.csv").read_text().count("\n") - 1
    assert _count(empty_database, "SELECT count(*) FROM bcp") == shipped_bcps
    assert _count(empty_database, "SELECT count(*) FROM border_section") > 100

    bw("demo", "load", "--incidents", "300", "--days", "14")
    assert (data_dir / "demo" / "incidents.csv").is_file()
    assert _count(empty_database, "SELECT count(*) FROM incident WHERE source = 'demo'") == 300
    bw("users", "add", "wheel-test", "--role", "forum_viewer", "--password-stdin", stdin="a long password\n")
    token = bw("users", "token", "wheel-test").stdout.strip()

    cmd = dockerfile_cmd()
    port = free_port()
    server = subprocess.Popen([str(bin_dir / cmd[0]), *cmd[1:]], cwd=work, text=True,
                              env={**env, "BORDERWATCH_HOST": "127.0.0.1",
                                   "BORDERWATCH_PORT": str(port)},
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        body = wait_for_http(f"{base}/healthz", server, timeout=90)
        output = server.stdout.read() if server.poll() is not None and server.stdout else ""
        assert body, f"{' '.join(cmd)} did not answer; output:\n{output}"
        assert json.loads(body) == {"status": "ok", "database": "ok"}
        layer = urllib.request.Request(f"{base}/api/layers/bcps.geojson",
                                       headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(layer, timeout=30) as r:
            assert len(json.loads(r.read())["features"]) == shipped_bcps
        with urllib.request.urlopen(f"{base}/", timeout=30) as r:  # the login page, redirected
            assert r.status == 200 and "borderwatch" in r.read().decode().lower()
        with urllib.request.urlopen(f"{base}/assets/borderwatch_map.js", timeout=30) as r:
            assert r.status == 200  # package data of the dashboard
    finally:
        server.terminate()
        server.wait(timeout=60)
