"""The login gate, sessions and the login page (issue 10, login required everywhere).

Generic over the app: every URL rule of the server and every Dash callback is tried without a
login, so the pages and data URLs added later are covered too.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine

from dashboard.app import create_app
from etl.errors import ConfigurationError
from etl.settings import Settings
from etl.warehouse import accounts, audit
from tests.conftest import settings_for
from tests.dashboard.dash_calls import call, data_urls, page_paths, server_callbacks
from tests.support import ROLE_USERS, TEST_PASSWORD, add_role_users, app_for, login, login_client

JSON = {"Accept": "application/json"}


@pytest.fixture
def app(seeded: Engine):  # type: ignore[no-untyped-def]
    add_role_users(seeded)
    return app_for(seeded)


def _assert_401(answer, what: str) -> None:  # type: ignore[no-untyped-def]
    assert answer.status_code == 401, f"{what}: {answer.status_code}"
    assert answer.get_json() == {"error": {"status": 401, "message": "Please log in."}}, what


def test_anonymous_gets_nothing_but_the_login(app, seeded: Engine) -> None:  # type: ignore[no-untyped-def]
    anonymous = app.server.test_client()
    admin = login(app.server.test_client(), ROLE_USERS["admin"][0])
    deps = server_callbacks(admin)
    assert len(deps) > 10
    for dep in deps:  # every callback, directly, with the values an admin's page would send
        _assert_401(call(anonymous, dep, {}), dep["output"])
    urls = list(data_urls(app.server))
    assert "/api/layers/sections.geojson" in urls and "/_dash-layout" in urls
    for url in urls:
        _assert_401(anonymous.get(url), url)
    _assert_401(anonymous.post("/_dash-update-component", data="{}"), "a malformed callback")
    for path in [*page_paths(), "/no/such/page", "/?lat=44&z=7"]:
        answer = anonymous.get(path)
        assert answer.status_code == 302, path
        assert answer.headers["Location"].startswith("/login?next=/"), answer.headers["Location"]
    # public: the login page, health, static files
    assert anonymous.get("/login").status_code == 200
    assert anonymous.get("/healthz").status_code == 200
    assert anonymous.get("/assets/borderwatch.css").status_code == 200
    # the icon, which browsers ask for on any page (the login page links it; a JSON data URL
    # opened in a tab does not, so /favicon.ico leads to it rather than being an unknown page)
    icon = re.search(r'rel="icon"[^>]* href="([^"]+)"', anonymous.get("/login").get_data(as_text=True))
    assert icon and anonymous.get(icon.group(1)).status_code == 200
    legacy = anonymous.get("/favicon.ico")
    assert legacy.status_code == 301 and anonymous.get(legacy.headers["Location"]).status_code == 200
    page = admin.get("/").get_data(as_text=True)
    script = re.search(r'src="(/_dash-component-suites/[^"]+)"', page)
    assert script and anonymous.get(script.group(1)).status_code == 200


def test_login_logout_and_the_session_cookie(app, seeded: Engine) -> None:  # type: ignore[no-untyped-def]
    client = app.server.test_client()
    page = client.get("/login?next=/%3Flat%3D44")
    assert page.status_code == 200 and b'name="username"' in page.data and b'name="password"' in page.data
    done = client.post("/login", data={"username": "T-Admin ", "password": TEST_PASSWORD,
                                       "next": "/?lat=44"})
    assert done.status_code == 303 and done.headers["Location"] == "/?lat=44"
    cookie = done.headers["Set-Cookie"]
    assert cookie.startswith("bw_session=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain HTTP here; see the HTTPS test below
    assert client.get("/").status_code == 200
    assert client.get("/api/layers/sections.geojson").status_code == 200
    assert b't-admin' in client.get("/_dash-layout").data  # the header names the user
    gone = client.post("/logout")
    assert gone.status_code == 303 and gone.headers["Location"] == "/login"
    assert client.get("/").status_code == 302
    _assert_401(client.get("/api/layers/sections.geojson"), "after logout")
    actions = [(e["actor"], e["action"]) for e in audit.entries(seeded, actor="t-admin")]
    assert actions[:2] == [("t-admin", "logout"), ("t-admin", "login")]


def test_session_cookie_is_secure_over_https(app) -> None:  # type: ignore[no-untyped-def]
    client = app.server.test_client()
    done = client.post("/login", data={"username": "t-admin", "password": TEST_PASSWORD},
                       base_url="https://bw.example.org")
    assert done.status_code == 303 and "Secure" in done.headers["Set-Cookie"]


def test_wrong_password_and_unknown_user_look_the_same(app, seeded: Engine) -> None:  # type: ignore[no-untyped-def]
    client = app.server.test_client()
    for name in ("t-admin", "nobody-here"):
        page = client.post("/login", data={"username": name, "password": "wrong password!"})
        assert page.status_code == 401
        assert b"Wrong user name or password." in page.data
        as_json = client.post("/login", data={"username": name, "password": "nope"}, headers=JSON)
        assert as_json.get_json() == {"error": {"status": 401, "message": "Wrong user name or password."}}
    assert client.get("/").status_code == 302
    failed = audit.entries(seeded, action="login_failed")
    assert {e["actor"] for e in failed} == {"t-admin", "nobody-here"}
    assert all(e["address"] == "127.0.0.1" for e in failed)


def test_next_never_leaves_the_site(app) -> None:  # type: ignore[no-untyped-def]
    for bad in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"):
        client = app.server.test_client()
        done = client.post("/login", data={"username": "t-admin", "password": TEST_PASSWORD, "next": bad})
        assert done.headers["Location"] == "/", bad


def test_a_post_from_another_site_is_refused(app) -> None:  # type: ignore[no-untyped-def]
    client = app.server.test_client()
    evil = {"Origin": "https://evil.example"}
    refused = client.post("/login", data={"username": "t-admin", "password": TEST_PASSWORD}, headers=evil)
    assert refused.status_code == 403
    ok = client.post("/login", data={"username": "t-admin", "password": TEST_PASSWORD},
                     headers={"Origin": "http://localhost"})
    assert ok.status_code == 303
    assert client.post("/_dash-update-component", json={}, headers=evil).status_code == 403


def test_ten_failed_logins_lock_the_account_for_a_while(app, seeded: Engine) -> None:  # type: ignore[no-untyped-def]
    client = app.server.test_client()
    for i in range(10):
        answer = client.post("/login", data={"username": "t-analyst", "password": f"guess {i}"}, headers=JSON)
        assert answer.status_code == 401, i
    locked = client.post("/login", data={"username": "t-analyst", "password": TEST_PASSWORD}, headers=JSON)
    assert locked.status_code == 429  # even the right password, while locked
    assert "locked" in locked.get_json()["error"]["message"]
    assert 14 * 60 < int(locked.headers["Retry-After"]) <= 15 * 60
    other = login(app.server.test_client(), "t-admin")  # other accounts are not affected
    assert other.get("/").status_code == 200
    with seeded.begin() as conn:  # the lock runs out
        conn.exec_driver_sql("UPDATE login_throttle SET locked_until = now() - interval '1 second' "
                             "WHERE key = 'user:t-analyst'")
    assert login(app.server.test_client(), "t-analyst")
    last = audit.entries(seeded, action="login_failed", limit=1)
    assert [e["detail"].get("locked") for e in last] == [True]


def test_failed_logins_from_one_address_are_limited(seeded: Engine) -> None:
    add_role_users(seeded)
    app = app_for(seeded, login_address_failures=5)
    client = app.server.test_client()
    for i in range(5):  # spread over accounts: no account lock, the address counts them all
        client.post("/login", data={"username": f"user-{i}", "password": "x"}, headers=JSON)
    limited = client.post("/login", data={"username": "t-admin", "password": TEST_PASSWORD}, headers=JSON)
    assert limited.status_code == 429 and "network address" in limited.get_json()["error"]["message"]


def test_a_session_ends_with_its_lifetime_a_new_password_or_a_disable(app, seeded: Engine) -> None:  # type: ignore[no-untyped-def]
    client = login(app.server.test_client(), "t-forum")
    assert client.get("/").status_code == 200
    with client.session_transaction() as session:
        session["bw_login_at"] = int(time.time()) - 481 * 60  # default lifetime: 480 min
    assert client.get("/").status_code == 302

    client = login(app.server.test_client(), "t-forum")
    accounts.set_password(seeded, "t-forum", "a brand new password")
    _assert_401(client.get("/api/layers/bcps.geojson"), "after a password change")
    client = login(app.server.test_client(), "t-forum", "a brand new password")
    accounts.set_disabled(seeded, "t-forum")
    _assert_401(client.get("/api/layers/bcps.geojson"), "after disable")
    refused = app.server.test_client().post(
        "/login", data={"username": "t-forum", "password": "a brand new password"}, headers=JSON)
    assert refused.status_code == 403 and "disabled" in refused.get_json()["error"]["message"]


def test_logged_in_pages_and_data(seeded: Engine) -> None:
    client = login_client(seeded, "regional_analyst")
    assert client.get("/").status_code == 200
    sections = client.get("/api/layers/sections.geojson")
    assert sections.status_code == 200 and len(sections.get_json()["features"]) == 6
    layout = client.get("/_dash-layout").get_json()
    assert "Log out" in str(layout) and "regional analyst" in str(layout)


def test_secret_key_kept_in_the_data_folder_or_required(tmp_path: Path, seeded: Engine) -> None:
    from dashboard.auth.secret import secret_key

    embedded = Settings(database_url=None, data_dir=tmp_path)
    first = secret_key(embedded)
    assert len(first) >= 32 and secret_key(embedded) == first
    key_file = tmp_path / "secret_key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    with pytest.raises(ConfigurationError, match="BORDERWATCH_SECRET_KEY must be set"):
        secret_key(Settings(database_url="postgresql+psycopg://u:p@db/x", data_dir=tmp_path))
    with pytest.raises(ConfigurationError, match="too short"):
        create_app(settings_for(seeded.url.render_as_string(hide_password=False), secret_key="short"))


def test_login_page_escapes_what_it_echoes(app) -> None:  # type: ignore[no-untyped-def]
    client: FlaskClient = app.server.test_client()
    payload = '"><script>alert(1)</script>'
    page = client.post("/login", data={"username": payload, "password": "x", "next": "/" + payload})
    assert page.status_code == 401
    assert b"<script>alert(1)</script>" not in page.data
    assert b"&lt;script&gt;" in page.data


def test_api_tokens_work_on_data_urls_only_and_set_no_cookie(app, seeded: Engine) -> None:  # type: ignore[no-untyped-def]
    token_id, token = accounts.create_token(seeded, "t-officer", "script")
    client = app.server.test_client()
    bearer = {"Authorization": f"Bearer {token}"}
    answer = client.get("/api/layers/sections.geojson", headers=bearer)
    assert answer.status_code == 200 and len(answer.get_json()["features"]) == 6
    assert "Set-Cookie" not in answer.headers
    _assert_401(client.get("/api/layers/sections.geojson"), "the token is not remembered")
    _assert_401(client.get("/_dash-layout", headers=bearer), "tokens are for data URLs")
    assert client.get("/", headers=bearer).status_code == 302
    _assert_401(client.get("/api/layers/sections.geojson", headers={"Authorization": f"Bearer {token}x"}),
                "a wrong token")
    _assert_401(client.get("/api/layers/sections.geojson", headers={"Authorization": "Basic abc"}), "basic")
    accounts.revoke_token(seeded, token_id)
    _assert_401(client.get("/api/layers/sections.geojson", headers=bearer), "a revoked token")


def test_a_role_change_reaches_open_sessions_and_tokens_at_their_next_request(seeded: Engine) -> None:
    """``borderwatch users set-country`` / ``set-role`` while the officer is logged in: the same
    session (and their API token) is scoped to the new country, then to the new role, at once."""
    from tests.dashboard.test_scope import CASES, OFFICER_SEES, _add
    from tests.etl.test_cli_users import _run

    add_role_users(seeded)
    _add(seeded, CASES)
    client = login(app_for(seeded).server.test_client(), "t-officer")
    _id, token = accounts.create_token(seeded, "t-officer", "QGIS")
    bearer = {"Authorization": f"Bearer {token}"}

    def marked(answer) -> set[str]:  # type: ignore[no-untyped-def]
        assert answer.status_code == 200, answer.status_code
        return {f["properties"]["incident_id"] for f in answer.get_json()["features"]
                if f["properties"]["incident_id"].startswith("S")}

    assert marked(client.get("/api/incidents.geojson")) == OFFICER_SEES  # RS, neighbours BA and HR
    assert _run(seeded, "users", "set-country", "t-officer", "BA").exit_code == 0
    # BA's own, the regional ones, and those HR (a neighbour of BA) shares bilaterally; no longer RS's
    ba_sees = {"S03-HR-bilateral", "S04-BA-bilateral", "S06-AL-regional", "S10-None-regional"}
    assert marked(client.get("/api/incidents.geojson")) == ba_sees
    assert marked(client.get("/api/incidents.geojson", headers=bearer)) == ba_sees
    assert "incidents of BA" in str(client.get("/_dash-layout").get_json())

    assert _run(seeded, "users", "set-role", "t-officer", "forum_viewer").exit_code == 0
    for headers in ({}, bearer):  # a forum viewer has no incident export
        assert client.get("/api/incidents.geojson", headers=headers).status_code == 403
    assert client.get("/api/layers/sections.geojson").status_code == 200  # still logged in
    assert "aggregates only" in str(client.get("/_dash-layout").get_json())
