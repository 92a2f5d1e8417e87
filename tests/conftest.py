"""Shared fixtures: a real PostGIS test cluster, a migrated template, one fresh database per test.

The cluster is borderwatch's own embedded one, private to the pytest session, in
``var/test/<id>`` (or the server named by ``BORDERWATCH_TEST_ADMIN_URL``, a superuser URL of an
existing PostGIS server). Each test that
asks for ``engine`` gets a new database cloned from a migrated template, dropped afterwards.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url

from etl.settings import PROJECT_ROOT, Settings
from etl.warehouse import migrate
from etl.warehouse.postgis import EmbeddedCluster

TEMPLATE = "bw_template"
GEO_TEMPLATE = "bw_template_geo"


def _admin(url: str) -> psycopg.Connection:
    u = make_url(url)
    return psycopg.connect(
        host=u.host, port=u.port, user=u.username, password=u.password, dbname="postgres",
        autocommit=True,
    )


def _db_url(admin_url: str, name: str) -> str:
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def _recreate(admin_url: str, name: str, template: str | None = None) -> None:
    with _admin(admin_url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if template:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        else:
            conn.execute(f'CREATE DATABASE "{name}"')


def _drop(admin_url: str, name: str) -> None:
    with _admin(admin_url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _remove_stale_clusters(root: Path) -> None:
    """Remove test clusters left behind by killed sessions (their server is not running)."""
    if not root.is_dir():
        return
    for data_dir in root.iterdir():
        if not data_dir.is_dir() or time.time() - data_dir.stat().st_mtime < 600:
            continue  # possibly a session that is still creating its cluster
        settings = Settings(database_url=None, data_dir=data_dir, database_name="postgres")
        if not EmbeddedCluster(settings).running():
            shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def admin_url() -> Iterator[str]:
    """Superuser URL (database 'postgres') of this session's own test cluster.

    Every pytest session gets a private cluster in ``var/test/<id>`` (a few seconds to create),
    so parallel sessions never stop each other's server; it is stopped and removed at the end.
    """
    external = os.environ.get("BORDERWATCH_TEST_ADMIN_URL")
    if external:
        yield external
        return
    root = PROJECT_ROOT / "var" / "test"
    _remove_stale_clusters(root)
    data_dir = root / f"s{os.getpid()}-{uuid.uuid4().hex[:6]}"
    settings = Settings(database_url=None, data_dir=data_dir, database_name="postgres")
    cluster = EmbeddedCluster(settings, fast_unsafe=True)
    cluster.start()
    try:
        yield cluster.url()
    finally:
        cluster.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def template_url(admin_url: str) -> str:
    """A database migrated to head, used as the template of every test database."""
    _recreate(admin_url, TEMPLATE)
    url = _db_url(admin_url, TEMPLATE)
    engine = create_engine(url)
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()
    return url


def _fresh_engine(admin_url: str, template: str) -> Iterator[Engine]:
    name = f"t_{uuid.uuid4().hex[:12]}"
    _recreate(admin_url, name, template)
    engine = create_engine(_db_url(admin_url, name), pool_pre_ping=True)
    try:
        yield engine
    finally:
        engine.dispose()
        _drop(admin_url, name)


@pytest.fixture
def engine(admin_url: str, template_url: str) -> Iterator[Engine]:
    """A fresh, migrated, empty warehouse for one test."""
    yield from _fresh_engine(admin_url, TEMPLATE)


@pytest.fixture(scope="session")
def geo_template_url(admin_url: str, template_url: str) -> str:
    """A template with the shipped reference geodata loaded (``borderwatch load geodata``)."""
    from etl.sources.geodata import load_geodata

    _recreate(admin_url, GEO_TEMPLATE, TEMPLATE)
    url = _db_url(admin_url, GEO_TEMPLATE)
    engine = create_engine(url)
    try:
        load_geodata(engine, settings_for(url))
    finally:
        engine.dispose()
    return url


@pytest.fixture
def geo_engine(admin_url: str, geo_template_url: str) -> Iterator[Engine]:
    """A fresh warehouse with the reference geodata already loaded."""
    yield from _fresh_engine(admin_url, GEO_TEMPLATE)


def settings_for(url: str, **overrides: object) -> Settings:
    """Settings pointing at ``url`` (an existing database), for code under test (with the
    tests' session key unless ``secret_key`` is given)."""
    from tests.support import TEST_SECRET

    overrides.setdefault("secret_key", TEST_SECRET)
    return Settings(database_url=url, **overrides)  # type: ignore[arg-type]


@pytest.fixture
def settings(engine: Engine) -> Settings:
    return settings_for(engine.url.render_as_string(hide_password=False))


@pytest.fixture
def geo_settings(geo_engine: Engine) -> Settings:
    return settings_for(geo_engine.url.render_as_string(hide_password=False))
