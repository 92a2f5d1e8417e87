"""The benchmark cluster (``var/bench``), its databases, and a description of the machine.

Databases are created from a migrated template that also holds the reference geodata
(``borderwatch load geodata``), so every benchmark starts from the warehouse a user has after
``make run`` minus the demo data. The cluster runs with the same settings as the dev cluster
(``borderwatch db start``: fsync on), not the test cluster's unsafe fast mode.
"""

from __future__ import annotations

import os
import platform
import secrets
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil
import psycopg
from psycopg import sql
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url

from etl.settings import PROJECT_ROOT, Settings
from etl.warehouse import migrate
from etl.warehouse.postgis import EmbeddedCluster

#: Home of the benchmark cluster and of the generated data files (gitignored).
BENCH_DIR = PROJECT_ROOT / "var" / "bench"


def cluster_settings(data_dir: Path = BENCH_DIR) -> Settings:
    """Settings of the benchmark cluster itself (database ``postgres``)."""
    return Settings(database_url=None, data_dir=data_dir, database_name="postgres")


#: The session key of the dashboards the benchmarks serve (a fresh one per run).
SECRET_KEY = secrets.token_hex(32)
#: The dashboard user the benchmarks log in as (an admin: sees every incident in detail).
BENCH_USER = "bench-admin"


def settings_for(url: str, **overrides: object) -> Settings:
    """Settings of code under benchmark, pointing at the database ``url``."""
    overrides.setdefault("secret_key", SECRET_KEY)
    return Settings(database_url=url, **overrides)  # type: ignore[arg-type]


def bench_user(url: str, role: str = "admin", country: str | None = None) -> tuple[str, str]:
    """``(name, password)`` of the benchmarks' dashboard user of ``role`` (of ``country``,
    for a national officer) in the warehouse at ``url`` (created, or given a new random
    password). The admin is ``BENCH_USER``; the others are named after their role, a national
    officer also after their country (``bench-national-officer-rs``): a user found from an
    earlier run has the role and country asked for (no account call changes a user's country,
    and the busiest country of a warehouse can change between runs)."""
    from etl.warehouse import accounts

    name = BENCH_USER if role == "admin" else f"bench-{role.replace('_', '-')}"
    if country:
        name = f"{name}-{country.lower()}"
    password = secrets.token_urlsafe(16)
    engine = engine_for(url)
    try:
        if accounts.find_user(engine, name) is None:
            accounts.add_user(engine, name, role, password, country_code=country)
        else:
            accounts.set_password(engine, name, password)
    finally:
        engine.dispose()
    return name, password


@dataclass
class BenchCluster:
    """The running benchmark cluster: its admin URL and whether this run started it."""

    admin_url: str
    started_here: bool
    cluster: EmbeddedCluster
    prefix: str = "bench"
    template_built: bool = False

    def name(self, what: str) -> str:
        """Database name ``<prefix>_<what>`` (quick runs use their own prefix)."""
        return f"{self.prefix}_{what}"

    def url(self, database: str) -> str:
        """SQLAlchemy URL (with password) of ``database`` in this cluster."""
        return make_url(self.admin_url).set(database=database).render_as_string(
            hide_password=False)

    def admin(self) -> psycopg.Connection:
        """An autocommit superuser connection to the ``postgres`` database."""
        u = make_url(self.admin_url)
        return psycopg.connect(host=u.host, port=u.port, user=u.username, password=u.password,
                               dbname="postgres", autocommit=True)

    def exists(self, database: str) -> bool:
        with self.admin() as conn:
            row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                               (database,)).fetchone()
        return row is not None

    def recreate(self, database: str, template: str | None = None) -> str:
        """Drop ``database`` if present and create it again (from ``template``); its URL."""
        with self.admin() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(database)))
            if template:
                conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(database), sql.Identifier(template)))
            else:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
        return self.url(database)

    def drop(self, database: str) -> None:
        with self.admin() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(database)))

    def vacuum_analyze(self, database: str) -> None:
        """VACUUM ANALYZE the incident table (what autovacuum does soon after a big load)."""
        u = make_url(self.url(database))
        with psycopg.connect(host=u.host, port=u.port, user=u.username, password=u.password,
                             dbname=database, autocommit=True) as conn:
            conn.execute("VACUUM (ANALYZE) incident")

    def set_options(self, database: str, options: dict[str, str]) -> None:
        """``ALTER DATABASE ... SET name = value`` for each option (``RESET`` when value is
        empty); new connections to ``database`` get them."""
        with self.admin() as conn:
            for name, value in options.items():
                if not name.replace("_", "").replace(".", "").isalnum():
                    raise ValueError(f"not a setting name: {name}")
                if value:
                    conn.execute(sql.SQL("ALTER DATABASE {} SET {} = {}").format(
                        sql.Identifier(database), sql.Identifier(name), sql.Literal(value)))
                else:
                    conn.execute(sql.SQL("ALTER DATABASE {} RESET {}").format(
                        sql.Identifier(database), sql.Identifier(name)))

    def geo_template(self) -> str:
        """A template database migrated to head with the reference geodata loaded.

        Built once per benchmark run (a few seconds), so schema or geodata changes are always
        picked up.
        """
        template = self.name("template_geo")
        if self.template_built:
            return template
        from etl.sources.geodata import load_geodata

        building = template + "_building"
        url = self.recreate(building)
        engine = create_engine(url)
        try:
            migrate.upgrade(engine)
            load_geodata(engine, settings_for(url))
        finally:
            engine.dispose()
        self.drop(template)
        with self.admin() as conn:
            conn.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                sql.Identifier(building), sql.Identifier(template)))
        self.template_built = True
        return template

    def fresh_warehouse(self, database: str) -> str:
        """A new database ``database``: migrated, reference geodata loaded, no incidents."""
        return self.recreate(database, self.geo_template())


