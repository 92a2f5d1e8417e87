"""The embedded PostgreSQL + PostGIS cluster borderwatch runs when no database URL is set.

The cluster lives in ``<data_dir>/postgres``, listens on 127.0.0.1 only, on a port chosen once
and kept in ``<data_dir>/postgres-cluster.json`` (with the generated password). As root, the server
programs run as the ``postgres`` system user; as anyone else, directly. Port 5432 (the system
cluster) is never used.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from etl.errors import DatabaseUnavailable, PostgisMissing
from etl.settings import Settings
from etl.warehouse.apt import apt_get

log = logging.getLogger(__name__)

SYSTEM_PORT = 5432
SUPERUSER = "borderwatch"
_PG_ROOT = Path("/usr/lib/postgresql")

MISSING_HELP = (
    "PostgreSQL server programs with PostGIS are needed for the embedded warehouse.\n"
    "Either:\n"
    "  - install them (Debian/Ubuntu): sudo apt-get install postgresql-15 postgresql-15-postgis-3\n"
    "    (replace 15 by your PostgreSQL major version), or\n"
    "  - point BORDERWATCH_DATABASE_URL at an existing PostGIS database, e.g.\n"
    "    postgresql+psycopg://user:password@host:5432/borderwatch, or\n"
    "  - use the container setup: docker compose up (see README, 'Servers')."
)


@dataclass(frozen=True)
class ClusterInfo:
    """What a client needs to reach the embedded cluster."""

    port: int
    password: str
    user: str = SUPERUSER
    host: str = "127.0.0.1"

    def url(self, database: str) -> str:
        """SQLAlchemy URL (psycopg 3 driver) of ``database`` in this cluster."""
        return f"postgresql+psycopg://{self.user}:{self.password}@{self.host}:{self.port}/{database}"


def _is_root() -> bool:
    return os.geteuid() == 0


def _pg_bin_dirs() -> list[Path]:
    if not _PG_ROOT.is_dir():
        return []
    dirs = [d / "bin" for d in _PG_ROOT.iterdir() if (d / "bin" / "pg_ctl").exists()]
    return sorted(dirs, key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)


def find_bin_dir(settings: Settings) -> Path | None:
    """The folder with initdb/pg_ctl/postgres, or None when no server is installed."""
    if settings.pg_bin_dir is not None:
        return settings.pg_bin_dir if (settings.pg_bin_dir / "pg_ctl").exists() else None
    dirs = _pg_bin_dirs()
    return dirs[-1] if dirs else None


def _major(bin_dir: Path) -> str:
    out = subprocess.run(
        [str(bin_dir / "postgres"), "--version"], capture_output=True, text=True, check=True
    ).stdout
    return out.split()[-1].split(".")[0]


def postgis_available(bin_dir: Path) -> bool:
    """True when the PostGIS extension is installed for the server in ``bin_dir``."""
    share = Path("/usr/share/postgresql") / _major(bin_dir)
    pg_config = bin_dir / "pg_config"
    if pg_config.exists():
        out = subprocess.run([str(pg_config), "--sharedir"], capture_output=True, text=True)
        if out.returncode == 0 and out.stdout.strip():
            share = Path(out.stdout.strip())
    return (share / "extension" / "postgis.control").exists()


def _apt_install(packages: list[str]) -> None:
    """``apt-get update`` and ``install``, waiting for another apt run's locks (``apt.py``)."""
    log.warning("Installing %s with apt-get (one-time set-up)...", " ".join(packages))
    update = apt_get(["update", "-qq"])
    if update.returncode != 0:
        log.warning("apt-get update failed: %s", update.stderr.strip()[-500:])
    res = apt_get(["install", "-y", "-qq", *packages])
    if res.returncode != 0:
        raise PostgisMissing(
            f"Installing {' '.join(packages)} with apt-get failed.\n{MISSING_HELP}",
            detail=res.stderr[-2000:],
        )


def ensure_installed(settings: Settings) -> Path:
    """Return the server bin folder, installing PostgreSQL/PostGIS with apt when allowed.

    Raises
    ------
    PostgisMissing
        With a message that says exactly what to install, or which alternative to use.
    """
    can_apt = settings.pg_auto_install and _is_root() and shutil.which("apt-get") is not None
    bin_dir = find_bin_dir(settings)
    if bin_dir is None:
        if not can_apt:
            raise PostgisMissing("No PostgreSQL server programs found.\n" + MISSING_HELP)
        _apt_install(["postgresql", "postgis"])
        bin_dir = find_bin_dir(settings)
        if bin_dir is None:
            raise PostgisMissing("PostgreSQL was installed but its programs were not found.")
    if not postgis_available(bin_dir):
        major = _major(bin_dir)
        if not can_apt:
            raise PostgisMissing(
                f"PostGIS is not installed for PostgreSQL {major} "
                f"(package postgresql-{major}-postgis-3).\n" + MISSING_HELP
            )
        _apt_install([f"postgresql-{major}-postgis-3"])
        if not postgis_available(bin_dir):
            raise PostgisMissing(f"postgresql-{major}-postgis-3 installed but not found.")
    return bin_dir


