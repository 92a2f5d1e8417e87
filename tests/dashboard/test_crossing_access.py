"""What each role receives on the crossing page and from its CSV exports.

Six detections at Batrovci (RS-HR) on one day, reported by different services and shared
differently. The national officer serves RS, whose neighbours in the test warehouse are BA and
HR: they see their own report, the neighbour's bilateral one and the regional one, never HR's
national one, a non-neighbour's bilateral one or a report that names no sharing. Every number
of the page (list, weekly counts, total, detections per 10,000 crossings) follows the same
rule; the forum viewer gets the flows but no incident figure, and 403 for the incident CSVs.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine

from dashboard.components.crossing import COUNTS_ONLY
from etl.warehouse import audit
from tests.conftest import TEMPLATE, _fresh_engine
from tests.dashboard.dash_calls import call, server_callbacks
from tests.dashboard.seed import incident_row, insert_incidents
from tests.dashboard.seed_crossing import CODE, LAT, LON, NOW, seed_crossing
from tests.support import ROLE_USERS, role_clients

DAY = (NOW + timedelta(days=5)).date()
#: ident -> (reporting country, sharing)
REPORTS = {
    "RS-OWN": ("RS", "national"),
    "HR-NATIONAL": ("HR", "national"),
    "HR-BILATERAL": ("HR", "bilateral"),
    "MK-BILATERAL": ("MK", "bilateral"),
    "HU-REGIONAL": ("HU", "regional"),
    "NOBODY": (None, None),
}
SEES = {
    "admin": set(REPORTS),
    "regional_analyst": set(REPORTS),
    "national_officer": {"RS-OWN", "HR-BILATERAL", "HU-REGIONAL"},
    "forum_viewer": set(),
}
VIEW = f"from={DAY}&to={DAY}&r=1"
STATE = {"code": CODE, "from": DAY.isoformat(), "to": DAY.isoformat(), "side": "",
         "flow": "persons", "wait": "trucks", "r": 1.0, "near": "radius"}


@pytest.fixture(scope="module")
def warehouse(admin_url: str, template_url: str) -> Iterator[Engine]:
    """The crossing dataset and the six reports, once for the module."""
    yield from _fresh_engine(admin_url, TEMPLATE)


@pytest.fixture(scope="module")
def clients(warehouse: Engine) -> dict[str, FlaskClient]:
    engine_module = warehouse
    seed_crossing(engine_module)
    rows = []
    for ident, (country, sharing) in REPORTS.items():
        row = incident_row(ident=ident, lon=LON, lat=LAT, occurred_at=NOW + timedelta(days=5),
                           category="cross_border_crime", subtype="smuggling_goods")
        row.update(bcp_code=CODE, detection="bcp_check", reporting_country=country, sharing=sharing)
        rows.append(row)
    insert_incidents(engine_module, rows)
    return role_clients(engine_module)


def _csv(client: FlaskClient, table: str) -> list[dict[str, str]]:
    answer = client.get(f"/api/bcp/{CODE}/{table}.csv?{VIEW}")
    assert answer.status_code == 200, answer.data[:200]
    return list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))


def _callback(client: FlaskClient, output: str) -> str:
    dep = next(d for d in server_callbacks(client) if output in d["output"])
    answer = call(client, dep, {"bcp-state.data": STATE})
    assert answer.status_code == 200, answer.data[:200]
    return json.dumps(answer.get_json(), ensure_ascii=False)


@pytest.mark.parametrize("role", ["admin", "regional_analyst", "national_officer"])
def test_incident_figures_hold_only_what_the_role_may_see(clients: dict, role: str) -> None:
    client, seen = clients[role], SEES[role]
    assert {r["incident_id"] for r in _csv(client, "incidents")} == seen
    assert sum(int(r["n"]) for r in _csv(client, "incidents-weekly")) == len(seen)
    risk = {r["code"]: r for r in _csv(client, "risk")}
    assert int(risk[CODE]["detections"]) == len(seen)
    page = _callback(client, "bcp-incidents-table.children")
    assert {ident for ident in REPORTS if ident in page} == seen
    noun = "incident" if len(seen) == 1 else "incidents"
    assert f"{len(seen)} {noun} within 1 km" in page
    assert ("that your service may see" in page) == (role == "national_officer")
    assert COUNTS_ONLY not in page
    table = _callback(client, "bcp-risk-table.children")
    assert ("Detections you may see" in table) == (role == "national_officer")


def test_a_forum_viewer_gets_the_flows_and_no_incident_figure(clients: dict) -> None:
    forum = clients["forum_viewer"]
    for table in ("incidents", "incidents-weekly", "risk"):
        answer = forum.get(f"/api/bcp/{CODE}/{table}.csv?{VIEW}")
        assert answer.status_code == 403, table
        assert answer.get_json()["error"]["status"] == 403
    assert _csv(forum, "flows") and _csv(forum, "mirror")
    for output in ("bcp-incidents-table.children", "bcp-risk-table.children"):
        page = _callback(forum, output)
        assert COUNTS_ONLY in page
        assert not any(ident in page for ident in REPORTS)
        assert str(LON) not in page and "smuggling" not in page
    flows = _callback(forum, "bcp-flows-graph.figure")
    assert '"x"' in flows  # the same flows as everyone's


def test_every_export_is_in_the_audit_log(clients: dict, warehouse: Engine) -> None:
    clients["national_officer"].get(f"/api/bcp/{CODE}/incidents.csv?{VIEW}")
    clients["forum_viewer"].get(f"/api/bcp/{CODE}/flows.csv?{VIEW}")
    exports = {(e["actor"], e["target"]) for e in audit.entries(warehouse, action="export")}
    assert (ROLE_USERS["national_officer"][0], f"bcp/{CODE}/incidents.csv") in exports
    assert (ROLE_USERS["forum_viewer"][0], f"bcp/{CODE}/flows.csv") in exports


def test_anonymous_gets_nothing(clients: dict) -> None:
    anonymous: Any = clients["anonymous"]
    answer = anonymous.get(f"/api/bcp/{CODE}/flows.csv?{VIEW}")
    assert answer.status_code == 401
    assert anonymous.get(f"/bcp/{CODE}").status_code in (302, 303)
