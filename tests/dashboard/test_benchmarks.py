"""Benchmark queries and builders: the scorecard with its context in time, the overall status,
the regional spread, recommendation statuses, strategies, trainings and flows per country."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine

from dashboard.components import benchmark_charts as charts
from dashboard.components import benchmark_panels as panels
from dashboard.queries import benchmarks as bq
from dashboard.queries import programme
from dashboard.viewstate import Filters, parse_benchmark_query
from etl.load import load_file
from etl.settings import Settings
from tests.dashboard.helpers import find_all, text_of

ASSESSMENTS = """country,round,component,level,evidence,recommendation,deadline
RS,2010,border_control,1,Pilot at two BCPs,Extend to all BCPs,2011-06-30
RS,2015,border_control,2,Main BCPs,Extend service-wide,2016-06-30
RS,2020,border_control,2,Main BCPs still,Extend service-wide,2099-12-31
RS,2010,risk_analysis,0,None,Create a unit,2011-12-31
RS,2015,risk_analysis,0,Still none,Create a unit,2016-12-31
RS,2020,risk_analysis,1,Unit created,Train analysts,2021-12-31
HR,2015,border_control,3,Everywhere,,
HR,2020,border_control,3,Everywhere,,
HR,2020,risk_analysis,3,Everywhere,,
XK,2020,border_control,0,Nothing,Designate a lead,2021-06-30
XK,2020,risk_analysis,2,Partial,Extend,2022-06-30
"""
TRAININGS = """country,date,topic,organiser,agencies,participants
RS,2019-03-01,risk_analysis,A,border_police;customs,20
RS,2019-05-01,risk_analysis,B,border_police,10
RS,2020-02-01,ibm_strategy,A,customs;veterinary,30
HR,2020-02-01,ibm_strategy,A,border_police,7
"""
STRATEGIES = """country,document,adopted_on,title,valid_until,status,measures_implemented_pct
RS,ibm_strategy,2012-10-18,Strategy A,2016-12-31,superseded,
RS,ibm_strategy,2017-01-10,Strategy B,,in_force,
RS,action_plan,2017-02-01,Plan B,2021-12-31,expired,80
"""
TODAY = date(2024, 1, 1)


@pytest.fixture
def loaded(geo_engine: Engine, geo_settings: Settings, tmp_path: Path) -> Engine:
    for kind, content in (("benchmarks", ASSESSMENTS), ("trainings", TRAININGS),
                          ("strategies", STRATEGIES)):
        path = tmp_path / f"{kind}.csv"
        path.write_text(content)
        report = load_file(geo_engine, geo_settings, kind, path)
        assert report.rejected == 0, kind
    return geo_engine


def test_scorecard_in_time_overall_and_spread(loaded: Engine) -> None:
    fw = bq.framework(loaded)
    assert len(fw.components) == 15 and fw.label(2) == "Partially implemented"
    assert [r.label for r in bq.rounds(loaded)] == ["2010", "2015", "2020"]
    cells = {(c.country, c.component_id): c for c in bq.scorecard(loaded, "2020")}
    rs_bc = cells[("RS", "border_control")]
    assert (rs_bc.level, rs_bc.previous, rs_bc.previous_round, rs_bc.change) == (2, 2, "2015", 0)
    assert cells[("RS", "risk_analysis")].change == 1
    assert cells[("XK", "border_control")].previous is None
    # recommendation status: open until the deadline, overdue after, met once a later round rose
    assert rs_bc.recommendation_status(TODAY) == bq.OPEN
    assert cells[("XK", "border_control")].recommendation_status(TODAY) == bq.OVERDUE
    assert cells[("HR", "border_control")].recommendation_status(TODAY) is None
    older = {(c.round, c.component_id): c for c in bq.history(loaded, "RS")}
    assert older[("2010", "border_control")].recommendation_status(TODAY) == bq.MET
    assert older[("2010", "border_control")].next_round == "2015"
    assert older[("2015", "border_control")].recommendation_status(TODAY) == bq.OVERDUE
    assert older[("2015", "risk_analysis")].recommendation_status(TODAY) == bq.MET

    overall = bq.overall(cells.values(), fw, ["RS", "HR", "XK", "AL"])
    assert (overall["RS"].mean, overall["RS"].previous_mean, overall["RS"].assessed) == (1.5, 1.0, 2)
    assert overall["HR"].previous_mean is None  # risk_analysis had no earlier round
    assert overall["AL"].mean is None and overall["AL"].total == 15
    assert fw.nearest_level(1.5) == 2 and fw.nearest_level(1.49) == 1
    spreads = {s.component_id: s for s in bq.spreads(cells.values(), fw)}
    bc = spreads["border_control"]
    assert (bc.low, bc.high, bc.lowest, bc.highest, bc.gap) == (0, 3, ("XK",), ("HR",), 3)
    assert bc.mean == round((2 + 3 + 0) / 3, 2)
    assert [s.component_id for s in bq.widest_gaps(list(spreads.values()))] == [
        "border_control", "risk_analysis"]
    assert bq.overdue_counts(cells.values(), TODAY) == {"RS": 1, "XK": 2}


def test_programme_queries(loaded: Engine) -> None:
    docs = programme.strategies(loaded, "RS")
    assert [d.title for d in docs] == ["Strategy A", "Strategy B", "Plan B"]
    assert [d.title for d in docs if d.in_force_on(date(2022, 6, 1))] == ["Strategy B"]
    topics = {(r.year, r.key): (r.trainings, r.participants)
              for r in programme.trainings_by_topic(loaded, "RS")}
    assert topics == {(2019, "risk_analysis"): (2, 30), (2020, "ibm_strategy"): (1, 30)}
    agencies = {(r.year, r.key): (r.trainings, r.participants)
                for r in programme.trainings_by_agency(loaded, "RS")}
    assert agencies == {(2019, "border_police"): (2, 30), (2019, "customs"): (1, 20),
                        (2020, "customs"): (1, 30), (2020, "veterinary"): (1, 30)}
    totals = programme.training_totals(loaded, Filters(date(2020, 1, 1), date(2020, 12, 31)),
                                       ("RS", "HR", "AL"))
    assert (totals["RS"].trainings, totals["RS"].participants) == (1, 30)
    assert totals["HR"].by_topic == {"ibm_strategy": (1, 7)} and totals["AL"].trainings == 0


def test_flow_figures_count_what_each_side_reported(loaded: Engine, geo_settings: Settings,
                                                   tmp_path: Path) -> None:
    path = tmp_path / "flows.csv"
    path.write_text("bcp_code,reporting_country,date,direction,category,count,wait_minutes_avg,"
                    "wait_minutes_max\n"
                    "RS-HR-BATROVCI,RS,2024-05-01,entry,cars,100,10,30\n"
                    "RS-HR-BATROVCI,,2024-05-02,exit,cars,300,20,50\n"
                    "RS-HR-BATROVCI,RS,2024-05-03,exit,cars,50,,\n"
                    "RS-HR-BATROVCI,RS,2024-06-03,exit,cars,999,99,99\n"
                    "RS-HR-BATROVCI,HR,2024-05-02,entry,cars,290,25,70\n")
    assert load_file(loaded, geo_settings, "flows", path).rejected == 0
    got = programme.flow_figures(loaded, Filters(date(2024, 5, 1), date(2024, 5, 31)),
                                 ("RS", "HR", "AL"))
    (cars,) = got["RS"]  # Serbia's own counts (an empty reporting_country is country_a's)
    assert (cars.category, cars.crossings, cars.wait_max) == ("cars", 450, 50.0)
    assert cars.wait_avg == pytest.approx((100 * 10 + 300 * 20) / 400)
    (cars,) = got["HR"]  # Croatia's own count of the same traffic, not Serbia's again
    assert (cars.crossings, cars.wait_avg, cars.wait_max) == (290, 25.0, 70.0)
    assert got["AL"] == []


def test_builders(loaded: Engine) -> None:
    fw = bq.framework(loaded)
    admins = bq.administrations(loaded)
    cells = bq.scorecard(loaded, "2020")
    overall = bq.overall(cells, fw, [a.iso2 for a in admins])
    fig = charts.status_map(bq.outlines(loaded), overall, fw, admins, "2020")
    legend = [t["name"] for t in fig["data"] if t["showlegend"]]
    assert legend == ["0 Not in place", "1 Initiated", "2 Partially implemented",
                      "3 Implemented and monitored", "Not assessed"]
    hover = {t["customdata"][0]: t["text"] for t in fig["data"] if t.get("customdata")}
    assert set(hover) == {a.iso2 for a in admins}
    assert "UNSCR 1244" in hover["XK"] and "mean level 1.50 (Partially implemented)" in hover["RS"]
    assert "Not assessed" in hover["AL"]

    table = panels.scorecard_table(cells, fw, admins, overall, TODAY, lambda c: f"open-{c}")
    body = table.children[1].children
    rows = {row.children[0].children.id: row for row in body}
    assert len(find_all(table, lambda n: n.__class__.__name__ == "Td")) == 8 * 16
    rs = text_of(rows["open-RS"])
    assert rs.startswith("Serbia 1.50 ▲") and "Partially implemented =" in rs and "Initiated ▲" in rs
    assert text_of(rows["open-XK"]).count("!") == 2  # two overdue recommendations
    cell = next(c for c in cells if c.country == "RS" and c.component_id == "risk_analysis")
    tip = panels.cell_tooltip(cell, fw, "Risk analysis", TODAY)
    assert "was Not in place in 2015" in tip and "Evidence: Unit created" in tip
    assert "Recommendation (deadline 2021-12-31, overdue): Train analysts" in tip

    recs = panels.recommendations_table(bq.history(loaded, "RS"), fw, TODAY)
    assert "met (level raised by 2015)" in text_of(recs) and "OVERDUE" in text_of(recs)
    regional = charts.regional_chart(bq.spreads(cells, fw), fw, admins)
    assert {t["name"] for t in regional["data"]} == {"BCP-level operations"}
    heat = charts.history_heatmap(bq.history(loaded, "RS"), fw, ["2010", "2015", "2020"], "Serbia")
    assert heat["data"][0]["x"] == ["2010", "2015", "2020"]
    assert heat["data"][0]["z"][[c.component_id for c in fw.components].index("risk_analysis")] == [
        0, 0, 1]
    timeline = charts.strategy_timeline(programme.strategies(loaded, "RS"), TODAY, "Serbia")
    assert len(timeline["data"]) == 3
    assert [t["showlegend"] for t in timeline["data"]] == [True, True, True]
    topics = charts.trainings_chart(programme.trainings_by_topic(loaded, "RS"), by="topic",
                                    country_name="Serbia")
    bars = {t["name"]: t["y"] for t in topics["data"] if t["type"] == "bar"}
    assert bars == {"risk analysis": [2, 0], "ibm strategy": [0, 1]}
    assert topics["data"][-1]["y"] == [30, 30]  # participants per year
    empty = charts.trainings_chart([], by="topic", country_name="Serbia")
    assert "No training of Serbia" in empty["layout"]["annotations"][0]["text"]


def test_benchmark_view_from_the_url() -> None:
    today = date(2025, 3, 1)
    view, bad = parse_benchmark_query({"round": "2015", "country": "rs", "from": "2025-01-01",
                                       "to": "2025-01-31"}, today=today,
                                      rounds=("2010", "2015"), countries=("RS",))
    assert bad == [] and (view.round, view.country) == ("2015", "RS")
    assert view.to_query() == "?round=2015&from=2025-01-01&to=2025-01-31&country=RS"
    view, bad = parse_benchmark_query({"round": "2031", "country": "ZZ'; drop", "to": "x"},
                                      today=today, rounds=("2010", "2015"), countries=("RS",))
    assert bad == ["to=x", "round=2031", "country=ZZ'; drop"] and (view.round, view.country) == ("2015", None)
