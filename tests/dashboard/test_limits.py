"""Responses never carry unbounded text: long values in the warehouse are cut (dashboard/limits.py)."""

from __future__ import annotations

import json

from sqlalchemy import Engine, text

from dashboard.app import create_app, ready_for_workers
from dashboard.guard import callback_checks
from dashboard.limits import DESCRIPTION_CHARS, EXTRA_FIELDS, FIELD_CHARS, REASON_CHARS
from tests.conftest import settings_for
from tests.dashboard.hostile import callback_request
from tests.support import login_client


def _execute(engine: Engine, sql: str) -> None:
    with engine.begin() as conn:
        conn.execute(text(sql))


def test_a_3_mb_reason_does_not_grow_every_map_load(seeded: Engine) -> None:
    """A 3 MB impact-level reason grew sections.geojson from 120 KB to 6 MB on every load."""
    client = login_client(seeded, "admin")
    before = len(client.get("/api/layers/sections.geojson").data)
    _execute(seeded, "UPDATE border_section SET impact_level = 'high', "
                     "impact_reason = repeat('x', 3000000) WHERE section_id = 'HR-RS-01'")
    _execute(seeded, "UPDATE bcp SET name_a = repeat('n', 100000)")
    sections = client.get("/api/layers/sections.geojson")
    assert len(sections.data) < before + 2 * REASON_CHARS + 1000
    feature = next(f for f in sections.json["features"] if f["properties"]["id"] == "HR-RS-01")
    assert len(feature["properties"]["reason"]) == REASON_CHARS
    props = feature["properties"]
    assert props["reason"].endswith("…") and "x" * (REASON_CHARS - 1) in props["tip"]
    bcps = client.get("/api/layers/bcps.geojson")
    assert len(bcps.data) < 20_000 and "n" * FIELD_CHARS not in bcps.get_data(as_text=True)


def test_a_10_mb_description_makes_a_small_detail_answer(seeded: Engine) -> None:
    """A 10 MB incident description made one detail response 10 MB."""
    attrs = json.dumps({f"field{i:04d}": "v" * 500 for i in range(100)})
    _execute(seeded, "UPDATE incident SET description = repeat('d', 10000000), "
                     f"source = repeat('s', 5000), attrs = '{attrs}'::jsonb WHERE id = 1")
    _execute(seeded, "UPDATE incident SET attrs = (SELECT jsonb_object_agg('k' || i, repeat('v', 1000)) "
                     "FROM generate_series(1, 200) i) WHERE id = 2")
    app = ready_for_workers(create_app(settings_for(seeded.url.render_as_string(hide_password=False))))
    output = next(k for k in app.callback_map if "situation-detail-body.children" in k)
    check = callback_checks(app)[output]
    client = login_client(seeded, "admin", app=app)

    def detail(pk: int) -> str:
        body = callback_request(output, check, [{"id": pk, "src": "map"}], [0])
        answer = client.post("/_dash-update-component", json=body)
        assert answer.status_code == 200
        return json.dumps(answer.get_json(), ensure_ascii=False)

    first = detail(1)
    assert len(first.encode()) < DESCRIPTION_CHARS + (EXTRA_FIELDS + 20) * (FIELD_CHARS + 200)
    assert "d" * (DESCRIPTION_CHARS - 1) + "…" in first and "d" * DESCRIPTION_CHARS not in first
    assert "s" * FIELD_CHARS not in first
    assert f"and {100 - EXTRA_FIELDS} more fields" in first
    second = detail(2)  # extra fields larger than the panel reads at all
    assert "larger than the detail panel shows" in second and "v" * 1000 not in second


def test_the_crossing_page_cuts_long_text(seeded: Engine) -> None:
    """A 3 MB reason, 100,000-character names and a 5,000-character report id reach the crossing
    page (its header, peers, search box and incidents list) cut to the limits."""
    _execute(seeded, "UPDATE border_section SET impact_reason = repeat('x', 3000000) "
                     "WHERE pair_id = 'HR-RS'")
    _execute(seeded, "UPDATE bcp SET name_a = repeat('n', 100000), e_road = repeat('e', 100000)")
    _execute(seeded, "UPDATE incident SET incident_id = repeat('i', 5000) || id, source = repeat('s', 5000)")
    app = ready_for_workers(create_app(settings_for(seeded.url.render_as_string(hide_password=False))))
    checks = callback_checks(app)
    client = login_client(seeded, "admin", app=app)

    def call(fragment: str, values: list[object]) -> str:
        output = next(k for k in app.callback_map if fragment in k)
        answer = client.post("/_dash-update-component",
                             json=callback_request(output, checks[output], values, [0]))
        assert answer.status_code == 200, answer.data[:300]
        return json.dumps(answer.get_json(), ensure_ascii=False)

    page = call("_pages_content.children", ["/bcp/RS-HR-BATROVCI", "?from=2024-01-01&to=2026-12-31"])
    assert "x" * (REASON_CHARS - 1) + "…" in page and "x" * REASON_CHARS not in page
    assert "n" * (FIELD_CHARS - 1) + "…" in page and "n" * FIELD_CHARS not in page
    assert "e" * FIELD_CHARS not in page
    assert len(page.encode()) < 200_000
    state = {"code": "RS-HR-BATROVCI", "from": "2024-01-01", "to": "2026-12-31", "side": "",
             "flow": "persons", "wait": "trucks", "r": 100.0, "near": "radius"}
    near = call("bcp-incidents-table.children", [state])
    assert "i" * (FIELD_CHARS - 1) + "…" in near and "i" * FIELD_CHARS not in near
