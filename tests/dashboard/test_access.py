"""What each role receives: every Dash callback and every data URL, called directly (issue 10).

The warehouse holds, besides the seeded incidents (all shared ``regional``), marked incidents
of every sharing case: each has a unique incident id, a unique word in its description and a
warehouse id from 7,000,001 on, so any trace of one in any response is found. The national
officer serves RS (neighbours BA and HR; AL is not a neighbour).

Every callback of every page is called with the values the role's own page would send (and
once more with each marked incident selected); every data URL is fetched. A response must
not carry, for an incident the role may not see one by one: its incident id, its description,
its warehouse id as an ``id``/``index``, or its coordinates (both within 1e-5 degrees).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from geoalchemy2.shape import from_shape
from shapely.geometry import MultiPolygon, box
from sqlalchemy import Engine, func, insert, select

from dashboard.viewstate import LAYERS
from etl.warehouse import audit
from etl.warehouse.schema import country, incident
from tests.dashboard.dash_calls import (
    call,
    data_urls,
    page_paths,
    page_values,
    response_json,
    server_callbacks,
)
from tests.dashboard.seed import incident_row, insert_incidents, seed_hotspots
from tests.support import ROLE_USERS, ROLES, add_role_users, app_for, login

FIRST_ID = 7_000_001
#: (reporting country, sharing) of the marked incidents, and whether RS's officer may see them.
CASES = [
    ("RS", "national", True),
    ("RS", None, True),            # own country, whatever the sharing
    ("HR", "national", False),
    ("HR", "bilateral", True),     # a neighbour shares bilaterally
    ("BA", "bilateral", True),
    ("AL", "bilateral", False),    # not a neighbour
    ("AL", "regional", True),
    ("HR", None, False),           # no sharing given: national
    (None, "national", False),     # reporter unknown
    (None, "bilateral", False),
    (None, "regional", True),
]
NUMBER = re.compile(r"-?\d+\.\d+")


def _mark(engine: Engine) -> list[dict[str, Any]]:
    """Insert the marked incidents (two per case, in RS, HR and BA), return them."""
    with engine.begin() as conn:
        conn.execute(insert(country).values(
            iso2="AL", iso3="ALB", name="Albania", is_target=True,
            geom=from_shape(MultiPolygon([box(19.0, 40.0, 20.5, 42.5)]), srid=4326)))
    now = datetime.now(UTC)
    rows, marked = [], []
    places = [(19.31234, 44.61234), (16.52345, 45.61234), (17.13456, 44.21234)]
    for k, (reporter, sharing, officer_sees) in enumerate(CASES):
        for j in range(2):
            lon, lat = places[(k + j) % 3]
            lon, lat = round(lon + 0.0731 * k + 0.011 * j, 5), round(lat - 0.0417 * k + 0.013 * j, 5)
            ident = f"MARK-{k:02d}-{j}-{reporter or 'XX'}-{sharing or 'none'}"
            row = incident_row(ident=ident, lon=lon, lat=lat, category="cross_border_crime",
                               occurred_at=now - timedelta(hours=3 + k * 2 + j), subtype="drugs",
                               description=f"secretword{k:02d}{j} of {ident}")
            row.update(id=FIRST_ID + 2 * k + j, reporting_country=reporter, sharing=sharing)
            rows.append(row)
            marked.append({"pk": row["id"], "ident": ident, "word": f"secretword{k:02d}{j}",
                           "lon": lon, "lat": lat, "officer_sees": officer_sees})
    insert_incidents(engine, rows)
    return marked


def _numbers(node: Any, out: list[float]) -> None:
    if isinstance(node, bool):
        return
    if isinstance(node, int | float):
        out.append(float(node))
    elif isinstance(node, str):
        out.extend(float(x) for x in NUMBER.findall(node))
    elif isinstance(node, list):
        for n in node:
            _numbers(n, out)
    elif isinstance(node, dict):
        for n in node.values():
            _numbers(n, out)


def _ids(node: Any, out: set[int]) -> None:
    """Integers under keys that name an incident: ``id``, ``index``, ``data-incident``, ``sel``."""
    if isinstance(node, list):
        for n in node:
            _ids(n, out)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key in ("id", "index", "data-incident", "sel", "pk") and isinstance(value, int | str):
                try:
                    out.add(int(value))
                except ValueError:
                    pass
            _ids(value, out)


def leaks(body: Any, hidden: list[dict[str, Any]], sent: frozenset[int] = frozenset()) -> list[str]:
    """What of the ``hidden`` incidents appears in ``body`` (ids the request itself sent excepted)."""
    text = body if isinstance(body, str) else repr(body)
    numbers: list[float] = []
    _numbers(body, numbers)
    ids: set[int] = set()
    _ids(body, ids)
    found = []
    for h in hidden:
        if h["ident"] in text or h["word"] in text:
            found.append(f"{h['ident']}: text")
        if h["pk"] in ids and h["pk"] not in sent:
            found.append(f"{h['ident']}: id {h['pk']}")
        if any(abs(n - h["lon"]) < 1e-5 for n in numbers) and any(abs(n - h["lat"]) < 1e-5 for n in numbers):
            found.append(f"{h['ident']}: coordinates")
    return found


def _variants(values: dict[str, Any], hidden: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The page's own values; every overlay on, zoomed in on a hidden incident (or the region)."""
    lon, lat = (hidden[0]["lon"], hidden[0]["lat"]) if hidden else (18.0, 45.0)
    closer = {**values}
    for key in values:
        if key.endswith(".overlays"):
            closer[key] = list(LAYERS.values())
        if key.endswith(".zoom"):
            closer[key] = 11
            closer[key.replace(".zoom", ".bounds")] = [[lat - 0.2, lon - 0.3], [lat + 0.2, lon + 0.3]]
    return [values, closer]


