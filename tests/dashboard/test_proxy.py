"""Behind a TLS-terminating reverse proxy (``BORDERWATCH_PROXY_HOPS``): the client's address,
https and the host come from the proxy's ``X-Forwarded-*`` headers, and only when configured;
HSTS on what came over https."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import Engine
from werkzeug.test import TestResponse

from etl.warehouse import audit
from tests.support import TEST_PASSWORD, add_role_users, app_for

#: What one proxy in front of the dashboard sends: the client reached https://bw.example.org;
#: the first X-Forwarded-For entry is one the client wrote itself, the last the proxy's.
FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "bw.example.org",
             "X-Forwarded-For": "198.51.100.66, 203.0.113.7"}


def _login(client: FlaskClient, name: str = "t-admin", password: str = TEST_PASSWORD,
           **headers: str) -> TestResponse:
    return client.post("/login", data={"username": name, "password": password},
                       headers={"Accept": "application/json", **headers})


def test_behind_one_proxy_the_forwarded_client_scheme_and_host_count(engine: Engine) -> None:
    add_role_users(engine)
    app = app_for(engine, proxy_hops=1, login_address_failures=3)
    done = _login(app.server.test_client(), **FORWARDED, Origin="https://bw.example.org")
    assert done.status_code == 200  # the page's Origin is the forwarded host: same site
    assert "Secure" in done.headers["Set-Cookie"]  # the client's connection was https
    assert [e["address"] for e in audit.entries(engine, action="login")] == ["203.0.113.7"]
    assert _login(app.server.test_client(), **FORWARDED,
                  Origin="https://evil.example").status_code == 403

    # the per-address login limit counts each client behind the proxy apart
    client = app.server.test_client()
    for i in range(3):
        assert _login(client, f"user-{i}", "x", **FORWARDED).status_code == 401
    limited = _login(client, **FORWARDED)
    assert limited.status_code == 429 and "network address" in limited.get_json()["error"]["message"]
    other = _login(client, **{**FORWARDED, "X-Forwarded-For": "203.0.113.8"})
    assert other.status_code == 200
    failed = audit.entries(engine, action="login_failed")
    assert {e["address"] for e in failed} == {"203.0.113.7"}


def test_without_the_setting_forwarded_headers_are_ignored(engine: Engine) -> None:
    add_role_users(engine)
    app = app_for(engine, login_address_failures=3)  # BORDERWATCH_PROXY_HOPS: default 0
    done = _login(app.server.test_client(), **FORWARDED)
    assert done.status_code == 200 and "Secure" not in done.headers["Set-Cookie"]
    assert [e["address"] for e in audit.entries(engine, action="login")] == ["127.0.0.1"]
    # the forwarded host is not this server's host
    assert _login(app.server.test_client(), **FORWARDED,
                  Origin="https://bw.example.org").status_code == 403

    # a client forging a new X-Forwarded-For for every guess still hits its address's limit
    client = app.server.test_client()
    for i in range(3):
        forged = {**FORWARDED, "X-Forwarded-For": f"203.0.113.{10 + i}"}
        assert _login(client, f"user-{i}", "x", **forged).status_code == 401
    limited = _login(client, **{**FORWARDED, "X-Forwarded-For": "203.0.113.99"})
    assert limited.status_code == 429 and "network address" in limited.get_json()["error"]["message"]
    failed = audit.entries(engine, action="login_failed")
    assert {e["address"] for e in failed} == {"127.0.0.1"}


def _hsts(client: FlaskClient, path: str, **headers: str) -> str | None:
    return client.get(path, headers=headers).headers.get("Strict-Transport-Security")


def test_hsts_only_over_https(engine: Engine) -> None:
    add_role_users(engine)
    behind = app_for(engine, proxy_hops=1).server.test_client()
    # public, refused (401) and logged-in answers alike, when the client's connection was https
    for path in ("/healthz", "/login", "/api/layers/bcps.geojson"):
        assert _hsts(behind, path, **FORWARDED) == "max-age=31536000", path
    assert _login(behind, **FORWARDED).status_code == 200
    page = behind.get("/", headers=FORWARDED)
    assert page.status_code == 200 and page.headers["Strict-Transport-Security"] == "max-age=31536000"
    # plain http through the same proxy, or no forwarded scheme at all: never
    assert _hsts(behind, "/healthz", **{**FORWARDED, "X-Forwarded-Proto": "http"}) is None
    assert _hsts(behind, "/healthz") is None
    # without the proxy setting a client's X-Forwarded-Proto is not believed (make run, plain http)
    direct = app_for(engine).server.test_client()
    assert _hsts(direct, "/healthz", **FORWARDED) is None and _hsts(direct, "/healthz") is None
    # TLS at the server itself: the request is https without any proxy
    tls = app_for(engine, hsts_max_age_s=600).server.test_client()
    assert tls.get("/healthz", base_url="https://localhost").headers["Strict-Transport-Security"] == \
        "max-age=600"
    off = app_for(engine, proxy_hops=1, hsts_max_age_s=0).server.test_client()
    assert _hsts(off, "/healthz", **FORWARDED) is None
    assert off.get("/healthz", base_url="https://localhost").headers.get("Strict-Transport-Security") is None
