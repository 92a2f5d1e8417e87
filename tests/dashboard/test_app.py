"""The Flask side of the dashboard: data routes, health, headers, the one error shape."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine

from dashboard.app import create_app, ready_for_workers
from tests.conftest import settings_for
from tests.support import login_client


def _client(engine: Engine, **overrides: object) -> FlaskClient:
    return login_client(engine, "admin", **overrides)


@pytest.fixture
def client(seeded: Engine) -> FlaskClient:
    return _client(seeded, tile_url="https://{s}.tiles.example.org/{z}/{x}/{y}.png")


def test_index_and_health(client: FlaskClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and b"borderwatch" in page.data
    health = client.get("/healthz")
    assert (health.status_code, health.json) == (200, {"status": "ok", "database": "ok"})


def test_security_headers_on_every_response(client: FlaskClient) -> None:
    for path in ("/", "/api/layers/bcps.geojson", "/no/such/route"):
        headers = client.get(path).headers
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "same-origin"
        csp = headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "https://*.tiles.example.org" in csp  # the optional tile host, images only


def test_reference_layers(client: FlaskClient) -> None:
    basemap = client.get("/api/layers/basemap.geojson").json
    kinds = Counter(f["geometry"]["type"].replace("Multi", "") for f in basemap["features"])
    assert kinds == {"Polygon": 3, "Point": 3}
    assert len(client.get("/api/layers/sections.geojson").json["features"]) == 6
    hr_rs = client.get("/api/layers/sections.geojson?pair=HR-RS").json["features"]
    assert {f["properties"]["id"] for f in hr_rs} == {"HR-RS-01", "HR-RS-02"}
    bcps = client.get("/api/layers/bcps.geojson?country=ba").json["features"]
    assert {f["properties"]["code"] for f in bcps} == {"BA-HR-GRADISKA", "BA-RS-RACA"}
    patrol = client.get("/api/layers/patrol.geojson").json["features"]
    assert [f["properties"].get("label") for f in patrol] == [None, "BA–HR · 5 km"]
    response = client.get("/api/layers/sections.geojson")
    assert response.headers["Content-Type"].startswith("application/json")
    assert "max-age" in response.headers["Cache-Control"]


def test_every_error_has_one_safe_shape(seeded: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    from dashboard.queries import reference

    url = seeded.url.render_as_string(hide_password=False)
    server = create_app(settings_for(url)).server

    def boom(*args: object, **kwargs: object) -> list:
        raise RuntimeError("connection to postgresql://user:secret@db failed")

    monkeypatch.setattr(reference, "patrol_areas", boom)
    client = _login(server, seeded)
    bad = client.get("/api/layers/bcps.geojson?pair=HR-RS,x;DROP")
    assert bad.status_code == 400
    assert bad.json == {"error": {"status": 400, "message": "Invalid value for 'pair'."}}
    missing = client.get("/api/nothing-here")
    assert missing.json == {"error": {"status": 404, "message": "Not Found."}}
    failed = client.get("/api/layers/patrol.geojson")
    assert failed.status_code == 500
    assert failed.json == {
        "error": {"status": 500, "message": "Something went wrong on the server (check logs)."}
    }
    assert b"secret" not in failed.data and b"Traceback" not in failed.data


def test_unreachable_database_is_a_safe_503() -> None:
    dead = create_app(settings_for("postgresql+psycopg://u:secret@127.0.0.1:1/nowhere"))
    response = dead.server.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json == {"status": "degraded", "database": "unavailable"}
    layer = dead.server.test_client().get("/api/layers/sections.geojson")
    assert layer.status_code == 401  # nobody is logged in, and nobody can log in:
    login = dead.server.test_client().post("/login", data={"username": "a", "password": "b"},
                                           headers={"Accept": "application/json"})
    assert login.status_code == 503
    assert login.json["error"]["message"] == "The warehouse cannot be reached (check logs)."
    assert b"secret" not in login.data and b"127.0.0.1" not in login.data


def test_two_apps_in_one_process_do_not_share_callbacks(engine: Engine) -> None:
    _client(engine)  # built, never served: its page callbacks must not leak into the next app
    second = _client(engine)
    deps = json.loads(second.get("/_dash-dependencies").data)
    outputs = [d["output"] for d in deps]
    assert len(outputs) == len(set(outputs)) > 10
    layout = second.get("/_dash-layout")
    assert layout.status_code == 200 and b"app-alert" in layout.data


def test_a_fresh_worker_needs_no_first_request_setup(engine: Engine) -> None:
    """gunicorn --threads: the first requests to a worker arrive together. Dash's first-request
    setup marks itself done *before* it registers the script paths and copies the page
    callbacks, so a request in a second thread used to get a 500 for a script (a blank page on
    the first visit) or an app without callbacks. Here the setup is left in exactly that state,
    begun by another thread and not finished: everything must already be there."""
    import re

    page = _client(engine).get("/").get_data(as_text=True)
    urls = re.findall(r'(?:src|href)="(/_dash-component-suites/[^"]+)"', page)
    assert any("react@" in u for u in urls) and any("dash_leaflet" in u for u in urls)
    url = engine.url.render_as_string(hide_password=False)
    fresh = ready_for_workers(create_app(settings_for(url)))  # what gunicorn serves
    fresh._got_first_request["setup_server"] = True  # another thread is inside _setup_server
    client = _login(fresh.server, engine)
    for script in urls:
        got = client.get(script)
        assert got.status_code == 200, script
        assert got.mimetype in ("application/javascript", "text/javascript", "text/css"), script
    outputs = {d["output"] for d in client.get("/_dash-dependencies").get_json()}
    assert any("situation-points.data" in o for o in outputs)
    assert any("situation-feed.children" in o for o in outputs)


@pytest.mark.parametrize("encoding", ["gzip", "br"])
def test_map_data_is_compressed_when_the_browser_asks(client: FlaskClient, encoding: str) -> None:
    import gzip

    import brotli

    plain = client.get("/api/layers/sections.geojson")
    assert plain.headers.get("Content-Encoding") is None
    packed = client.get("/api/layers/sections.geojson", headers={"Accept-Encoding": encoding})
    assert packed.headers["Content-Encoding"] == encoding
    assert "Accept-Encoding" in packed.headers.get("Vary", "")
    body = gzip.decompress(packed.data) if encoding == "gzip" else brotli.decompress(packed.data)
    assert json.loads(body) == plain.get_json()
    assert len(packed.data) < len(plain.data) / 3


def test_the_development_server_still_starts_with_dev_tools(engine: Engine) -> None:
    """``borderwatch serve --debug``: Dash's dev tools add handlers to the app, which Flask
    refuses after a first request, so only the gunicorn path sets the app up in advance."""
    url = engine.url.render_as_string(hide_password=False)
    app = create_app(settings_for(url))
    app.enable_dev_tools(debug=True)
    assert _login(app.server, engine).get("/").status_code == 200


def _login(server: Any, engine: Engine) -> FlaskClient:
    """A client of ``server`` (an app on ``engine``) logged in as the test admin."""
    from tests.support import add_role_users, login

    names = add_role_users(engine)
    return login(server.test_client(), names["admin"])