class EmbeddedCluster:
    """Start, stop and describe the private cluster in ``settings.pg_data_dir``."""

    def __init__(self, settings: Settings, *, fast_unsafe: bool = False) -> None:
        self.settings = settings
        self.meta_file = settings.data_dir / "postgres-cluster.json"
        self.data_dir = self._effective_data_dir()
        self.log_file = self.data_dir / "server.log"
        self.fast_unsafe = fast_unsafe
        self.created_database = False

    def _effective_data_dir(self) -> Path:
        """``data_dir/postgres``, or, as root when the postgres user cannot reach it (a project
        under /root, say), a folder under /var/lib/borderwatch named after the project path."""
        wanted = self.settings.pg_data_dir
        if not _is_root():
            return wanted
        if self.meta_file.exists():
            recorded = json.loads(self.meta_file.read_text()).get("data_dir")
            if recorded:
                return Path(recorded)
        probe = wanted.parent
        while not probe.exists():
            probe = probe.parent
        reach = subprocess.run(
            ["runuser", "-u", "postgres", "--", "test", "-x", str(probe)], capture_output=True
        )
        if reach.returncode == 0:
            return wanted
        digest = hashlib.sha1(str(wanted).encode()).hexdigest()[:12]
        return Path("/var/lib/borderwatch") / digest / "postgres"

    # -- helpers -------------------------------------------------------------------------
    def _run(self, args: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
        cmd = ["runuser", "-u", "postgres", "--", *args] if _is_root() else args
        return subprocess.run(cmd, capture_output=True, text=True, **kw)  # type: ignore[call-overload]

    def _bin(self, name: str) -> str:
        bin_dir = find_bin_dir(self.settings)
        if bin_dir is None:
            raise PostgisMissing("No PostgreSQL server programs found.\n" + MISSING_HELP)
        return str(bin_dir / name)

    def info(self) -> ClusterInfo | None:
        """Port and password of an initialised cluster, or None."""
        if not self.meta_file.exists():
            return None
        meta = json.loads(self.meta_file.read_text())
        return ClusterInfo(port=int(meta["port"]), password=meta["password"])

    def initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists() and self.meta_file.exists()

    def running(self) -> bool:
        if not (self.data_dir / "PG_VERSION").exists():
            return False
        res = self._run([self._bin("pg_ctl"), "status", "-D", str(self.data_dir)])
        return res.returncode == 0

    def pid(self) -> int | None:
        pidfile = self.data_dir / "postmaster.pid"
        try:
            return int(pidfile.read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None

    # -- lifecycle -----------------------------------------------------------------------
    def _choose_port(self) -> int:
        if self.settings.pg_port:
            if self.settings.pg_port == SYSTEM_PORT:
                raise DatabaseUnavailable(
                    "BORDERWATCH_PG_PORT=5432 is the system cluster's port; choose another."
                )
            return self.settings.pg_port
        for _ in range(50):
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            if port != SYSTEM_PORT:
                return port
        raise DatabaseUnavailable("No free port found for the embedded cluster.")

    def _prepare_dir(self) -> None:
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.data_dir, 0o700)
        if _is_root():
            pg = pwd.getpwnam("postgres")
            os.chown(self.data_dir, pg.pw_uid, pg.pw_gid)
            if self.data_dir != self.settings.pg_data_dir:
                log.warning(
                    "The postgres user cannot enter %s; the cluster lives in %s instead.",
                    self.settings.pg_data_dir, self.data_dir,
                )

    def init(self) -> ClusterInfo:
        """Create the cluster once (idempotent)."""
        if self.initialised():
            info = self.info()
            assert info is not None
            return info
        ensure_installed(self.settings)
        if self.data_dir.exists() and any(self.data_dir.iterdir()):
            raise DatabaseUnavailable(
                f"{self.data_dir} exists but holds no borderwatch cluster; move it away first."
            )
        self._prepare_dir()
        password = secrets.token_urlsafe(18)
        fd, name = tempfile.mkstemp(prefix="borderwatch-pw-")
        pwfile = Path(name)
        with os.fdopen(fd, "w") as fh:
            fh.write(password + "\n")
        try:
            if _is_root():
                pg = pwd.getpwnam("postgres")
                os.chown(pwfile, pg.pw_uid, pg.pw_gid)
            os.chmod(pwfile, 0o600)
            res = self._run(
                [
                    self._bin("initdb"), "-D", str(self.data_dir), "-U", SUPERUSER,
                    "--auth=scram-sha-256", f"--pwfile={pwfile}", "-E", "UTF8",
                    "--locale=C.UTF-8", "--no-instructions",
                ]
            )
        finally:
            pwfile.unlink(missing_ok=True)
        if res.returncode != 0:
            raise DatabaseUnavailable("initdb failed (see log).", detail=res.stderr[-2000:])
        info = ClusterInfo(port=self._choose_port(), password=password)
        self.meta_file.write_text(
            json.dumps({"port": info.port, "password": password, "data_dir": str(self.data_dir)})
        )
        os.chmod(self.meta_file, 0o600)
        return info

    def start(self) -> ClusterInfo:
        """Start the cluster (initialising it first); a running cluster is left as it is.

        Either way the database ``settings.database_name`` exists afterwards, with PostGIS
        (a new ``BORDERWATCH_DATABASE_NAME`` gets its database on the running cluster).
        """
        info = self.init()
        ensure_installed(self.settings)
        if self.running():
            self.created_database = self._create_database(info)
            return info
        opts = [
            "-c listen_addresses=127.0.0.1",
            f"-p {info.port}",
            "-c unix_socket_directories=''",
            "-c max_connections=100",
            "-c shared_buffers=256MB",
            "-c work_mem=32MB",
            "-c maintenance_work_mem=256MB",
        ]
        if self.fast_unsafe:
            opts += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        res = self._run(
            [
                self._bin("pg_ctl"), "start", "-D", str(self.data_dir), "-l", str(self.log_file),
                "-w", "-t", "120", "-o", " ".join(opts),
            ]
        )
        if res.returncode != 0:
            tail = ""
            if self.log_file.exists():
                tail = "\n".join(self.log_file.read_text(errors="replace").splitlines()[-15:])
            if "already in use" in tail or "could not bind" in tail:
                raise DatabaseUnavailable(
                    f"Port {info.port} of the embedded cluster is taken by another program. "
                    "Set BORDERWATCH_PG_PORT to a free port, or stop that program.",
                    detail=tail,
                )
            raise DatabaseUnavailable(
                f"The embedded cluster did not start; its log is {self.log_file}.",
                detail=res.stderr + tail,
            )
        self.created_database = self._create_database(info)
        return info

    def _create_database(self, info: ClusterInfo) -> bool:
        """Create ``settings.database_name`` with PostGIS unless it exists; True if created.

        The name is safe to quote: ``Settings`` allows only letters, digits and ``_``.
        """
        import psycopg

        deadline = time.monotonic() + 30
        while True:
            try:
                conn = psycopg.connect(
                    host=info.host, port=info.port, user=info.user, password=info.password,
                    dbname="postgres", autocommit=True, connect_timeout=5,
                )
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        with conn:
            name = self.settings.database_name
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            if exists:
                return False
            conn.execute(f'CREATE DATABASE "{name}"')
            log.debug("created database %s in the embedded cluster", name)
        with psycopg.connect(
            host=info.host, port=info.port, user=info.user, password=info.password,
            dbname=self.settings.database_name, autocommit=True,
        ) as db:
            db.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        return True

    def stop(self) -> bool:
        """Stop the cluster; True when it was running."""
        if not self.running():
            return False
        res = self._run(
            [self._bin("pg_ctl"), "stop", "-D", str(self.data_dir), "-m", "fast", "-w", "-t", "60"]
        )
        if res.returncode != 0:
            raise DatabaseUnavailable("The embedded cluster did not stop.", detail=res.stderr)
        return True

    def url(self) -> str:
        info = self.info()
        if info is None:
            raise DatabaseUnavailable("The embedded cluster is not initialised: borderwatch db start")
        return info.url(self.settings.database_name)


def masked_url(url: str) -> str:
    """``url`` with its password replaced by ``***`` (what a screen or a log may show)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(unreadable database URL)"


def database_url(settings: Settings, *, start: bool = True) -> str:
    """The warehouse URL: the configured one, or the embedded cluster's (started if needed)."""
    if not settings.uses_embedded:
        assert settings.database_url is not None
        return settings.database_url.get_secret_value()
    cluster = EmbeddedCluster(settings)
    if start:
        cluster.start()
    return cluster.url()
