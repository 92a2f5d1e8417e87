"""Green Lanes bands of waiting times; detections per 10,000 crossings."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from dashboard.analysis.flows import as_frame
from dashboard.analysis.risk import risk_table
from dashboard.analysis.waits import band_of, band_shares, wait_days


def test_bands_edges_follow_green_lanes() -> None:
    assert band_of(np.array([0, 19.9, 20, 59.9, 60, 600, np.nan])).tolist() == [
        "under 20 min", "under 20 min", "20-60 min", "20-60 min", "over 60 min", "over 60 min",
        None]


def test_wait_days_and_the_share_of_days_in_each_band() -> None:
    rows = []
    for i, (entry, exit_) in enumerate([(10, 70), (25, 80), (65, 15), (5, None)]):
        day = date(2024, 5, 1) + timedelta(days=i)
        rows.append({"date": day, "reporting_country": "RS", "direction": "entry",
                     "category": "trucks", "count": 100, "wait_minutes_avg": entry,
                     "wait_minutes_max": entry * 2})
        rows.append({"date": day, "reporting_country": "RS", "direction": "exit",
                     "category": "trucks", "count": 100, "wait_minutes_avg": exit_,
                     "wait_minutes_max": None})
        rows.append({"date": day, "reporting_country": "HU", "direction": "entry",
                     "category": "trucks", "count": 100, "wait_minutes_avg": 500,
                     "wait_minutes_max": 600})
    days = wait_days(as_frame(rows), "RS", "trucks")
    assert len(days) == 7  # the exit day without a waiting time is left out
    shares = band_shares(days).set_index(["direction", "band"])
    assert shares.loc[("entry", "under 20 min"), "days"] == 2
    assert shares.loc[("entry", "under 20 min"), "share_pct"] == 50.0
    assert shares.loc[("exit", "over 60 min"), "share_pct"] == 200 / 3
    assert shares.loc[("exit", "20-60 min"), "days"] == 0


def test_risk_table_rates_per_10000_crossings() -> None:
    table = risk_table([
        {"code": "B", "name": "Peer", "detections": 3, "crossings": 60_000, "wait_avg_min": 30},
        {"code": "A", "name": "This", "detections": 12, "crossings": 40_000, "wait_avg_min": 25.5},
        {"code": "C", "name": "Silent", "detections": 2, "crossings": None, "wait_avg_min": None},
    ], "A")
    assert table["code"].tolist() == ["A", "B", "C"] and table["is_this"].tolist()[0]
    assert table["per_10k"].tolist()[:2] == pytest.approx([3.0, 0.5]) and np.isnan(table["per_10k"][2])
