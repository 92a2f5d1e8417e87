"""Legend, detail panel, feed, sidebar helpers and shell (pure builders, no server)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from dash import html

from dashboard.components.controls import (
    TimeAxis,
    date_label,
    playback_frame,
    playback_range,
    subtype_options,
)
from dashboard.components.detail import detail_panel
from dashboard.components.feed import feed_items
from dashboard.components.legend import hotspot_scale, legend
from dashboard.components.shell import ALERT_ID, shell
from dashboard.ids import PageIds
from tests.dashboard.helpers import find_all, text_of

RECORD = {
    "id": 42,
    "source": "test",
    "incident_id": "RS-2024-0042",
    "occurred_at": datetime(2024, 3, 1, 14, 5, tzinfo=UTC),
    "category": "cross_border_crime",
    "subtype": "drugs",
    "persons": 3,
    "nationalities": ["AFG", "SYR"],
    "direction": "entry",
    "detection": "patrol",
    "impact": "high",
    "reporting_country": "RS",
    "sharing": "regional",
    "description": "Cannabis in a truck",
    "bcp_code": "RS-HR-BATROVCI",
    "country": "RS",
    "section_id": "HR-RS-02",
    "border_distance_m": 1234.0,
    "nearest_bcp": "RS-HR-BATROVCI",
    "nearest_bcp_m": 800.0,
    "h3_r5": 599685771850416127,
    "h3_r7": None,
    "h3_r9": None,
    "attrs": {"unit": "P-7"},
    "content_hash": "abc",
    "run_id": 3,
    "created_at": datetime(2024, 3, 1, 15, 0, tzinfo=UTC),
    "updated_at": None,
    "lon": 19.1,
    "lat": 45.05,
    "country_name": "Serbia",
    "bcp_name_a": "Batrovci",
    "bcp_name_b": "Bajakovo",
    "bcp_country_a": "RS",
    "bcp_country_b": "HR",
    "bcp_mode": "road",
    "section_pair": "HR-RS",
    "section_impact": "critical",
    "section_impact_reason": "surge",
}


def test_legend_names_every_symbol_in_words() -> None:
    text = text_of(legend("hot"))
    for words in (
        "Unauthorised border crossing",
        "Cross-border crime",
        "Crisis situation",
        "LOW impact",
        "MEDIUM impact",
        "HIGH impact",
        "CRITICAL impact",
        "Road",
        "Rail (train)",
        "Joint controls / one-stop",
        "Patrol area (pair · depth)",
        "New since the last refresh",
    ):
        assert words in text
    assert find_all(legend("hot"), lambda c: getattr(c, "id", None) == "hot")


def test_hotspot_scale_ranges() -> None:
    assert text_of(hotspot_scale([1, 3, 10], 5)) == (
        "1–2 incidents 3–9 incidents 10+ incidents H3 resolution 5 hexagons"
    )
    assert text_of(hotspot_scale([1])) == "1+ incidents"
    assert "No incidents" in text_of(hotspot_scale([]))


def test_detail_panel_shows_every_field_and_context() -> None:
    text = text_of(detail_panel(RECORD))
    for value in (
        "Incident RS-2024-0042",
        "2024-03-01 14:05 UTC",
        "drugs",
        "AFG, SYR",
        "Cannabis in a truck",
        "Serbia (RS)",
        "HR-RS-02",
        "CRITICAL",
        "surge",
        "1.2 km",
        "Batrovci (RS) – Bajakovo (HR)",
        "0.8 km",
        "85",
        "P-7",
        "45.05000, 19.10000",
        "regional",
        "abc",
    ):
        assert value in text, value
    assert "not in the warehouse, or not shared with your role" in text_of(detail_panel(None))


def test_feed_items_keep_order_and_mark_new() -> None:
    ids = PageIds("p")
    rows = [
        {
            "id": 2,
            "occurred_at": datetime(2024, 3, 2, 8, 0, tzinfo=UTC),
            "category": "crisis",
            "subtype": "flood",
            "persons": 1,
            "country": "BA",
            "section_id": "BA-HR-01",
            "incident_id": "X2",
        },
        {
            "id": 1,
            "occurred_at": datetime(2024, 3, 1, 8, 0, tzinfo=UTC),
            "category": "other",
            "subtype": None,
            "persons": None,
            "country": None,
            "section_id": None,
            "incident_id": "X1",
        },
    ]
    items = feed_items(rows, lambda pk: ids.match("item", pk), frozenset({2}))
    assert [i.id for i in items] == [{"type": "p-item", "index": 2}, {"type": "p-item", "index": 1}]
    assert [getattr(i, "data-incident") for i in items] == ["2", "1"]
    assert "is-new" in items[0].className and "NEW" in text_of(items[0])
    assert "1 person " in text_of(items[0]) + " " and "NEW" not in text_of(items[1])


def test_time_axis_and_playback() -> None:
    axis = TimeAxis(date(2024, 1, 1), 59)
    assert axis.offset(date(2023, 1, 1)) == 0 and axis.offset(date(2025, 1, 1)) == 59
    assert axis.day(31) == date(2024, 2, 1)
    assert TimeAxis.from_dict(axis.to_dict()) == axis
    assert min(axis.marks()) == 0 and len(axis.marks()) <= 4
    assert date_label(date(2024, 1, 1), date(2024, 1, 1)) == "2024-01-01 – 2024-01-01 (1 day)"

    within = playback_range([10, 40], 7, 59)
    assert within == (10, 40)
    frame, done = playback_frame([10, 40], 7, within, start=True)
    assert (frame, done) == ([10, 16], False)
    frames = [frame]
    while not done:
        frame, done = playback_frame(frame, 7, within, start=False)
        frames.append(frame)
    assert frames[-2] == [38, 40] and frames[-1] == [38, 40] and done  # stays in the chosen range
    assert all(b - a == 6 for a, b in frames[:-2])
    assert playback_range([58, 59], 7, 59) == (0, 59)  # a range within one frame: the whole axis
    assert playback_frame([58, 59], 7, (0, 59), start=True) == ([0, 6], False)
    assert playback_frame([5, 9], 1, (0, 59), start=False) == ([6, 6], False)


def test_long_axes_write_the_year_in_full() -> None:
    """"Dec 24" on the slider read like the 24th of December."""
    labels = [m["label"] for m in TimeAxis(date(2023, 1, 1), 730).marks().values()]
    assert labels[0] == "Jan 2023" and labels[-1] == "Dec 2024"
    assert all(re.fullmatch(r"[A-Z][a-z]{2} \d{4}", label) for label in labels)
    short = [m["label"] for m in TimeAxis(date(2024, 1, 1), 59).marks().values()]
    assert short[0] == "01 Jan"
    year = [m["label"] for m in TimeAxis(date(2025, 12, 7), 365).marks().values()]
    assert (year[0], year[-1]) == ("Dec 2025", "Dec 2026")


def test_subtype_options_follow_categories() -> None:
    mapping = {"crisis": ["flood"], "other": ["suspicious_vehicle", "flood"]}
    assert [o["value"] for o in subtype_options(mapping, ["crisis"])] == ["flood"]
    assert [o["value"] for o in subtype_options(mapping, [])] == ["flood", "suspicious_vehicle"]


def test_shell_has_navigation_and_a_hidden_alert() -> None:
    tree = shell([("Situation map", "/"), ("Crossing", "/crossing")])
    links = find_all(tree, lambda c: c.__class__.__name__ == "Link")
    assert [(link.children, link.href) for link in links] == [
        ("Situation map", "/"),
        ("Crossing", "/crossing"),
    ]
    (alert,) = find_all(tree, lambda c: getattr(c, "id", None) == ALERT_ID)
    assert isinstance(alert, html.Div) and alert.hidden is True
