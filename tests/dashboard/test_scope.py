"""The scope in the query layer: the roles' rules as SQL, and the gateway refusing unscoped reads."""

from __future__ import annotations

import contextvars
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select, text

from dashboard.queries import gateway, incidents, restricted
from dashboard.queries.gateway import ScopeMissing, check_scope
from dashboard.queries.raw import BBox
from dashboard.queries.scope import Scope
from dashboard.viewstate import Filters
from etl.warehouse.schema import incident, incident_rollup
from tests.dashboard.seed import incident_row, insert_incidents

OFFICER = Scope(role="national_officer", user="o", country="RS", neighbours=("BA", "HR"))
FORUM = Scope(role="forum_viewer", user="f")


def test_the_gateway_refuses_a_statement_without_the_scope() -> None:
    s = Scope.full()
    for bad in (select(incident.c.id),
                select(func.count()).select_from(incident_rollup),
                select(func.count()).select_from(select(incident.c.id).subquery()),
                text("SELECT id FROM incident"),
                text("select count(*) from INCIDENT_ROLLUP")):
        with pytest.raises(ScopeMissing):
            check_scope(bad)
    check_scope(select(incident.c.id).where(s.detail))
    check_scope(select(func.count()).select_from(incident).where(s.everything))
    check_scope(select(incident.c.id).where(OFFICER.hidden))
    check_scope(text("SELECT id FROM incident WHERE :bw_scope_detail").bindparams(bw_scope_detail=True))
    check_scope(text("SELECT 1"))  # not incident data: no scope needed


def test_no_scope_outside_a_request_unless_given() -> None:
    with pytest.raises(ScopeMissing):
        contextvars.Context().run(gateway.scope)  # a fresh context: no scoped() around it
    with gateway.scoped(FORUM):
        assert gateway.scope() is FORUM


def _add(engine: Engine, cases: list[tuple[str | None, str | None]]) -> None:
    now = datetime.now(UTC)
    rows = []
    for k, (reporter, sharing) in enumerate(cases):
        row = incident_row(ident=f"S{k:02d}-{reporter}-{sharing}", lon=18.3 + k * 0.01, lat=45.3,
                           occurred_at=now - timedelta(hours=k + 1), category="crisis")
        row.update(reporting_country=reporter, sharing=sharing)
        rows.append(row)
    insert_incidents(engine, rows)


CASES = [("RS", "national"), ("RS", None), ("HR", "national"), ("HR", "bilateral"), ("BA", "bilateral"),
         ("AL", "bilateral"), ("AL", "regional"), ("HR", None), (None, "national"), (None, "bilateral"),
         (None, "regional")]
OFFICER_SEES = {"S00-RS-national", "S01-RS-None", "S03-HR-bilateral", "S04-BA-bilateral",
                "S06-AL-regional", "S10-None-regional"}


def test_the_national_officer_rule_and_its_exact_complement(engine: Engine) -> None:
    _add(engine, CASES)
    with engine.connect() as conn:
        def idents(cond):  # type: ignore[no-untyped-def]
            return {r[0] for r in conn.execute(select(incident.c.incident_id).where(cond))}

        assert idents(OFFICER.detail) == OFFICER_SEES
        every = {f"S{k:02d}-{a}-{b}" for k, (a, b) in enumerate(CASES)}
        assert idents(OFFICER.hidden) == every - OFFICER_SEES
        assert idents(FORUM.detail) == set() and len(idents(FORUM.hidden)) == len(CASES)
        assert len(idents(Scope.full().detail)) == len(CASES) and idents(Scope.full().hidden) == set()
        far = Scope(role="national_officer", country="TR")  # no neighbour known
        assert idents(far.detail) == {"S06-AL-regional", "S10-None-regional"}


def test_queries_follow_the_scope(seeded: Engine) -> None:
    _add(seeded, CASES)
    f = Filters.from_dict({})
    every = incidents.count(seeded, f)
    with gateway.scoped(OFFICER):
        feed = incidents.feed(seeded, f)
        assert {r["incident_id"] for r in feed if r["incident_id"].startswith("S")} == OFFICER_SEES
        assert incidents.count(seeded, f) == every  # counts are aggregates of everything
        pk = {r["incident_id"]: r["id"] for r in incidents.feed(seeded, f, limit=200)}
        assert incidents.detail(seeded, pk["S00-RS-national"]) is not None
        with seeded.connect() as conn:
            hidden_pk = conn.execute(select(incident.c.id).where(incident.c.incident_id == "S02-HR-national")
                                     ).scalar_one()
        assert incidents.detail(seeded, hidden_pk) is None
        assert incidents.hex_resolution(12) == restricted.FINEST
        layer = incidents.incident_layer(seeded, f, BBox(17.0, 44.0, 19.5, 46.0), 9, 5000)
        assert layer.mode == "points"
        assert {r["id"] for r in layer.rows} >= {pk["S00-RS-national"]}
        assert hidden_pk not in {r["id"] for r in layer.rows}
        assert sum(h["count"] for h in layer.hidden) == len(CASES) - len(OFFICER_SEES)
    with gateway.scoped(FORUM):
        assert incidents.feed(seeded, f) == [] and incidents.detail(seeded, hidden_pk) is None
        layer = incidents.incident_layer(seeded, f, BBox(12.0, 40.0, 24.0, 48.0), 7, 5000)
        assert layer.rows == [] and sum(h["count"] for h in layer.hidden) == layer.in_view == every
        new = incidents.new_since(seeded, f, 0)
        assert new.rows == [] and new.count == every
    assert incidents.hex_resolution(13) == 9  # admin (the dashboard tests' default scope)


def test_restricted_counts_do_not_move_with_the_viewport_edge(engine: Engine) -> None:
    """Sliding the viewport's edge across a lone hidden incident must not change any count
    (else the edge would locate it): whole cells count, wherever the incident lies in them."""
    _add(engine, [("HR", "national")])
    lon = 18.3
    f = Filters.from_dict({})
    with gateway.scoped(OFFICER), gateway.reading(engine) as reader:
        answers = [restricted.hidden_counts(reader, OFFICER, f, BBox(lon + d, 45.0, lon + 1.0, 45.6), 9, 5000)
                   for d in (-0.01, -0.001, 0.001, 0.01)]
    assert all(a == answers[0] for a in answers), answers
    (cell,) = answers[0]
    assert cell["count"] == 1
    assert abs(cell["lon"] - lon) > 1e-3 or abs(cell["lat"] - 45.3) > 1e-3  # the cell's centre, not the point


def test_cover_steps_down_whole_h3_levels() -> None:
    res, cells = restricted.cover(BBox(10.0, 35.0, 40.0, 48.0), 5, cap=500)
    assert res < 5 and 0 < len(cells) <= 500
    res5, cells5 = restricted.cover(BBox(18.0, 45.0, 18.2, 45.1), 9, cap=500)
    assert res5 == restricted.FINEST and cells5
