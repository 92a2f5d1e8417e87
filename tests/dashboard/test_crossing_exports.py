"""CSV export of the crossing page's tables: same numbers as the page, escaped cells, 4xx for a
client's mistakes."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine

from dashboard.crossing_exports import TABLES
from tests.dashboard.seed import incident_row, insert_incidents
from tests.dashboard.seed_crossing import CLOSED, CODE, DAYS, FIRST, LAT, LON, NOW, seed_crossing
from tests.support import login_client

PERIOD = f"from={FIRST + timedelta(days=35)}&to={FIRST + timedelta(days=DAYS - 1)}"


@pytest.fixture
def client(engine: Engine) -> FlaskClient:
    seed_crossing(engine)
    insert_incidents(engine, [incident_row(ident="=HYPERLINK(\"http://x\")", lon=LON + 0.01,
                                           lat=LAT, occurred_at=NOW, category="other")])
    return login_client(engine, "admin")


def _csv(client: FlaskClient, path: str) -> list[dict[str, str]]:
    answer = client.get(path)
    assert answer.status_code == 200, answer.data[:300]
    assert answer.mimetype == "text/csv"
    assert "attachment" in answer.headers["Content-Disposition"]
    return list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))


def test_every_table_downloads(client: FlaskClient) -> None:
    for name in TABLES:
        rows = _csv(client, f"/api/bcp/{CODE}/{name}.csv?{PERIOD}")
        assert rows, name


def test_flows_csv_flags_the_planted_closure(client: FlaskClient) -> None:
    rows = _csv(client, f"/api/bcp/{CODE}/flows.csv?{PERIOD}&side=RS")
    assert {r["reporting_country"] for r in rows} == {"RS"}
    assert {r["category"] for r in rows} == {"persons", "trucks"}
    flagged = sorted((r["date"], r["direction"]) for r in rows
                     if r["flagged"] == "True" and r["category"] == "persons")
    closed = (FIRST + timedelta(days=CLOSED)).isoformat()
    assert flagged == [(closed, "entry"), (closed, "exit")]
    persons = [r for r in rows if r["category"] == "persons"]
    assert len(persons) == 2 * (DAYS - 35)
    assert all(r["count"].isdigit() for r in persons), "a count is written 126, not 126.0"


def test_incidents_csv_escapes_formulas_and_keeps_numbers(client: FlaskClient) -> None:
    rows = _csv(client, f"/api/bcp/{CODE}/incidents.csv?from={NOW.date() - timedelta(days=10)}"
                        f"&to={NOW.date()}&r=10")
    ids = {r["incident_id"] for r in rows}
    assert "'=HYPERLINK(\"http://x\")" in ids and "I-9.9" in ids and "I-10.1" not in ids
    assert all(not r["distance_km"].startswith("'") for r in rows)
    assert {r["at_bcp"] for r in rows} == {"True", "False"}


def test_client_mistakes_are_4xx_in_the_error_shape(client: FlaskClient) -> None:
    """Each parameter is declared (dashboard.guard.query_args) and read by the page's own
    parser; the answer names the parameter and never echoes the value."""
    cases = {
        f"/api/bcp/{CODE}/nothing.csv": (404, "Not Found."),
        "/api/bcp/NO-SUCH/flows.csv": (404, "No crossing point 'NO-SUCH'."),
        "/api/bcp/bad%20code/flows.csv": (404, "Not Found."),
        f"/api/bcp/{CODE}/flows.csv?r=abc": (400, "Invalid value for 'r'."),
        f"/api/bcp/{CODE}/flows.csv?r=500": (400, "Invalid value for 'r'."),
        f"/api/bcp/{CODE}/flows.csv?from=2024-13-01": (400, "Invalid value for 'from'."),
        f"/api/bcp/{CODE}/flows.csv?from=2024-03-01&to=2024-02-01": (400, "Invalid value for 'from'."),
        f"/api/bcp/{CODE}/flows.csv?from=2020-01-01&to=2024-02-01": (400, "Invalid value for 'from'."),
        f"/api/bcp/{CODE}/flows.csv?flow=planes": (400, "Invalid value for 'flow'."),
        f"/api/bcp/{CODE}/flows.csv?side=%3Dcmd": (400, "Invalid value for 'side'."),
        f"/api/bcp/{CODE}/flows.csv?bogus=1": (400, "Unknown parameter 'bogus'."),
        f"/api/bcp/{CODE}/flows.csv?r=1&r=2": (400, "Parameter 'r' is given more than once."),
    }
    for path, (status, message) in cases.items():
        answer = client.get(path)
        assert (answer.status_code, answer.json["error"]) == (
            status, {"status": status, "message": message}), path
