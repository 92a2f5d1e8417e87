"""The seasonal baseline and its anomaly flags, on synthetic daily series."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from dashboard.analysis.flows import (
    HISTORY_DAYS,
    as_frame,
    daily_counts,
    fetch_window,
    flow_table,
    method_sentence,
    seasonal_anomalies,
)

START = date(2024, 3, 4)  # a Monday
WEEKLY = np.array([0.95, 0.88, 0.88, 0.92, 1.15, 1.1, 1.2])


def _series(days: int, level: float = 4000.0, seed: int = 1, ramp: float = 0.0) -> pd.Series:
    rng = np.random.default_rng(seed)
    index = pd.date_range(START - timedelta(days=HISTORY_DAYS), periods=days, freq="D")
    trend = level * (1 + ramp * np.arange(days) / days)
    mean = trend * WEEKLY[index.dayofweek] * rng.lognormal(0, 0.03, days)
    return pd.Series(rng.poisson(mean).astype(float), index=index)


def test_a_planted_closure_is_flagged_and_ordinary_days_are_not() -> None:
    series = _series(120)
    closed = pd.Timestamp(START + timedelta(days=40))
    series[closed] *= 0.1
    found = seasonal_anomalies(series, pd.Timestamp(START), threshold=5.0)
    assert found.fitted
    frame = found.frame
    assert frame.index[0] == pd.Timestamp(START) and len(frame) == 120 - HISTORY_DAYS
    assert frame.loc[closed, "flagged"] and frame.loc[closed, "z"] < -5
    assert frame["flagged"].sum() == 1
    ordinary = frame.drop(index=closed)
    assert (ordinary["z"].abs() < 5).all()
    # the baseline follows the weekly rhythm: Sundays above Tuesdays
    assert frame["baseline"][frame.index.dayofweek == 6].mean() > (
        frame["baseline"][frame.index.dayofweek == 1].mean() * 1.2)


def test_a_spike_in_one_direction_is_flagged_a_seasonal_ramp_is_not() -> None:
    series = _series(150, ramp=1.0, seed=3)  # traffic doubles over five months
    spike = pd.Timestamp(START + timedelta(days=70))
    series[spike] *= 2.5
    frame = seasonal_anomalies(series, pd.Timestamp(START), threshold=5.0).frame
    assert list(frame.index[frame["flagged"]]) == [spike]


def test_days_not_reported_are_not_flagged_nor_zero() -> None:
    series = _series(90)
    gap = [pd.Timestamp(START + timedelta(days=d)) for d in (30, 31, 32)]
    series[gap] = np.nan
    frame = seasonal_anomalies(series, pd.Timestamp(START), threshold=5.0).frame
    assert frame.loc[gap, "count"].isna().all() and frame.loc[gap, "z"].isna().all()
    assert not frame.loc[gap, "flagged"].any() and not frame["flagged"].any()


def test_too_short_a_series_gets_no_baseline() -> None:
    series = _series(20)
    found = seasonal_anomalies(series, pd.Timestamp(START), threshold=5.0)
    assert not found.fitted and not found.frame["flagged"].any()
    assert found.frame["z"].isna().all()


def _rows(series: pd.Series, reporting: str, direction: str, category: str) -> list[dict]:
    return [{"date": d.date(), "reporting_country": reporting, "direction": direction,
             "category": category, "count": c} for d, c in series.items() if np.isfinite(c)]


def test_flow_table_one_row_per_day_direction_category_with_overlay() -> None:
    date_to = START + timedelta(days=59)
    first, last = fetch_window(START, date_to)
    assert first == START - timedelta(days=HISTORY_DAYS) and last == date_to
    now = _series(HISTORY_DAYS + 60)
    before = now.copy()
    before.index = before.index - pd.Timedelta(days=364)
    rows = (_rows(now, "RS", "entry", "cars") + _rows(now * 1.01, "RS", "exit", "cars")
            + _rows(now * 0.5, "HR", "exit", "cars"))
    table = flow_table(as_frame(rows), as_frame(_rows(before / 2, "RS", "entry", "cars")), "RS",
                       ["cars"], START, date_to, threshold=5.0)
    assert len(table) == 2 * 60
    entry = table[table["direction"] == "entry"].set_index("date")
    day = pd.Timestamp(START + timedelta(days=20))
    assert entry.loc[day, "count"] == now[day]
    assert entry.loc[day, "mean7"] == pytest.approx(now[day - pd.Timedelta(days=6):day].mean())
    assert entry.loc[day, "last_year_mean7"] == pytest.approx(entry.loc[day, "mean7"] / 2)
    exit_ = table[table["direction"] == "exit"].set_index("date")
    assert exit_["last_year_mean7"].isna().all()  # the year before: no exit rows


def test_daily_counts_keep_one_side_only() -> None:
    days = pd.date_range(START, periods=3, freq="D")
    rows = [{"date": START, "reporting_country": "RS", "direction": "exit", "category": "cars",
             "count": 10},
            {"date": START, "reporting_country": "HR", "direction": "entry", "category": "cars",
             "count": 11}]
    wide = daily_counts(as_frame(rows), "RS", "cars", days)
    assert wide["exit"].tolist()[0] == 10 and np.isnan(wide["exit"].tolist()[1])
    assert wide["entry"].isna().all()


def test_the_method_is_one_sentence_with_the_threshold() -> None:
    text = method_sentence(4.5)
    assert text.count(". ") == 0 and text.endswith(".") and " 4.5 " in text
