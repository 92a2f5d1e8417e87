"""Daily flow series of one crossing side: 7-day means, year-over-year, seasonal baseline and
anomaly flags.

The baseline is a robust STL decomposition (statsmodels; weekly season smoothed over
``SEASON_WEEKS`` weeks, ``TREND_DAYS``-day trend)
of ``log(1 + count)``; a day's robust z-score is its residual divided by the robust standard
deviation of all residuals of the series (1.4826 × their median absolute deviation, at least
``MIN_SPREAD``); a day is flagged when ``|z|`` reaches the threshold (the setting
``BORDERWATCH_ANOMALY_Z``). Logarithms make the spread comparable between quiet winter days and
summer peaks, and between a small crossing and Kapıkule.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
from statsmodels.robust.scale import mad
from statsmodels.tsa.seasonal import STL

from etl.warehouse.schema import DIRECTIONS

#: Days before the period fitted with it, so the baseline of its first days has history.
HISTORY_DAYS = 28
#: Length of STL's trend smoother (days, odd): short enough to follow the summer rush and the
#: holidays' ramps, long enough that a closure of a few days stands out.
TREND_DAYS = 23
#: Length of STL's seasonal smoother (weeks, odd): the weekday profile may drift over about a
#: quarter. STL's default (7) lets it follow the noise, so the residuals' spread came out at
#: 0.63 of the true noise and ordinary days crossed the threshold (0.8 % of days at |z| >= 5
#: on pure noise); with 13 the spread is 0.8 of it and such days are 1 in 3,000.
SEASON_WEEKS = 13
#: Fewest days (period and history) for a baseline: three weeks.
MIN_DAYS = 21
#: Floor of the robust spread on the log scale (2 %): a very regular series does not flag
#: every small wobble.
MIN_SPREAD = 0.02
#: Outer (robustness) iterations of STL; 5 reach the same flags as the default 15 in a third
#: of the time.
STL_OUTER_ITER = 5
#: Days back for the year-over-year overlay: 52 weeks, so weekdays line up.
YOY_DAYS = 364

METHOD = (
    "Baseline: a robust seasonal-trend decomposition (STL: weekday profile smoothed over "
    "{weeks} weeks, {trend}-day trend) "
    "of log(1 + daily count) over the period and the {history} days before it; a day is "
    "flagged when it lies {z:g} or more robust standard deviations (1.4826 × median absolute "
    "deviation of all days' distances from the baseline) above or below it."
)


def method_sentence(threshold: float) -> str:
    """The method in one sentence, as the page shows it."""
    return METHOD.format(weeks=SEASON_WEEKS, trend=TREND_DAYS, history=HISTORY_DAYS, z=threshold)


def fetch_window(date_from: date, date_to: date) -> tuple[date, date]:
    """First and last day of flows the analysis of ``date_from .. date_to`` needs (history for
    the baseline; the year before for the overlay is fetched separately)."""
    return date_from - timedelta(days=HISTORY_DAYS), date_to


@dataclass(frozen=True)
class Anomalies:
    """The baseline of one daily series and its flags (indexed by day, the period only)."""

    frame: pd.DataFrame  # count, baseline, z, flagged
    fitted: bool  # False: too few days for a baseline (then z is NaN, nothing flagged)


FLOW_COLUMNS = ("date", "reporting_country", "direction", "category", "count",
                "wait_minutes_avg", "wait_minutes_max")


def as_frame(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Flow rows (mappings with ``FLOW_COLUMNS``) as a DataFrame, ``date`` as datetime64."""
    frame = pd.DataFrame([{c: r.get(c) for c in FLOW_COLUMNS} for r in rows],
                         columns=list(FLOW_COLUMNS))
    frame["date"] = pd.to_datetime(frame["date"])
    for col in ("count", "wait_minutes_avg", "wait_minutes_max"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype(float)
    return frame


def daily_counts(
    flows: pd.DataFrame, reporting: str, category: str, days: pd.DatetimeIndex
) -> pd.DataFrame:
    """Counts per day (``days``) and direction for one reporting side and category; NaN on days
    without a row (not reported, never zero)."""
    mine = flows[(flows["reporting_country"] == reporting) & (flows["category"] == category)]
    out = pd.DataFrame(index=days, columns=list(DIRECTIONS), dtype=float)
    out.index.name = "date"
    for direction in DIRECTIONS:
        one = mine[mine["direction"] == direction]
        out[direction] = one.groupby("date")["count"].sum().reindex(days).astype(float)
    return out


def rolling_mean(series: pd.Series, window: int = 7) -> pd.Series:
    """Trailing ``window``-day mean (needs at least 4 reported days in the window)."""
    return series.rolling(window, min_periods=min(window, 4)).mean()


def seasonal_anomalies(series: pd.Series, start: pd.Timestamp, threshold: float) -> Anomalies:
    """Baseline, robust z-score and flags of a daily series from ``start`` on.

    Parameters
    ----------
    series
        Daily counts on a complete daily index, NaN where a day was not reported; the days
        before ``start`` are history (``HISTORY_DAYS``) for the fit.
    start
        First day of the period shown.
    threshold
        A day is flagged when ``|z| >= threshold``.
    """
    period = series.index >= start
    out = pd.DataFrame({"count": series[period]})
    known = series.notna()
    if known.sum() < MIN_DAYS or known[period].sum() == 0:
        out["baseline"], out["z"], out["flagged"] = np.nan, np.nan, False
        return Anomalies(out, fitted=False)
    logs = np.log1p(series.clip(lower=0)).interpolate(limit_direction="both")
    fit = STL(logs.to_numpy(), period=7, seasonal=SEASON_WEEKS, trend=TREND_DAYS, robust=True).fit(
        outer_iter=STL_OUTER_ITER)
    base = np.asarray(fit.trend) + np.asarray(fit.seasonal)
    resid = np.where(known, logs.to_numpy() - base, np.nan)
    spread = max(float(mad(resid[np.isfinite(resid)])), MIN_SPREAD)
    z = resid / spread
    out["baseline"] = np.expm1(base[period])
    out["z"] = z[period]
    out["flagged"] = np.abs(np.nan_to_num(z[period], nan=0.0)) >= threshold
    return Anomalies(out, fitted=True)


def flow_table(
    flows: pd.DataFrame, last_year: pd.DataFrame, reporting: str, categories: Iterable[str],
    date_from: date, date_to: date, threshold: float,
) -> pd.DataFrame:
    """One row per day, direction and category of the period for one reporting side: count,
    7-day mean, the 7-day mean 52 weeks earlier, baseline, z and flag.

    ``flows`` (see :func:`as_frame`) covers ``fetch_window(date_from, date_to)``;
    ``last_year`` the same window ``YOY_DAYS`` earlier. This is what the flows chart shows and
    what its CSV holds.
    """
    first, _ = fetch_window(date_from, date_to)
    days = pd.date_range(first, date_to, freq="D")
    prev_days = days - pd.Timedelta(days=YOY_DAYS)
    start = pd.Timestamp(date_from)
    parts = []
    for category in categories:
        counts = daily_counts(flows, reporting, category, days)
        previous = daily_counts(last_year, reporting, category, prev_days)
        previous.index = days
        for direction in DIRECTIONS:
            found = seasonal_anomalies(counts[direction], start, threshold)
            frame = found.frame
            frame["mean7"] = rolling_mean(counts[direction])[frame.index]
            frame["last_year_mean7"] = rolling_mean(previous[direction])[frame.index]
            frame["direction"], frame["category"] = direction, category
            parts.append(frame.reset_index())
    if not parts:
        return pd.DataFrame(columns=list(TABLE_COLUMNS))
    table = pd.concat(parts, ignore_index=True)[list(TABLE_COLUMNS)]
    return table.sort_values(["category", "direction", "date"], ignore_index=True)


TABLE_COLUMNS = ("date", "direction", "category", "count", "mean7", "last_year_mean7",
                 "baseline", "z", "flagged")