def _remove_stale_private(root: Path) -> None:
    """Remove private clusters left behind by killed runs (server not running, >10 min old)."""
    if not root.is_dir():
        return
    for folder in root.iterdir():
        if not folder.is_dir() or time.time() - folder.stat().st_mtime < 600:
            continue
        if not EmbeddedCluster(cluster_settings(folder)).running():
            shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def bench_cluster(data_dir: Path = BENCH_DIR, prefix: str = "bench", *,
                  private: bool = False) -> Iterator[BenchCluster]:
    """Start the benchmark cluster (initialising it on first use); stop it afterwards if this
    call started it. Databases of this run are named ``<prefix>_...``.

    ``private``: a throwaway cluster of this run only, in ``data_dir/clusters/<id>``, stopped
    and removed at the end (what the smoke test uses, so parallel runs never meet).
    """
    if private:
        _remove_stale_private(data_dir / "clusters")
        data_dir = data_dir / "clusters" / f"p{os.getpid()}-{uuid.uuid4().hex[:6]}"
    cluster = EmbeddedCluster(cluster_settings(data_dir))
    was_running = cluster.running()
    try:
        cluster.start()
        yield BenchCluster(admin_url=cluster.url(), started_here=not was_running,
                           cluster=cluster, prefix=prefix)
    finally:
        if not was_running:
            cluster.stop()
        if private:
            shutil.rmtree(cluster.data_dir, ignore_errors=True)
            shutil.rmtree(data_dir, ignore_errors=True)


def engine_for(url: str) -> Engine:
    """A plain engine for setup work (not the code under benchmark)."""
    return create_engine(url, pool_pre_ping=True)


# ----------------------------------------------------------------------------- the machine


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _os_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return platform.platform()


def _version(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return "not found"
    return (out.stdout or out.stderr).strip().splitlines()[0] if out.returncode == 0 else "not found"


def machine(bench: BenchCluster | None = None) -> dict[str, str]:
    """CPU, cores, RAM, OS, kernel, Python and (with a cluster) PostgreSQL/PostGIS versions."""
    info = {
        "cpu": _cpu_model(),
        "cores": f"{psutil.cpu_count(logical=False) or '?'} physical / "
                 f"{psutil.cpu_count(logical=True)} logical",
        "ram": f"{psutil.virtual_memory().total / 2**30:.1f} GiB",
        "os": f"{_os_name()} (Linux {platform.release()})",
        "python": platform.python_version(),
    }
    if bench is not None:
        with psycopg.connect(bench.url("postgres").replace("postgresql+psycopg", "postgresql"),
                             autocommit=True) as conn:
            pg = conn.execute("SHOW server_version").fetchone()
            info["postgresql"] = str(pg[0]) if pg else "?"
        with psycopg.connect(bench.url(bench.geo_template()).replace(
                "postgresql+psycopg", "postgresql"), autocommit=True) as conn:
            gis = conn.execute("SELECT postgis_lib_version(), postgis_geos_version(), "
                               "postgis_proj_version()").fetchone()
        if gis:
            info["postgis"] = f"{gis[0]} (GEOS {gis[1]}, PROJ {gis[2]})"
        info["cluster"] = ("embedded, var/bench, default settings of `borderwatch db start` "
                           "(fsync on, shared_buffers 256MB, work_mem 32MB)")
    info["chromium"] = _version(["chromium", "--version"])
    info["load average at start"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return info
