"""Builders of the crossing page: search, header, tables and charts, without a server."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pandas as pd

from dashboard.components import charts
from dashboard.components.crossing import (
    bcp_path,
    data_table,
    fold,
    header_panel,
    search_options,
)
from tests.dashboard.helpers import find_all, text_of

HEAD = {
    "code": "RS-HU-HORGOS", "name_a": "Horgoš", "name_b": "Röszke", "country_a": "RS",
    "country_b": "HU", "country_a_name": "Serbia", "country_b_name": "Hungary", "mode": "road",
    "e_road": "E75", "joint_control": True, "one_stop": False, "coord_confidence": "approximate",
    "lon": 19.979, "lat": 46.176, "pair_id": "HU-RS",
    "section": {"section_id": "HU-RS-02", "impact_level": "high", "impact_reason": "pressure",
                "distance_m": 412.0},
    "patrol_areas": [{"agreement_id": "HU-RS-2011", "country_a": "HU", "country_b": "RS",
                      "depth_km": 5.0, "status": "illustrative"}],
    "peers": [{"code": "RS-HU-KELEBIJA", "name_a": "Kelebija", "name_b": "Tompa"}],
    "flow_sides": [{"reporting_country": "RS", "first": date(2024, 1, 1),
                    "last": date(2025, 12, 31), "rows": 10}],
}


def test_fold_drops_accents_and_case() -> None:
    assert fold("Horgoš") == "horgos"
    assert fold("İpsala Kapıkule") == "ipsala kapikule"
    assert fold("Đeneral Janković") == "deneral jankovic"


def test_search_options_find_by_either_name_code_or_road_without_accents() -> None:
    options = search_options([HEAD, {**HEAD, "code": "TR-BG-KAPIKULE", "name_a": "Kapıkule",
                                     "name_b": "Kapitan Andreevo", "e_road": None}])
    horgos = next(o for o in options if o["value"] == "RS-HU-HORGOS")
    assert horgos["label"] == "Horgoš – Röszke (RS–HU, E75)"
    for word in ("horgos", "Horgoš", "roszke", "E75", "RS-HU-HORGOS"):
        assert word in horgos["search"]
    assert [o["value"] for o in options] == ["RS-HU-HORGOS", "TR-BG-KAPIKULE"]
    assert bcp_path("RS-HU-HORGOS", "?from=2024-01-01") == "/bcp/RS-HU-HORGOS?from=2024-01-01"


def test_header_panel_says_everything_the_issue_lists() -> None:
    panel = header_panel(HEAD, "/?lat=46.17600", lambda c: f"/bcp/{c}")
    text = text_of(panel)
    for expected in ("Horgoš", "Röszke", "Serbia (RS) – Hungary (HU)", "Road · E75",
                     "joint controls", "46.17600 N, 19.97900 E", "confidence: approximate",
                     "HU-RS-02", "High", "pressure", "HU-RS-2011", "Kelebija – Tompa",
                     "Serbia: 01 Jan 2024 – 31 Dec 2025", "Hungary: shares no data"):
        assert expected in text, expected
    links = [c.href for c in find_all(panel, lambda c: hasattr(c, "href"))]
    assert "/bcp/RS-HU-KELEBIJA" in links and "/?lat=46.17600" in links


def test_data_table_formats_and_counts_what_it_hides() -> None:
    frame = pd.DataFrame({"n": np.arange(60, dtype=float), "pct": [-12.345] * 60})
    frame.loc[0, "n"] = np.nan
    table = data_table(frame, [("n", "Count", "int"), ("pct", "Gap", "pct")], empty="none")
    cells = [text_of(td) for td in find_all(table, lambda c: type(c).__name__ == "Td")]
    assert cells[:4] == ["—", "-12.3 %", "1", "-12.3 %"]
    assert "Showing 50 of 60 rows" in text_of(table)
    assert text_of(data_table(frame.iloc[:0], [("n", "Count", "int")], empty="Nothing.")) == "Nothing."


def test_data_table_writes_each_number_kind() -> None:
    frame = pd.DataFrame({"v": [12345.678, -3.25]})
    kinds = {"int": ["12,346", "-3"], "pct": ["+12345.7 %", "-3.2 %"], "share": ["12346 %", "-3 %"],
             "num": ["12,345.7", "-3.2"], "rate": ["12,345.68", "-3.25"], "z": ["+12345.7", "-3.2"]}
    for kind, expected in kinds.items():
        table = data_table(frame, [("v", "Value", kind)], empty="none")
        cells = [text_of(td) for td in find_all(table, lambda c: type(c).__name__ == "Td")]
        assert cells == expected, kind

def _flow_table() -> pd.DataFrame:
    days = pd.date_range("2024-05-01", periods=10, freq="D")
    rows = []
    for d in ("entry", "exit"):
        for i, day in enumerate(days):
            rows.append({"date": day, "direction": d, "category": "cars", "count": 100.0 + i,
                         "mean7": 100.0, "last_year_mean7": 90.0, "baseline": 101.0,
                         "z": 6.0 if i == 3 else 0.1, "flagged": i == 3})
    return pd.DataFrame(rows)


def test_flows_figure_draws_both_directions_and_the_flags() -> None:
    fig = charts.flows_figure(_flow_table(), "cars", {"entry": "Entering Serbia",
                                                       "exit": "Leaving Serbia"})
    names = [t["name"] for t in fig["data"]]
    assert names.count("anomaly (robust z)") == 2 and len(fig["data"]) == 10
    flags = [t for t in fig["data"] if t["name"] == "anomaly (robust z)"]
    assert [(t["x"], t["yaxis"]) for t in flags] == [(["2024-05-04"], "y"), (["2024-05-04"], "y2")]
    assert {a["text"] for a in fig["layout"]["annotations"]} == {"Entering Serbia",
                                                                 "Leaving Serbia"}
    json.dumps(fig)  # plain JSON, what dcc.Graph sends
    empty = charts.flows_figure(_flow_table(), "buses", {})
    assert "No buses counts" in empty["layout"]["annotations"][0]["text"]


def test_waits_figure_shades_the_green_lanes_bands() -> None:
    days = _flow_table().assign(wait_minutes_avg=25.0, wait_minutes_max=np.nan, band="20-60 min")
    fig = charts.waits_figure(days, {})
    bands = [(s["yref"], s["y0"]) for s in fig["layout"]["shapes"]]
    assert bands == [("y", 0.0), ("y", 20.0), ("y", 60.0), ("y2", 0.0), ("y2", 20.0), ("y2", 60.0)]
    assert [t["name"] for t in fig["data"]][:2] == ["average wait", "maximum wait"]
    assert fig["data"][1]["y"][0] is None  # no maximum reported: a gap, not a zero
    json.dumps(fig)


def test_risk_figure_highlights_this_crossing() -> None:
    table = pd.DataFrame({"code": ["A", "B", "C"], "name": ["This", "Peer", "Silent"],
                          "is_this": [True, False, False], "detections": [3, 1, 0],
                          "crossings": [1e4, 2e4, np.nan], "per_10k": [3.0, 0.5, np.nan],
                          "wait_avg_min": [20.0, 35.0, np.nan]})
    fig = charts.risk_figure(table)
    assert [(t["name"], t["text"]) for t in fig["data"]] == [("peers", ["Peer"]),
                                                             ("this crossing", ["This"])]
    json.dumps(fig)
