"""``borderwatch serve`` runs the dashboard under gunicorn on the configured address."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

from sqlalchemy import Engine

from etl.settings import PROJECT_ROOT
from tests.support import (
    ROLE_USERS,
    TEST_PASSWORD,
    TEST_SECRET,
    add_role_users,
    clean_env,
    free_port,
    wait_for_http,
)


def test_serve_answers_on_the_configured_port(engine: Engine) -> None:
    port = free_port()
    env = clean_env(
        BORDERWATCH_DATABASE_URL=engine.url.render_as_string(hide_password=False),
        BORDERWATCH_PORT=str(port),
        BORDERWATCH_SECRET_KEY=TEST_SECRET,
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "dashboard.cli", "serve", "--workers", "1"],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        body = wait_for_http(f"http://127.0.0.1:{port}/healthz", proc)
        assert json.loads(body) == {"database": "ok", "status": "ok"}
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as page:
            assert page.status == 200  # the login page, after a redirect
            assert page.url.endswith("/login?next=/") and "Log in" in page.read().decode()
        _hostile_requests_get_json_refusals(port, engine)
        _forwarded_scheme_is_not_trusted(port)
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert "Traceback" not in out


def _raw(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes, return status, headers and body (gunicorn closes the connection)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(request)
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), headers, body


def _hostile_requests_get_json_refusals(port: int, engine: Engine) -> None:
    """Links too long for gunicorn (over 8190 bytes) or for the app (over 4096) answer 414 in the
    one error shape, not gunicorn's HTML page, even before a login; a zoom of 1e308 from a
    logged-in user is a 400 at once, and the worker keeps serving."""
    for length in (10_000, 6_000):
        status, headers, body = _raw(port, f"GET /?cat={'x' * length} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        assert status == 414, (length, body[:200])
        assert headers["Content-Type"].startswith("application/json")
        assert json.loads(body) == {"error": {"status": 414, "message": "URI Too Long."}}
    zoom = {"output": "..situation-points.data...situation-clusters.data...situation-badges.data"
                      "...situation-in-view.children..",
            "outputs": [{"id": "situation-points", "property": "data"},
                        {"id": "situation-clusters", "property": "data"},
                        {"id": "situation-badges", "property": "data"},
                        {"id": "situation-in-view", "property": "children"}],
            "inputs": [{"id": "situation-filters", "property": "data", "value": {}},
                       {"id": "situation-map", "property": "bounds", "value": [[44, 17], [46, 20]]},
                       {"id": "situation-map", "property": "zoom", "value": 1e308},
                       {"id": "situation-layers", "property": "overlays", "value": ["Incidents"]},
                       {"id": "situation-refresh", "property": "data", "value": None}],
            "changedPropIds": ["situation-map.zoom"]}
    add_role_users(engine)
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    browser.open(f"http://127.0.0.1:{port}/login",
                 data=urllib.parse.urlencode({"username": ROLE_USERS["admin"][0],
                                              "password": TEST_PASSWORD}).encode(), timeout=10)
    start = time.monotonic()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/_dash-update-component",
                                     data=json.dumps(zoom).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        browser.open(request, timeout=10)
        raise AssertionError("a zoom of 1e308 was accepted")
    except urllib.error.HTTPError as refused:
        assert refused.code == 400
        assert json.loads(refused.read())["error"]["message"] == "Invalid value for 'situation-map.zoom'."
    assert time.monotonic() - start < 2
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as health:
        assert health.status == 200


def _forwarded_scheme_is_not_trusted(port: int) -> None:
    """Without BORDERWATCH_PROXY_HOPS, gunicorn does not take X-Forwarded-Proto for the scheme
    either (its default trusts it from 127.0.0.1): the session cookie of a plain-HTTP login
    is not Secure (the browser would not send it back)."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/login",
        data=urllib.parse.urlencode({"username": ROLE_USERS["admin"][0],
                                     "password": TEST_PASSWORD}).encode(),
        headers={"Accept": "application/json", "X-Forwarded-Proto": "https",
                 "X-Forwarded-Ssl": "on"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        cookie = answer.headers["Set-Cookie"]
    assert cookie.startswith("bw_session=") and "Secure" not in cookie


def test_serve_on_a_server_database_needs_a_session_key(engine: Engine) -> None:
    env = clean_env(BORDERWATCH_DATABASE_URL=engine.url.render_as_string(hide_password=False),
                    BORDERWATCH_PORT=str(free_port()))
    done = subprocess.run([sys.executable, "-m", "dashboard.cli", "serve", "--workers", "1"],
                          cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "BORDERWATCH_SECRET_KEY must be set" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    short = subprocess.run([sys.executable, "-m", "dashboard.cli", "serve", "--workers", "1"],
                           cwd=PROJECT_ROOT, env={**env, "BORDERWATCH_SECRET_KEY": "short"},
                           capture_output=True, text=True, timeout=60)
    assert short.returncode == 2 and "too short" in short.stderr
