"""Mirror reconciliation of the two sides' counts."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

from dashboard.analysis.flows import as_frame
from dashboard.analysis.mirror import flagged_days, reconcile

DAYS = pd.date_range(date(2024, 5, 1), periods=4, freq="D")


def _row(day: int, reporting: str, direction: str, count: int, category: str = "cars") -> dict:
    return {"date": date(2024, 5, 1) + timedelta(days=day), "reporting_country": reporting,
            "direction": direction, "category": category, "count": count}


def test_a_planted_mismatch_is_flagged_and_a_matching_day_is_not() -> None:
    rows = [
        _row(0, "RS", "exit", 4000), _row(0, "HR", "entry", 3990),   # matches (-0.25 %)
        _row(1, "RS", "exit", 4000), _row(1, "HR", "entry", 3000),   # Croatia counts 25 % fewer
        _row(2, "RS", "exit", 40), _row(2, "HR", "entry", 44),       # 10 % but only 4 cars
        _row(3, "RS", "exit", 4000),                                 # Croatia sent nothing that day
        _row(0, "HR", "exit", 0), _row(0, "RS", "entry", 50),        # nothing left, 50 arrived
    ]
    result = reconcile(as_frame(rows), "RS", "HR", ["cars"], DAYS, threshold_pct=5.0,
                       min_gap=10)
    assert result.comparable and result.reporting == ("RS", "HR")
    t = result.table
    rs_hr = t[t["from_country"] == "RS"].set_index("date")
    assert rs_hr["status"].tolist() == ["match", "mismatch", "match", "no report from HR"]
    assert rs_hr["flagged"].tolist() == [False, True, False, False]
    day1 = rs_hr.iloc[1]
    assert (day1["exit_count"], day1["entry_count"], day1["gap"]) == (4000, 3000, -1000)
    assert day1["gap_pct"] == -25.0
    assert np.isnan(rs_hr.iloc[3]["entry_count"])  # not a zero
    hr_rs = t[t["from_country"] == "HR"].set_index("date")
    assert hr_rs.iloc[0]["status"] == "mismatch" and np.isnan(hr_rs.iloc[0]["gap_pct"])
    assert hr_rs.iloc[1]["status"] == "reported by neither side"
    flagged = flagged_days(t)
    assert list(zip(flagged["from_country"], flagged["date"].dt.day, strict=True)) == [
        ("HR", 1), ("RS", 2)]


def test_a_side_that_shares_no_data_is_named_not_zero() -> None:
    rows = [_row(0, "TR", "exit", 500), _row(0, "TR", "entry", 450)]
    result = reconcile(as_frame(rows), "TR", "SY", ["cars"], DAYS, threshold_pct=5.0, min_gap=10)
    assert not result.comparable
    assert result.silent == ("SY",) and result.reporting == ("TR",) and result.table.empty
