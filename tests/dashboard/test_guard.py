"""Hostile requests: every callback and every data URL, with arbitrary values.

Callbacks are read from the app's callback map and routes from its URL map, so what other pages
add later is fuzzed the same way. Every answer must be 2xx or 4xx (4xx in the one error shape,
logged as one line without traceback), come within the statement time limit, and leave no
server error in the log. Requests come from logged-in users (each example as one of the four
roles, drawn like its values: the restricted roles' queries are other code paths); what a
caller who is not logged in gets is ``test_auth.py``'s business.
"""

from __future__ import annotations

import json
import logging
import typing
import weakref
from collections.abc import Iterator
from typing import Any

import pytest
from dash import Dash
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from dashboard import recompute
from dashboard.app import create_app, ready_for_workers
from dashboard.components.hotspots import MODES
from dashboard.errors import GENERIC_MESSAGE
from dashboard.guard import CallbackCheck, callback_checks, declared_types
from dashboard.inputs import FlowChoice, HotspotMode, NearScope, WaitChoice
from dashboard.viewstate import FLOW_CHOICES, NEAR_SCOPES, WAIT_CHOICES
from tests.conftest import settings_for
from tests.dashboard.hostile import ROUTER, Answer, callback_request, json_values, send, valid_values
from tests.support import ROLES, login_client

LIMIT_MS = 3000
DISPATCH = "/_dash-update-component"
FUZZ = settings(max_examples=25, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.filter_too_much, HealthCheck.data_too_large])


#: For each app of the ``app`` fixture: its warehouse, and a logged-in test client per role,
#: logged in when a test first asks for that role (a login is an argon2 check, about 0.3 s, and
#: most tests here send as the admin only).
_CLIENTS: weakref.WeakKeyDictionary[Dash, tuple[Engine, dict[str, FlaskClient]]] = (
    weakref.WeakKeyDictionary())


@pytest.fixture
def app(seeded: Engine) -> Iterator[Dash]:
    url = seeded.url.render_as_string(hide_password=False)
    served = ready_for_workers(create_app(settings_for(url, statement_timeout_ms=LIMIT_MS)))
    _CLIENTS[served] = (seeded, {})
    yield served
    # the fuzz presses the map's Recompute button, which starts `borderwatch analyse hotspots`
    # in its own process: it must end before the warehouse is dropped, not outlive the test
    child = recompute.state(served.server).child
    if child is not None:
        assert child.wait(timeout=120) is not None


def _client(app: Dash, role: str = "admin") -> FlaskClient:
    """A test client of ``app`` logged in as ``role`` (the same one for the whole test)."""
    engine, clients = _CLIENTS[app]
    if role not in clients:
        clients[role] = login_client(engine, role, app=app)
    return clients[role]


def _server_callbacks(app: Dash) -> dict[str, CallbackCheck]:
    return {k: c for k, c in callback_checks(app).items() if c.on_server}


def _post(app: Dash, body: Any, raw: bytes | None = None, limit: float = LIMIT_MS / 1000,
          role: str = "admin", **kwargs: Any) -> Answer:
    data = raw if raw is not None else json.dumps(body)
    kwargs.setdefault("content_type", "application/json")
    return send(_client(app, role), limit + 2, "POST", DISPATCH, data=data, **kwargs)


