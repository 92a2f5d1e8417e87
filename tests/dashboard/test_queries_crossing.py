"""Queries of the crossing page on a small known dataset in PostGIS: a planted flow anomaly and
a planted mismatch between the two sides, incidents at known distances from a BCP."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest
from sqlalchemy import Engine

from dashboard.analysis.flows import as_frame, fetch_window, flow_table
from dashboard.analysis.mirror import reconcile
from dashboard.queries import crossing
from dashboard.viewstate import Filters
from tests.dashboard.seed_crossing import (
    CLOSED,
    CODE,
    DAYS,
    FIRST,
    LAT,
    LON,
    MISMATCH,
    NOW,
    seed_crossing,
)


@pytest.fixture
def crossing_db(engine: Engine) -> Engine:
    return seed_crossing(engine)


def test_header_names_section_peers_patrol_and_sides(crossing_db: Engine) -> None:
    head = crossing.header(crossing_db, CODE)
    assert head is not None
    assert (head["name_a"], head["name_b"], head["country_a"], head["country_b"]) == (
        "Batrovci", "Bajakovo", "RS", "HR")
    assert (head["country_a_name"], head["country_b_name"], head["pair_id"]) == (
        "Serbia", "Croatia", "HR-RS")
    assert head["lon"] == pytest.approx(LON) and head["lat"] == pytest.approx(LAT)
    assert head["section"]["section_id"] == "HR-RS-01"
    assert head["section"]["impact_level"] == "critical"
    assert head["section"]["distance_m"] < 10
    assert [p["code"] for p in head["peers"]] == ["RS-HR-PEER"]  # Tovarnik is rail
    assert head["patrol_areas"] == []
    assert [(s["reporting_country"], s["first"], s["rows"]) for s in head["flow_sides"]] == [
        ("HR", FIRST, 2 * DAYS), ("RS", FIRST, 3 * DAYS)]
    gradiska = crossing.header(crossing_db, "BA-HR-GRADISKA")
    assert gradiska is not None
    assert [a["agreement_id"] for a in gradiska["patrol_areas"]] == ["BA-HR-2008"]
    assert crossing.header(crossing_db, "NO-SUCH-BCP") is None


def test_a_planted_flow_anomaly_is_flagged_and_an_ordinary_day_is_not(
    crossing_db: Engine,
) -> None:
    date_from, date_to = FIRST + timedelta(days=35), FIRST + timedelta(days=DAYS - 1)
    first, last = fetch_window(date_from, date_to)
    rows = crossing.flows(crossing_db, CODE, first, last)
    assert rows["date"].min() == pd.Timestamp(first)
    table = flow_table(rows, as_frame([]), "RS", ["persons"], date_from, date_to, threshold=5.0)
    flagged = table[table["flagged"]]
    closed = pd.Timestamp(FIRST + timedelta(days=CLOSED))
    assert sorted(zip(flagged["direction"], flagged["date"], strict=True)) == [
        ("entry", closed), ("exit", closed)]
    ordinary = table[table["date"] == pd.Timestamp(FIRST + timedelta(days=60))]
    assert len(ordinary) == 2 and not ordinary["flagged"].any()
    assert (ordinary["z"].abs() < 3).all()


def test_a_planted_mismatch_is_flagged_and_a_matching_day_is_not(crossing_db: Engine) -> None:
    date_from, date_to = FIRST, FIRST + timedelta(days=DAYS - 1)
    rows = crossing.flows(crossing_db, CODE, date_from, date_to)
    days = pd.date_range(date_from, date_to, freq="D")
    result = reconcile(rows, "RS", "HR", ["persons"], days, threshold_pct=5.0, min_gap=10)
    assert result.comparable
    flagged = result.table[result.table["flagged"]]
    assert list(zip(flagged["from_country"], flagged["date"], strict=True)) == [
        ("RS", pd.Timestamp(FIRST + timedelta(days=MISMATCH)))]
    assert flagged.iloc[0]["gap_pct"] == pytest.approx(-30.0, abs=0.1)
    same_day_other_way = result.table[(result.table["date"] == flagged.iloc[0]["date"])
                                       & (result.table["from_country"] == "HR")]
    assert same_day_other_way["status"].tolist() == ["match"]
    # trucks: only Serbia reports them; that is a missing report, not a zero
    trucks = reconcile(rows, "RS", "HR", ["trucks"], days, threshold_pct=5.0, min_gap=10).table
    assert set(trucks["status"]) == {"no report from HR", "reported by neither side"}
    assert not trucks["flagged"].any()


def _period() -> Filters:
    return Filters(date_from=NOW.date() - timedelta(days=89), date_to=NOW.date())


def test_the_radius_counts_exactly_the_incidents_inside_it(crossing_db: Engine) -> None:
    def names(radius: float) -> list[str]:
        found = crossing.near_incidents(crossing_db, CODE, LON, LAT, _period(),
                                        crossing.Near(radius_km=radius))
        assert found.total == len(found.rows) == len(found.points)
        return sorted(r["incident_id"] for r in found.rows)

    assert names(10.0) == ["AT-0", "AT-1", "AT-2", "I-2", "I-9.9"]
    assert names(10.2) == ["AT-0", "AT-1", "AT-2", "I-10.1", "I-2", "I-9.9"]
    assert names(1.0) == ["AT-0", "AT-1", "AT-2"]
    assert "I-15" in names(50.0) and len(names(50.0)) == 7
    found = crossing.near_incidents(crossing_db, CODE, LON, LAT, _period(),
                                    crossing.Near(radius_km=10.0))
    by_id = {r["incident_id"]: r for r in found.rows}
    assert by_id["I-9.9"]["distance_km"] == pytest.approx(9.9, abs=0.001)
    assert [k for k, r in sorted(by_id.items()) if r["at_bcp"]] == ["AT-0", "AT-1", "AT-2"]
    assert {(w["subtype"], w["n"]) for w in found.weekly} >= {("drugs", 2)}
    assert sum(w["n"] for w in found.weekly) == 5
    # categories filter, and the older incident outside the period
    crime = Filters(date_from=_period().date_from, date_to=_period().date_to,
                    categories=("cross_border_crime",))
    assert crossing.near_incidents(crossing_db, CODE, LON, LAT, crime,
                                   crossing.Near(radius_km=10.0)).total == 2
    long_ago = Filters(date_from=date(2023, 1, 1), date_to=NOW.date())
    assert crossing.near_incidents(crossing_db, CODE, LON, LAT, long_ago,
                                   crossing.Near(radius_km=10.0)).total == 6


def test_incidents_on_the_border_section(crossing_db: Engine) -> None:
    near = crossing.Near(radius_km=10.0, scope="section", section_id="HR-RS-01")
    found = crossing.near_incidents(crossing_db, CODE, LON, LAT, _period(), near)
    assert found.total == 7  # the three at the BCP and the four to the east
    export = crossing.near_incident_rows(crossing_db, CODE, LON, LAT, _period(), near)
    assert len(export) == 7


def test_detections_and_crossings_of_the_bcp_and_its_peers(crossing_db: Engine) -> None:
    period = Filters(date_from=FIRST, date_to=NOW.date())
    detected, sides = crossing.detections_and_flows(crossing_db, [CODE, "RS-HR-PEER"], period)
    assert detected == [{"code": CODE, "detections": 3}]
    by_side = {(s["code"], s["reporting_country"]): s for s in sides}
    assert by_side[(CODE, "RS")]["wait_avg_min"] == pytest.approx(30.0)
    assert by_side[("RS-HR-PEER", "HR")]["persons"] is None
    assert by_side[("RS-HR-PEER", "HR")]["wait_avg_min"] == pytest.approx(10.0)
    assert by_side[("RS-HR-PEER", "RS")]["persons"] == 1000 * ((NOW.date() - FIRST).days + 1)


def test_the_map_counts_incidents_placed_at_a_bcp_on_it_instead_of_stacking_them(
    crossing_db: Engine,
) -> None:
    from dashboard.queries import incidents
    from dashboard.queries.incidents import BBox

    box = BBox(west=LON - 0.5, south=LAT - 0.3, east=LON + 0.5, north=LAT + 0.3)
    layer = incidents.incident_layer(crossing_db, _period(), box, zoom=11, cap=1000)
    assert layer.mode == "points"
    assert sorted(r["id"] for r in layer.rows) == sorted(
        r["id"] for r in layer.rows if r["bcp"] is None)
    assert [(b["bcp"], b["n"]) for b in layer.badges] == [(CODE, 3)]
    assert (layer.badges[0]["lon"], layer.badges[0]["lat"]) == pytest.approx((LON, LAT))
    assert layer.in_view == len(layer.rows) + 3 == 7
