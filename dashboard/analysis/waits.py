"""Waiting times against the Green Lanes bands (Transport Community / CEFTA): under 20 minutes,
20 to 60 minutes, over 60 minutes. A day falls in the band of its average waiting time."""

from __future__ import annotations

import numpy as np
import pandas as pd

from etl.warehouse.schema import DIRECTIONS

#: (label, lower bound inclusive, upper bound exclusive) in minutes.
BANDS: tuple[tuple[str, float, float], ...] = (
    ("under 20 min", 0.0, 20.0),
    ("20-60 min", 20.0, 60.0),
    ("over 60 min", 60.0, float("inf")),
)
#: Categories that queue at a crossing (persons and rail carry no waiting times).
WAIT_CATEGORIES = ("cars", "buses", "trucks")
COLUMNS = ("date", "direction", "category", "wait_minutes_avg", "wait_minutes_max", "band")


def band_of(minutes: np.ndarray) -> np.ndarray:
    """The band label of each average waiting time (None where unknown)."""
    minutes = np.asarray(minutes, dtype=float)
    out = np.full(len(minutes), None, dtype=object)
    for label, low, high in BANDS:
        out[(minutes >= low) & (minutes < high)] = label
    return out


def wait_days(flows: pd.DataFrame, reporting: str, category: str) -> pd.DataFrame:
    """Average and maximum waiting time per day and direction for one side and category, with
    the band of the day (days without a waiting time are left out)."""
    mine = flows[(flows["reporting_country"] == reporting) & (flows["category"] == category)
                 & flows["wait_minutes_avg"].notna()]
    out = mine[["date", "direction", "category", "wait_minutes_avg", "wait_minutes_max"]].copy()
    out["band"] = band_of(out["wait_minutes_avg"].to_numpy())
    return out.sort_values(["direction", "date"], ignore_index=True)[list(COLUMNS)]


def band_shares(days: pd.DataFrame) -> pd.DataFrame:
    """Days and share of days in each band, per direction (every band listed, even empty)."""
    rows = []
    for direction in DIRECTIONS:
        mine = days[days["direction"] == direction]
        total = len(mine)
        for label, _, _ in BANDS:
            n = int((mine["band"] == label).sum())
            rows.append({"direction": direction, "band": label, "days": n,
                         "share_pct": (100.0 * n / total) if total else np.nan})
    return pd.DataFrame(rows, columns=["direction", "band", "days", "share_pct"])
