"""``GET /api/incidents.geojson``: the incidents of the user's scope, with login or API token,
every export in the audit log."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine

from etl.warehouse import accounts, audit
from tests.dashboard.test_scope import CASES, OFFICER_SEES, _add
from tests.support import ROLE_USERS, add_role_users, app_for, login


@pytest.fixture
def app(seeded: Engine):  # type: ignore[no-untyped-def]
    add_role_users(seeded)
    _add(seeded, CASES)
    return app_for(seeded)


def _idents(body: dict[str, Any]) -> set[str]:
    return {f["properties"]["incident_id"] for f in body["features"]}


def test_each_role_exports_what_it_may_see(app, seeded: Engine) -> None:  # type: ignore[no-untyped-def]
    admin = login(app.server.test_client(), ROLE_USERS["admin"][0]).get("/api/incidents.geojson")
    assert admin.status_code == 200
    assert admin.headers["Content-Disposition"].startswith('attachment; filename="incidents-')
    body = admin.get_json()
    assert len(body["features"]) == 60 + len(CASES) == body["borderwatch"]["rows"]
    one = next(f for f in body["features"] if f["properties"]["incident_id"] == "S00-RS-national")
    assert one["geometry"]["type"] == "Point" and one["properties"]["sharing"] == "national"
    assert one["properties"]["occurred_at"].endswith("+00:00") and "content_hash" not in one["properties"]

    officer = login(app.server.test_client(), ROLE_USERS["national_officer"][0])
    mine = officer.get("/api/incidents.geojson").get_json()
    assert {i for i in _idents(mine) if i.startswith("S")} == OFFICER_SEES
    assert "incidents of RS" in mine["borderwatch"]["sharing_level"]
    forum = login(app.server.test_client(), ROLE_USERS["forum_viewer"][0]).get("/api/incidents.geojson")
    assert forum.status_code == 403 and forum.get_json()["error"]["status"] == 403

    exports = audit.entries(seeded, action="export")
    assert [(e["actor"], e["detail"]["rows"]) for e in exports] == [
        ("t-officer", len(mine["features"])), ("t-admin", len(body["features"]))]


def test_filters_bbox_limit_and_bad_arguments(app) -> None:  # type: ignore[no-untyped-def]
    client = login(app.server.test_client(), ROLE_USERS["regional_analyst"][0])
    crisis = client.get("/api/incidents.geojson?cat=crisis").get_json()
    assert crisis["features"] and {f["properties"]["category"] for f in crisis["features"]} == {"crisis"}
    boxed = client.get("/api/incidents.geojson?bbox=18.2,45.2,18.5,45.4").get_json()
    assert _idents(boxed) >= {f"S{k:02d}-{a}-{b}" for k, (a, b) in enumerate(CASES)}
    assert all(18.2 <= f["geometry"]["coordinates"][0] <= 18.5 for f in boxed["features"])
    two = client.get("/api/incidents.geojson?limit=2").get_json()
    assert len(two["features"]) == 2 and two["borderwatch"]["truncated"] is True
    for bad in ("cat=bogus", "from=2026-13-01", "bbox=1,2,3", "bbox=10,50,5,60", "limit=0",
                "limit=999999999", "colour=red", "pair=HR-RS;DROP"):
        answer = client.get(f"/api/incidents.geojson?{bad}")
        assert answer.status_code == 400, bad
        assert set(answer.get_json()) == {"error"}


def test_an_api_token_exports_with_its_users_scope(app, seeded: Engine) -> None:  # type: ignore[no-untyped-def]
    _id, token = accounts.create_token(seeded, "t-officer", "QGIS")
    client = app.server.test_client()
    answer = client.get("/api/incidents.geojson", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200 and "Set-Cookie" not in answer.headers
    assert {i for i in _idents(answer.get_json()) if i.startswith("S")} == OFFICER_SEES
    (entry,) = audit.entries(seeded, action="export")
    assert entry["actor"] == "t-officer" and entry["role"] == "national_officer"
    _forum_id, forum_token = accounts.create_token(seeded, "t-forum")
    refused = client.get("/api/incidents.geojson", headers={"Authorization": f"Bearer {forum_token}"})
    assert refused.status_code == 403
