"""The hotspot analysis and the suggested impact levels under access control (issues 10 and 13).

A restricted role (national officer, forum viewer) gets the Gi* class, pattern and trend of a
cell but never its count or z-score, and no cells at all from an analysis finer than its
aggregates; the evidence of a suggested level (counts of a few weeks) is for the full roles;
only administrators and regional analysts may recompute the analysis (refused on the server),
and each request is audited.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import Engine, insert

from dashboard import recompute
from dashboard.queries import gateway, reference
from dashboard.queries import hotspots as q
from dashboard.queries.gateway import ScopeMissing, check_scope
from dashboard.queries.restricted import gistar_coarse_enough
from dashboard.queries.scope import Scope
from etl.warehouse import audit
from etl.warehouse.schema import hotspot_cell, load_run, section_impact_suggestion
from tests.dashboard.dash_calls import call, page_values, response_json, server_callbacks
from tests.dashboard.seed import seed_hotspots
from tests.support import ROLE_USERS, role_clients

OFFICER = Scope(role="national_officer", user="o", country="RS", neighbours=("BA", "HR"))
FORUM = Scope(role="forum_viewer", user="f")
STRENGTH = {"hot_99": 3, "cold_99": 3, "hot_95": 2, "cold_95": 2, "hot_90": 1, "cold_90": 1}


def test_hotspot_tables_need_the_scope() -> None:
    from sqlalchemy import func, select

    for table in (hotspot_cell, section_impact_suggestion):
        with pytest.raises(ScopeMissing):
            check_scope(select(func.count()).select_from(table))
        check_scope(select(func.count()).select_from(table).where(Scope.full().everything))


def test_restricted_roles_get_classes_without_counts_or_z(seeded: Engine) -> None:
    lone = seed_hotspots(seeded)
    _analysis, full = q.significant_cells(seeded, None, 1000)  # the tests' admin scope
    by_cell = {r["cell"]: r for r in full}
    assert by_cell[lone]["n"] == 1 and by_cell[lone]["class"].startswith("hot")  # drawn, of one
    for scope in (OFFICER, FORUM):
        with gateway.scoped(scope):
            _a, rows = q.significant_cells(seeded, None, 1000)
            _a, capped = q.significant_cells(seeded, None, 3)
        assert {r["cell"]: r["class"] for r in rows} == {c: r["class"] for c, r in by_cell.items()}
        assert all(r["n"] is None and r["z"] is None and r["q"] is None for r in rows)
        strengths = [STRENGTH.get(r["class"], 0) for r in rows]
        assert strengths == sorted(strengths, reverse=True)  # by class, not by z
        assert [r["cell"] for r in capped] == [r["cell"] for r in rows[:3]]


def test_an_analysis_finer_than_the_restricted_cells_shows_them_none(seeded: Engine) -> None:
    assert gistar_coarse_enough(6, 1) and gistar_coarse_enough(5, 1) and gistar_coarse_enough(4, 1)
    assert not gistar_coarse_enough(7, 1) and not gistar_coarse_enough(7, 3)
    assert gistar_coarse_enough(7, 4) and not gistar_coarse_enough(8, 5)
    seed_hotspots(seeded, resolution=7, k=1)
    analysis, rows = q.significant_cells(seeded, None, 1000)
    assert analysis is not None and rows and not q.cells_withheld(analysis)
    with gateway.scoped(FORUM):
        assert q.significant_cells(seeded, None, 1000)[1] == []
        assert q.cells_withheld(analysis)


def test_suggested_levels_without_evidence_for_restricted_roles(seeded: Engine) -> None:
    seed_hotspots(seeded)

    def suggestion(scope: Scope) -> dict[str, Any]:
        with gateway.scoped(scope):
            rows = {r["section_id"]: r for r in reference.sections(seeded)}
        assert rows["HR-RS-01"]["suggested_reason"] is None  # no suggestion there
        return rows["HR-RS-02"]

    assert "1 incident(s)" in suggestion(Scope.full())["suggested_reason"]
    for scope in (OFFICER, FORUM):
        shown = suggestion(scope)
        assert shown["suggested_level"] == "high"
        assert shown["suggested_reason"] == reference.RESTRICTED_REASON


def _gistar_features(client: Any) -> list[dict[str, Any]]:
    """The hotspot layer's hexagons as the situation page's callback sends them."""
    deps = server_callbacks(client)
    _layout, values = page_values(client, deps, "/")
    dep = next(d for d in deps if "situation-gistar.data" in d["output"])
    answer = call(client, dep, {**values, "situation-layers.overlays": ["Hotspots (Gi* classes)"],
                                "situation-map.bounds": [[44.5, 18.5], [45.6, 19.7]]})
    assert answer.status_code == 200, answer.data[:300]
    return response_json(answer)["response"]["situation-gistar"]["data"]["features"]


def test_what_each_role_receives_of_the_hotspot_layer_and_the_sections(seeded: Engine) -> None:
    seed_hotspots(seeded)
    clients = role_clients(seeded)
    for role in ("admin", "regional_analyst"):
        features = _gistar_features(clients[role])
        assert features and all({"n", "z"} <= set(f["properties"]) for f in features)
        assert "1-4" in {f["properties"]["n"] for f in features}  # the cell of one, as a range
        sections = clients[role].get("/api/layers/sections.geojson").get_data(as_text=True)
        assert "1 incident(s)" in sections
    for role in ("national_officer", "forum_viewer"):
        features = _gistar_features(clients[role])
        assert features and all(set(f["properties"]) == {"k", "pt", "t"} for f in features)
        sections = clients[role].get("/api/layers/sections.geojson").get_data(as_text=True)
        assert "1 incident(s)" not in sections and json.dumps(reference.RESTRICTED_REASON)[1:40] in sections


def _recompute(client: Any) -> Any:
    deps = server_callbacks(client)
    dep = next(d for d in deps if "situation-hotspot-since.data" in d["output"])
    return call(client, dep, {"situation-hotspot-recompute.n_clicks": 1})


def test_only_admins_and_analysts_recompute_and_it_is_audited(seeded: Engine) -> None:
    clients = role_clients(seeded)
    app = clients["admin"].application
    for role in ("national_officer", "forum_viewer"):
        answer = _recompute(clients[role])
        assert answer.status_code == 403
        assert answer.get_json() == {"error": {"status": 403, "message": "Your role does not allow this."}}
    for role, offered in (("admin", True), ("regional_analyst", True),
                          ("national_officer", False), ("forum_viewer", False)):
        values = page_values(clients[role], server_callbacks(clients[role]), "/")[1]
        assert "situation-hotspot-status.className" in values  # the legend's hotspot section
        assert ("situation-hotspot-recompute.n_clicks" in values) is offered, role
    assert recompute.state(app).child is None  # nothing was started
    with seeded.begin() as conn:  # a run in progress: the request is answered "busy", not run
        conn.execute(insert(load_run).values(kind="hotspots", source="test", file_name="-"))
    answer = _recompute(clients["regional_analyst"])
    assert answer.status_code == 200 and "already running" in answer.get_data(as_text=True)
    assert recompute.state(app).child is None
    entries = [e for e in audit.entries(seeded) if e["action"] == "hotspots_recompute"]
    assert [(e["actor"], e["detail"]["started"]) for e in entries] == [
        (ROLE_USERS["regional_analyst"][0], False)]
