"""Small helpers for tests that start a real server process."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

from sqlalchemy import Engine, text

TEST_DATA = Path(__file__).parent / "data"


def query_rows(engine: Engine, query: str, **params: object) -> list[tuple]:
    """Rows of a SQL query (tests' own checks of what landed in PostGIS), as tuples."""
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(query), params)]


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without any BORDERWATCH_* setting, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BORDERWATCH_")}
    env.update(extra)
    return env


def wait_for_http(url: str, proc: subprocess.Popen[str], timeout: float = 60) -> str:
    """GET ``url`` until it answers (or ``proc`` dies); return the body, '' on failure."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return str(response.read().decode())
        except OSError:
            if proc.poll() is not None:
                return ""
            time.sleep(0.5)
    return ""


def refuse_incident(engine: Engine, incident_id: str) -> None:
    """Make the database refuse one incident row (a trigger raising 'refused'): a load
    failure that happens inside PostgreSQL, late in the file."""
    with engine.begin() as conn:
        conn.execute(text(
            "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "RAISE EXCEPTION 'refused'; END $$"))
        conn.execute(text(
            "CREATE TRIGGER boom BEFORE INSERT ON incident FOR EACH ROW "
            f"WHEN (NEW.incident_id = '{incident_id}') EXECUTE FUNCTION boom()"))