def _assert_sound(answer: Answer, what: str, limit: float = LIMIT_MS / 1000) -> None:
    """2xx or 4xx within the time limit; 4xx in the error shape with one log line and no
    traceback; no server error logged and no 'something went wrong' alert."""
    assert answer.status < 500, f"{what}: {answer.status} {answer.body[:300]!r}"
    assert answer.seconds < limit, f"{what}: {answer.seconds:.1f} s"
    errors = [r for r in answer.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not errors, f"{what}: {[r.getMessage()[:300] for r in errors]}"
    if answer.status >= 400:
        assert answer.json["error"]["status"] == answer.status and answer.json["error"]["message"]
        refusals = [r for r in answer.records if r.name == "dashboard.errors"]
        assert len(refusals) == 1, f"{what}: {[r.getMessage() for r in answer.records]}"
    assert GENERIC_MESSAGE.encode() not in answer.body, f"{what}: {answer.body[:300]!r}"


def test_every_callback_input_declares_its_type(app: Dash) -> None:
    """A callback without types for its inputs would be checked only for size and depth."""
    untyped = []
    for entry in app.callback_map.values():
        if "callback" not in entry:
            continue
        for dep, declared in zip([*entry["inputs"], *entry["state"]], declared_types(entry), strict=True):
            if declared is None:
                untyped.append(f"{entry['callback'].__name__}: {dep['id']}.{dep['property']}")
    assert untyped == [], "declare these inputs' types (dashboard/inputs.py): " + ", ".join(untyped)


def test_the_hotspot_mode_type_is_the_layer_modes() -> None:
    assert typing.get_args(HotspotMode) == MODES


def test_the_crossing_choice_types_are_the_page_choices() -> None:
    assert typing.get_args(FlowChoice) == FLOW_CHOICES
    assert typing.get_args(WaitChoice) == WAIT_CHOICES
    assert typing.get_args(NearScope) == NEAR_SCOPES


def _values(check: CallbackCheck, declared: list[Any]) -> st.SearchStrategy[list[Any]]:
    deps = [*check.inputs, *check.state]
    per_input = []
    for dep, kind in zip(deps, declared, strict=True):
        router = ROUTER.get((str(dep.id), dep.prop))
        good = router if router is not None else valid_values(kind) if kind is not None else json_values
        per_input.append(st.one_of(good, good, json_values))  # mostly well-typed, some anything
    return st.tuples(*per_input).map(list)


def test_every_callback_with_arbitrary_values(app: Dash) -> None:
    """Each server callback, called directly the way the browser calls it, with values of its
    declared types and with anything JSON can carry: never a 5xx, a hang or a logged failure."""
    checks = _server_callbacks(app)
    assert len(checks) >= 14
    for output, check in checks.items():
        _fuzz_callback(app, output, check)


#: Callbacks that build a document (the forum briefing PDF: seconds of work by design, one at a
#: time per process): a longer limit and fewer examples. Matched in the output key.
DOCUMENTS = {"download.data": 90.0}


def _fuzz_callback(app: Dash, output: str, check: CallbackCheck) -> None:
    declared = declared_types(app.callback_map[output])
    fired = st.lists(st.integers(0, len(check.inputs) - 1), min_size=1, max_size=2, unique=True)
    limit = next((s for key, s in DOCUMENTS.items() if key in output), LIMIT_MS / 1000)
    runs = FUZZ if limit == LIMIT_MS / 1000 else settings(FUZZ, max_examples=4)

    @runs
    @given(values=_values(check, declared), fired=fired, role=st.sampled_from(ROLES))
    def call(values: list[Any], fired: list[int], role: str) -> None:
        body = callback_request(output, check, values, fired)
        _assert_sound(_post(app, body, limit=limit, role=role),
                      f"{output} as {role} {json.dumps(body)[:400]}", limit)

    call()


@FUZZ
@given(body=json_values)
def test_arbitrary_json_bodies_are_refused_cleanly(app: Dash, body: Any) -> None:
    answer = _post(app, body)
    _assert_sound(answer, json.dumps(body)[:200])
    assert answer.status == 400


@pytest.mark.parametrize("raw", [
    b"[1,2,3]", b"null", b"{}", b"not json", b'{"output": 1}', b"[" * 100_000 + b"]" * 100_000,
    b'{"output": "nope.children", "inputs": [], "changedPropIds": []}',
    b'{"output": "app-alert.hidden", "inputs": []}',
    json.dumps({"output": "situation-refresh-timer.disabled", "inputs": "x"}).encode(),
    json.dumps({"output": "x", "a": [1]}).replace("[1]", "[" * 40 + "1" + "]" * 40).encode(),
])
def test_malformed_callback_bodies_are_4xx_in_the_error_shape(app: Dash, raw: bytes) -> None:
    answer = _post(app, None, raw=raw)
    _assert_sound(answer, raw[:80].decode())
    assert answer.status == 400


def test_a_callback_of_the_browser_only_and_a_wrong_content_type(app: Dash) -> None:
    clientside = next(k for k, c in callback_checks(app).items() if not c.on_server)
    answer = _post(app, {"output": clientside, "outputs": {}, "inputs": [], "changedPropIds": []})
    _assert_sound(answer, clientside)
    assert answer.status == 400
    plain = _post(app, None, raw=b"{}", content_type="text/plain")
    _assert_sound(plain, "text/plain")
    assert plain.status == 415


def _incidents_request(app: Dash, zoom: Any, bounds: Any = ((44.0, 17.0), (46.0, 20.0))) -> dict:
    output = next(k for k in app.callback_map if "situation-points.data" in k)
    check = _server_callbacks(app)[output]
    values = [{"from": "2024-01-01", "to": "2024-12-31"}, bounds, zoom, ["Incidents"], None]
    return callback_request(output, check, values, [2])


@pytest.mark.parametrize("zoom", [1e308, 2**63, -1, 25, "7", [7], True])
def test_a_zoom_out_of_range_is_refused_before_any_work(app: Dash, zoom: Any) -> None:
    """``zoom=1e308`` made the cluster grid compute ``2 ** int(zoom)``: the request hung a
    worker for a minute. Now it is a 400 at once, naming the input, not echoing it."""
    answer = _post(app, _incidents_request(app, zoom))
    _assert_sound(answer, repr(zoom))
    assert answer.status == 400
    assert answer.json["error"]["message"] == "Invalid value for 'situation-map.zoom'."
    assert answer.seconds < 1
    fine = _post(app, _incidents_request(app, 7))
    assert fine.status == 200 and "situation-points" in fine.json["response"]


def _route_views(app: Dash) -> list[tuple[str, Any]]:
    """Every URL rule of the server that is not Dash's own, with its view."""
    dash_prefix = app.config.routes_pathname_prefix
    own = (f"{dash_prefix}_dash-", f"{dash_prefix}_reload", f"{dash_prefix}_favicon", f"{dash_prefix}assets",
           f"{dash_prefix}<path:path>")
    rules = [r for r in app.server.url_map.iter_rules()
             if r.rule != dash_prefix and not r.rule.startswith(own) and r.endpoint != "static"]
    return [(r.rule, app.server.view_functions[r.endpoint]) for r in rules]


def test_every_route_declares_its_query_parameters(app: Dash) -> None:
    undeclared = [rule for rule, view in _route_views(app) if not hasattr(view, "query_params")]
    assert undeclared == [], "decorate with dashboard.guard.query_args: " + ", ".join(undeclared)
    assert len(_route_views(app)) >= 6


def test_every_data_url_with_arbitrary_parameters(app: Dash) -> None:
    # GET routes (POST /login and /logout: test_auth.py, test_payloads.py); a GET of a POST-only
    # path such as /logout is Dash's catch-all, an unknown page (test_unknown_paths_are_404)
    gets = {r.rule for r in app.server.url_map.iter_rules() if "GET" in (r.methods or ())}
    for rule, view in _route_views(app):
        if rule not in gets:
            continue
        _fuzz_route(app, rule, list(view.query_params) + ["x", "pair", "detail"])


def _fuzz_route(app: Dash, rule: str, names: list[str]) -> None:
    values = st.text(max_size=30) | st.sampled_from(["HR-RS", "rs", "1", "0", "x" * 3000, "%00"])

    @FUZZ
    @given(params=st.lists(st.tuples(st.sampled_from(names), values), max_size=4),
           fill=st.text(st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=20),
           role=st.sampled_from(ROLES))
    def call(params: list[tuple[str, str]], fill: str, role: str) -> None:
        path = rule.replace("<path:rest>", fill.replace("?", "").replace("#", "") or "x")
        answer = send(_client(app, role), LIMIT_MS / 1000 + 2, "GET", path, query_string=params)
        _assert_sound(answer, f"{path} as {role} {params}")

    call()


def test_data_url_parameters_are_checked(app: Dash) -> None:
    client = _client(app)
    for query, message in (("pair=HR-RS,x;DROP", "Invalid value for 'pair'."),
                           ("contry=RS", "Unknown parameter 'contry'."),
                           ("pair=HR-RS&pair=BA-HR", "Parameter 'pair' is given more than once.")):
        answer = send(client, 5, "GET", f"/api/layers/sections.geojson?{query}")
        _assert_sound(answer, query)
        assert (answer.status, answer.json["error"]["message"]) == (400, message)
    assert send(client, 5, "GET", "/api/layers/basemap.geojson?detail=2").status == 400
    assert len(send(client, 5, "GET", "/api/layers/sections.geojson?pair=hr-rs").json["features"]) == 2


def test_a_link_to_the_end_of_time_shows_the_banner(app: Dash) -> None:
    """``/?to=9999-12-31`` used to break the feed, incidents and hotspot callbacks
    (OverflowError): now the page opens on the default window and says what it ignored."""
    output = next(k for k in app.callback_map if "_pages_content.children" in k)
    check = _server_callbacks(app)[output]
    body = callback_request(output, check, ["/", "?to=9999-12-31&cat=bogus,crisis&layers=nope"], [0])
    answer = _post(app, body)
    _assert_sound(answer, "router")
    page = json.dumps(answer.json)
    assert "Ignored unreadable link parameters: to=9999-12-31, cat=bogus, layers=nope." in page


def test_unknown_paths_are_404(app: Dash) -> None:
    client = _client(app)
    page = send(client, 5, "GET", "/no/such/page")
    assert page.status == 404 and b"_dash-renderer" in page.body  # the app's own page shell
    assert send(client, 5, "GET", "/not-found").status == 404
    assert send(client, 5, "GET", "/").status == 200
    output = next(k for k in app.callback_map if "_pages_content.children" in k)
    body = callback_request(output, _server_callbacks(app)[output], ["/no/such/page", ""], [0])
    assert "Page not found" in json.dumps(_post(app, body).json)
    nav = json.dumps(send(client, 5, "GET", "/_dash-layout").json)
    assert "Page not found" not in nav
    for path in ("/_dash-component-suites/dash/nope.js", "/_dash-component-suites/nopkg/x.js",
                 "/_dash-component-suites/dash_leaflet/../../etc/passwd"):
        answer = send(client, 5, "GET", path)
        _assert_sound(answer, path)
        assert answer.status == 404


def test_long_links_are_414_in_the_error_shape(app: Dash) -> None:
    # not logged in: the size limits come before the login gate
    answer = send(app.server.test_client(), 5, "GET", "/?cat=" + "x" * 10_000)
    _assert_sound(answer, "long link")
    assert answer.status == 414 and answer.json["error"]["message"] == "URI Too Long."
    big = _post(app, None, raw=b'{"output": "' + b"x" * 2_000_000 + b'"}')
    _assert_sound(big, "big body")
    assert big.status == 413
