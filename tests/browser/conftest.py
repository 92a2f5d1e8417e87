"""Browser-test helpers: a seeded warehouse, the app for it (logged in), screenshots and console checks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from dash.testing.wait import until
from sqlalchemy import Engine, create_engine

from dashboard.app import create_app
from tests.conftest import GEO_TEMPLATE, _db_url, _fresh_engine, _recreate, settings_for
from tests.dashboard.seed import seed_incidents, seed_reference
from tests.support import ROLE_USERS, TEST_PASSWORD, add_role_users, free_port

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
DEMO_TEMPLATE = "bw_template_demo"


@pytest.fixture
def seeded_rows(engine: Engine) -> list[dict[str, Any]]:
    """Reference geodata and 120 incidents in a fresh warehouse."""
    seed_reference(engine)
    return seed_incidents(engine, 120, seed=11)


@pytest.fixture(scope="session")
def demo_template(admin_url: str, geo_template_url: str,
                  tmp_path_factory: pytest.TempPathFactory) -> str:
    """A template database: the shipped reference geodata plus a small demo (3,000 incidents
    over 60 days), loaded once per session through the real demo loader (about 9 s)."""
    from etl.demo.generate import DemoSpec
    from etl.demo.load import load_demo

    out = tmp_path_factory.mktemp("demo_template")
    _recreate(admin_url, DEMO_TEMPLATE, GEO_TEMPLATE)
    url = _db_url(admin_url, DEMO_TEMPLATE)
    engine = create_engine(url)
    try:
        load_demo(engine, settings_for(url, data_dir=out), DemoSpec(incidents=3000, days=60),
                  out_dir=out / "demo")
    finally:
        engine.dispose()  # a template must have no connection when it is copied
    return DEMO_TEMPLATE


@pytest.fixture
def demo_engine(admin_url: str, demo_template: str) -> Iterator[Engine]:
    """A fresh copy of the demo warehouse (``demo_template``) for one test: what a test writes
    stays in its copy."""
    yield from _fresh_engine(admin_url, demo_template)


@pytest.fixture
def start_app(dash_duo: Any) -> Callable[..., Any]:
    """Serve the dashboard for a test warehouse and log the browser in; returns the browser
    helper. ``start_app(engine, role="forum_viewer", refresh_interval_s=2)``: the role of the
    user (default admin) and settings overrides; ``role=None`` stays logged out."""

    def start(engine: Engine, role: str | None = "admin", **overrides: Any) -> Any:
        url = engine.url.render_as_string(hide_password=False)
        add_role_users(engine)
        app = create_app(settings_for(url, **overrides))
        # a free port, not dash.testing's 8050, 8051...: two pytest workers (make test) or
        # sessions would count from the same number
        dash_duo.start_server(app, navigate=False, port=free_port())
        dash_duo.driver.set_window_size(1400, 900)
        dash_duo._url = dash_duo.server.url  # server_url without opening "/" (the login gate)
        if role is not None:
            login_browser(dash_duo, ROLE_USERS[role][0])
            # then open the app once, as start_server does: the browser loads its scripts (cold
            # cache) and Dash makes its first-request set-up before the test's first page
            dash_duo.server_url = dash_duo.server.url
        return dash_duo

    return start


def login_browser(dash_duo: Any, username: str, password: str = TEST_PASSWORD) -> None:
    """Log the browser in through the login page (the form, as a user does)."""
    driver = dash_duo.driver
    driver.get(f"{dash_duo.server_url}/login?next=/healthz")
    dash_duo.wait_for_element("#bw-login-form", timeout=15)
    driver.find_element("css selector", "#username").send_keys(username)
    driver.find_element("css selector", "#password").send_keys(password)
    driver.find_element("css selector", "#bw-login-submit").click()
    # the path, not the URL's end: the login page's own URL (/login?next=/healthz) ends with
    # /healthz too, so the wait passed before the POST was answered and the test's next page
    # raced the login's redirect (the browser then showed /healthz instead of the app)
    until(lambda: urlsplit(driver.current_url).path == "/healthz", 15,
          msg=lambda: f"the login was refused: {driver.current_url}")


def screenshot(dash_duo: Any, name: str) -> Path:
    """Save the browser window as ``tests/artifacts/<name>.png``."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    dash_duo.driver.save_screenshot(str(path))
    return path


def console_errors(dash_duo: Any) -> list[dict[str, Any]]:
    """Severe browser-console entries since the page was opened."""
    return list(dash_duo.get_logs() or [])