def _probes(values: dict[str, Any], h: dict[str, Any]) -> dict[str, Any]:
    """``values`` with the hidden incident ``h`` selected, clicked on the map, in the feed."""
    probe = {**values}
    for key, value in values.items():
        if key.endswith(("selected.data", "selection.data")) or (isinstance(value, dict) and "id" in value):
            probe[key] = {"id": h["pk"], "src": "feed"}
        if key.endswith("clickData"):
            probe[key] = {"type": "Feature", "properties": {"id": h["pk"]},
                          "geometry": {"type": "Point", "coordinates": [0, 0]}}
    return probe


def _sweep(client: FlaskClient, server: Any, hidden: list[dict[str, Any]], probes: list[dict[str, Any]]
           ) -> tuple[str, set[int]]:
    """Every page, every callback (with the page's values, zoomed in, then with a hidden
    incident selected), every data URL: fails on any leak; returns all response text and the
    incident ids seen (for the checks of what the role must receive)."""
    problems: list[str] = []
    seen: list[str] = []
    seen_ids: set[int] = set()
    deps = server_callbacks(client)
    calls = 0

    def check(what: str, answer: Any, sent: frozenset[int] = frozenset()) -> None:
        nonlocal calls
        calls += 1
        assert answer.status_code < 500, f"{what}: {answer.status_code} {answer.data[:300]!r}"
        body = response_json(answer)
        seen.append(repr(body))
        _ids(body, seen_ids)
        problems.extend(f"{what}: {p}" for p in leaks(body, hidden, sent))

    for path in page_paths():
        check(f"page {path}", client.get(path))
        layout, values = page_values(client, deps, path)
        check(f"layout of {path}", layout)
        for dep in deps:
            for variant in _variants(values, hidden):
                check(dep["output"], call(client, dep, variant))
            for h in probes:
                check(f"{dep['output']} with {h['ident']} selected", call(client, dep, _probes(values, h)),
                      frozenset({h["pk"]}))
    for url in data_urls(server):
        check(url, client.get(url))
    assert calls > 20
    assert problems == [], "\n".join(problems[:30])
    return "\n".join(seen), seen_ids


@pytest.fixture
def marked(seeded: Engine) -> list[dict[str, Any]]:
    seed_hotspots(seeded)  # so that the hotspot layer and suggested levels answer with data
    return _mark(seeded)


@pytest.fixture
def clients(seeded: Engine, marked: list[dict[str, Any]]) -> dict[str, FlaskClient]:
    add_role_users(seeded)
    app = app_for(seeded)
    out = {role: login(app.server.test_client(), ROLE_USERS[role][0]) for role in ROLES}
    out["_app"] = app  # type: ignore[assignment]
    return out


def test_forum_viewer_receives_no_single_incident(clients: dict, seeded: Engine, marked: list) -> None:
    with seeded.connect() as conn:
        every = [{"pk": r.id, "ident": r.incident_id, "word": r.description, "lon": r.lon, "lat": r.lat}
                 for r in conn.execute(select(incident.c.id, incident.c.incident_id, incident.c.description,
                                              func.ST_X(incident.c.geom).label("lon"),
                                              func.ST_Y(incident.c.geom).label("lat")))]
    assert len(every) == 60 + len(marked)
    seen, _ids_seen = _sweep(clients["forum_viewer"], clients["_app"].server, every, marked[:3])
    assert f"'{len(every):,}'" in seen  # but the count of every incident is there (an aggregate)


def test_national_officer_receives_own_and_shared_incidents_only(clients: dict, marked: list) -> None:
    hidden = [m for m in marked if not m["officer_sees"]]
    shown = [m for m in marked if m["officer_sees"]]
    seen, ids = _sweep(clients["national_officer"], clients["_app"].server, hidden, [*hidden[:3], shown[3]])
    missing = [m["ident"] for m in shown if m["pk"] not in ids]
    assert missing == [], f"the officer should see these (in the feed): {missing}"
    assert f"Incident {shown[3]['ident']}" in seen  # and its details when selected


@pytest.mark.parametrize("role", ["admin", "regional_analyst"])
def test_full_roles_receive_every_incident(clients: dict, marked: list, role: str) -> None:
    seen, ids = _sweep(clients[role], clients["_app"].server, [], marked[:3])
    assert [m["ident"] for m in marked if m["pk"] not in ids] == []
    assert all(f"Incident {m['ident']}" in seen for m in marked[:3])


def test_admins_see_the_audit_entries_the_tests_caused(clients: dict, seeded: Engine) -> None:
    """Through the admin page's own callback, as the browser would ask: every login above."""
    admin = clients["admin"]
    clients["forum_viewer"].get("/api/incidents.geojson")  # refused (403): not an export
    clients["national_officer"].get("/api/incidents.geojson?cat=crisis")  # an export
    deps = server_callbacks(admin)
    _layout, values = page_values(admin, deps, "/admin")
    log = next(d for d in deps if "admin-log.children" in d["output"])
    shown = repr(response_json(call(admin, log, {**values, "admin-period.value": "1d"})))
    for name, _ in ROLE_USERS.values():
        assert name in shown
    assert "export" in shown and "incidents.geojson" in shown and "cat=crisis" in shown
    entries = audit.entries(seeded)
    assert {(e["actor"], e["action"]) for e in entries} >= {(n, "login") for n, _ in ROLE_USERS.values()}
