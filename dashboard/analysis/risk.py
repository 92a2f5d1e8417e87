"""Risk and facilitation together: detections per 10,000 crossings against the average
waiting time, for a crossing and its peers (same border pair, same mode).

A post that finds more without making people wait longer sits up and to the left.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

PER = 10_000
COLUMNS = ("code", "name", "is_this", "detections", "crossings", "per_10k", "wait_avg_min")


def risk_table(rows: Iterable[Mapping[str, Any]], this_code: str) -> pd.DataFrame:
    """Detections per ``PER`` crossings and the average wait, one row per crossing.

    Each row mapping has ``code``, ``name``, ``detections`` (incidents detected by a BCP check
    at the crossing), ``crossings`` (persons crossing, both directions, as one side counted
    them; None when no side reports) and ``wait_avg_min`` (count-weighted average wait of the
    vehicle categories; None without waiting times). The rate is None without crossings.
    """
    frame = pd.DataFrame(list(rows), columns=["code", "name", "detections", "crossings",
                                              "wait_avg_min"])
    frame["detections"] = pd.to_numeric(frame["detections"]).fillna(0).astype(int)
    crossings = pd.to_numeric(frame["crossings"], errors="coerce").astype(float)
    frame["crossings"] = crossings
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["per_10k"] = np.where(crossings > 0, frame["detections"] / crossings * PER, np.nan)
    frame["wait_avg_min"] = pd.to_numeric(frame["wait_avg_min"], errors="coerce").astype(float)
    frame["is_this"] = frame["code"] == this_code
    frame = frame.sort_values(["is_this", "code"], ascending=[False, True], ignore_index=True)
    return frame[list(COLUMNS)]
