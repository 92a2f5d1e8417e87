"""SQL-injection and script payloads in the login form and in every filter (issue 10): each
answer is clean (2xx or 4xx in the error shape, nothing echoed as markup) and the warehouse is
exactly as it was."""

from __future__ import annotations

import json
from typing import Any

import pytest
from markupsafe import escape
from sqlalchemy import Engine

from tests.dashboard.dash_calls import call, page_values, response_json, server_callbacks
from tests.support import ROLE_USERS, add_role_users, app_for, login, query_rows

PAYLOADS = [
    "' OR '1'='1",
    "admin'--",
    "x'; DROP TABLE incident; --",
    "1; DELETE FROM app_user",
    "RS') UNION SELECT password_hash, 1 FROM app_user --",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "${jndi:ldap://x/}",
    "%' AND pg_sleep(5) IS NULL --",
]
TABLES = ("incident", "app_user", "border_section", "bcp", "api_token", "incident_rollup")


def _fingerprint(engine: Engine) -> dict[str, Any]:
    """Every row of the tables a payload could touch, hashed (and the user table's hashes)."""
    digest = "md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))"
    out = {t: query_rows(engine, f"SELECT count(*), {digest} FROM {t} t")[0] for t in TABLES}
    out["hashes"] = query_rows(engine, "SELECT username, password_hash, disabled FROM app_user ORDER BY 1")
    return out


def _clean(answer: Any, what: str, sent: str = "") -> None:
    """No 5xx, no payload echoed as markup, and nothing of the server's insides; the payload
    itself, echoed back escaped (the login form keeps the name typed), does not count."""
    assert answer.status_code < 500, f"{what}: {answer.status_code} {answer.data[:200]!r}"
    text = answer.get_data(as_text=True)
    assert "<script>alert(1)</script>" not in text and "<img src=x" not in text, what
    for echoed in (str(escape(sent)), sent, json.dumps(sent)[1:-1]):
        if echoed:
            text = text.replace(echoed, "")
    for leak in ("Traceback", "psycopg", "SELECT ", "password_hash", "$argon2"):
        assert leak not in text, f"{what}: {leak}"


@pytest.fixture
def app(seeded: Engine):  # type: ignore[no-untyped-def]
    add_role_users(seeded)
    return app_for(seeded)


def test_login_fields(app, seeded: Engine) -> None:  # type: ignore[no-untyped-def]
    before = _fingerprint(seeded)
    for payload in PAYLOADS:
        for field in ("username", "password"):
            data = {"username": "t-admin", "password": "x", field: payload, "next": payload}
            answer = app.server.test_client().post("/login", data=data)
            _clean(answer, f"login {field}={payload!r}", payload)
            assert answer.status_code == 401, payload  # never logged in
    assert _fingerprint(seeded) == before


def test_filters_of_every_callback_and_data_url(app, seeded: Engine) -> None:  # type: ignore[no-untyped-def]
    client = login(app.server.test_client(), ROLE_USERS["national_officer"][0])
    deps = server_callbacks(client)
    _layout, values = page_values(client, deps, "/")
    before = _fingerprint(seeded)
    filters = [k for k in values if k.endswith(".value") and isinstance(values[k], list | str | type(None))]
    assert {"situation-cat.value", "situation-country.value", "situation-pair.value"} <= set(filters)
    for payload in PAYLOADS:
        for key in filters:  # a payload in a dropdown the browser would never offer
            for dep in deps:
                if any(f"{i['id']}.{i['property']}" == key for i in dep["inputs"]):
                    _clean(call(client, dep, {**values, key: [payload]}), f"{dep['output']} {key}", payload)
        for dep in deps:  # and inside the filters store the callbacks read
            store = {k: v for k, v in values.items() if k.endswith("filters.data")}
            for key, value in store.items():
                bad = {**value, "cat": [payload], "country": [payload], "pair": [payload], "sub": [payload]}
                _clean(call(client, dep, {**values, key: bad}), f"{dep['output']} {key}", payload)
        for url in ("/api/layers/sections.geojson", "/api/layers/bcps.geojson", "/api/incidents.geojson"):
            for arg in ("pair", "country", "cat", "from", "bbox"):
                answer = client.get(url, query_string={arg: payload})
                _clean(answer, f"{url}?{arg}", payload)
                assert answer.status_code in (200, 400), (url, arg, answer.status_code)
                if answer.status_code == 400:
                    assert set(response_json(answer)) == {"error"}
    assert _fingerprint(seeded) == before
