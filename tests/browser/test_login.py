"""Logging in and out in a real headless Chromium (issue 10): the map only behind the login."""

from __future__ import annotations

from typing import Any

import pytest
from dash.testing.wait import until
from sqlalchemy import Engine

from tests.browser.conftest import console_errors, screenshot
from tests.support import ROLE_USERS, TEST_PASSWORD

pytestmark = pytest.mark.browser


def _fill(duo: Any, user: str, password: str) -> None:
    driver = duo.driver
    duo.wait_for_element("#bw-login-form", timeout=15)
    driver.find_element("css selector", "#username").clear()
    driver.find_element("css selector", "#username").send_keys(user)
    driver.find_element("css selector", "#password").send_keys(password)
    driver.find_element("css selector", "#bw-login-submit").click()


def test_log_in_see_the_map_log_out_the_map_is_gone(start_app: Any, seeded_rows: list, engine: Engine
                                                   ) -> None:
    duo = start_app(engine, role=None)
    driver = duo.driver
    driver.get(f"{duo.server_url}/?lat=44.80000&lon=17.60000&z=7")
    until(lambda: "/login?next=" in driver.current_url, 10, msg=lambda: driver.current_url)
    assert not duo.find_elements(".bw-map")
    screenshot(duo, "login-page")

    _fill(duo, ROLE_USERS["admin"][0], "not the password")
    duo.wait_for_contains_text(".bw-login-error", "Wrong user name or password", timeout=10)
    screenshot(duo, "login-refused")

    _fill(duo, ROLE_USERS["admin"][0], TEST_PASSWORD)
    duo.wait_for_element(".bw-map.leaflet-container", timeout=20)
    until(lambda: "lat=44.8" in driver.current_url, 10, msg=lambda: driver.current_url)  # back where asked
    until(lambda: duo.find_element("#situation-total").text == f"{len(seeded_rows):,}", 15)
    assert duo.find_element("#app-user").text == ROLE_USERS["admin"][0]
    screenshot(duo, "login-map")

    duo.find_element("#app-logout").click()
    until(lambda: driver.current_url.rstrip("/").endswith("/login"), 10, msg=lambda: driver.current_url)
    assert not duo.find_elements(".bw-map")
    screenshot(duo, "logout")
    driver.back()  # the browser's history cannot bring it back
    driver.get(f"{duo.server_url}/")
    until(lambda: "/login" in driver.current_url, 10, msg=lambda: driver.current_url)
    assert not duo.find_elements(".bw-map") and not duo.find_elements("#situation-feed")
    refused = "/login - Failed to load resource: the server responded with a status of 401"
    assert [e for e in console_errors(duo) if refused not in e["message"]] == []  # but the wrong password


def test_forum_viewer_sees_counts_only(start_app: Any, seeded_rows: list, engine: Engine) -> None:
    duo = start_app(engine, role="forum_viewer")
    duo.wait_for_page(f"{duo.server_url}/?lat=44.80000&lon=17.60000&z=8&layers=sections,incidents,hotspots")
    until(lambda: duo.find_element("#situation-total").text == f"{len(seeded_rows):,}", 15)
    until(lambda: len(duo.find_elements(".bw-map .bw-cluster")) > 0, 15)
    assert duo.find_elements(".bw-map path.bw-incident") == []  # no single incident on the map
    assert "counts only" in duo.find_element("#situation-feed").text
    shown = duo.driver.execute_script(
        "let n = 0; document.querySelectorAll('.bw-map .bw-cluster [data-count]').forEach("
        "e => { n += parseInt(e.getAttribute('data-count'), 10); }); return n;")
    assert 0 < shown <= len(seeded_rows)
    assert "forum viewer" in duo.find_element(".bw-user").text
    assert "Audit log" not in duo.find_element(".bw-nav").text
    screenshot(duo, "situation-forum-viewer")
    assert console_errors(duo) == []


def test_the_admin_page_lists_the_logins(start_app: Any, engine: Engine) -> None:
    duo = start_app(engine, role="forum_viewer")  # a login to see, then the admin's own
    duo.find_element("#app-logout").click()
    until(lambda: "/login" in duo.driver.current_url, 10)
    _fill(duo, ROLE_USERS["admin"][0], TEST_PASSWORD)
    until(lambda: "/login" not in duo.driver.current_url, 10, msg=lambda: duo.driver.current_url)
    duo.wait_for_page(f"{duo.server_url}/admin")
    duo.wait_for_contains_text("#admin-log", ROLE_USERS["forum_viewer"][0], timeout=15)
    log = duo.find_element("#admin-log").text
    assert "logout" in log and "login" in log and "127.0.0.1" in log
    assert ROLE_USERS["forum_viewer"][0] in duo.find_element(".bw-admin .bw-table:last-of-type").text
    screenshot(duo, "admin-audit-log")
    assert console_errors(duo) == []
