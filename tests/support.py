"""Small helpers for tests: real server processes, SQL checks, and logged-in clients."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, text

if TYPE_CHECKING:
    from dash import Dash
    from flask.testing import FlaskClient

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


# -- logging in (access control, issue 10) --------------------------------------------------
#
# Every page, callback and data URL needs a logged-in user. In a test:
#
#     from tests.support import login_client
#     client = login_client(engine, "forum_viewer")            # an app on `engine`, logged in
#     client = login_client(engine, "admin", refresh_interval_s=2)  # with setting overrides
#     clients = role_clients(engine)                           # {role: client}, one app
#
# The users are those of ROLE_USERS (created on first use, password TEST_PASSWORD); the
# national officer serves RS, whose neighbours in the seeded warehouse are BA and HR. A query
# called directly (not through a request) needs a scope: tests/dashboard/conftest.py gives
# every dashboard test an admin scope; use `with gateway.scoped(Scope(...))` for another.
# Browser tests: `start_app(engine, role="national_officer")` in tests/browser/conftest.py
# serves the app and logs the browser in (`login_browser` does the form by hand).

TEST_PASSWORD = "test-password-2009"
TEST_SECRET = "borderwatch-tests-only-secret-key-0123456789"
ROLE_USERS = {
    "admin": ("t-admin", None),
    "regional_analyst": ("t-analyst", None),
    "national_officer": ("t-officer", "RS"),
    "forum_viewer": ("t-forum", None),
}
ROLES = tuple(ROLE_USERS)


@lru_cache(maxsize=1)
def _test_hash() -> str:
    from etl.warehouse.accounts import hash_password

    return hash_password(TEST_PASSWORD)


def add_role_users(engine: Engine) -> dict[str, str]:
    """One user per role in the warehouse of ``engine`` (kept if there): role -> user name."""
    from etl.warehouse import accounts

    for role, (name, country) in ROLE_USERS.items():
        if accounts.find_user(engine, name) is None:
            accounts.add_user(engine, name, role, "", country_code=country, password_hash=_test_hash())
    return {role: name for role, (name, _) in ROLE_USERS.items()}


def login(client: FlaskClient, username: str, password: str = TEST_PASSWORD) -> FlaskClient:
    """Log ``client`` in with the plain ``POST /login`` (fails the test if refused)."""
    answer = client.post("/login", data={"username": username, "password": password},
                         headers={"Accept": "application/json"})
    assert answer.status_code == 200, f"login refused: {answer.status_code} {answer.data[:200]!r}"
    return client


def app_for(engine: Engine, **overrides: object) -> Dash:
    """The dashboard for the warehouse of ``engine`` (settings overrides as keywords)."""
    from dashboard.app import create_app
    from tests.conftest import settings_for

    return create_app(settings_for(engine.url.render_as_string(hide_password=False), **overrides))


def login_client(engine: Engine, role: str = "admin", app: Dash | None = None,
                 **overrides: object) -> FlaskClient:
    """A test client of the dashboard on ``engine`` (or of ``app``), logged in as ``role``."""
    add_role_users(engine)
    app = app or app_for(engine, **overrides)
    return login(app.server.test_client(), ROLE_USERS[role][0])


def role_clients(engine: Engine, **overrides: object) -> dict[str, FlaskClient]:
    """One app on ``engine``; a logged-in client per role, plus ``"anonymous"`` (not logged in)."""
    app = app_for(engine, **overrides)
    clients = {role: login_client(engine, role, app=app) for role in ROLES}
    return {"anonymous": app.server.test_client(), **clients}
