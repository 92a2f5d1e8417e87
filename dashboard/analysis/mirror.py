"""Mirror reconciliation: what one side counted leaving against what the other side counted
entering, per day and category.

Both services at a crossing count the same vehicles and people: ``country_a``'s ``exit`` is
``country_b``'s ``entry`` and the other way round (``direction`` is seen from the reporting
country). The gap is ``entry - exit`` (the entering side's count minus the leaving side's), and
relative to the leaving side's count. A day is flagged when the relative gap reaches the
threshold (``BORDERWATCH_MIRROR_GAP_PCT``) and the absolute gap reaches the minimum
(``BORDERWATCH_MIRROR_MIN_GAP``, so that 3 buses against 2 is not a finding). A day one side did
not report is shown as such, never as a zero.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

COLUMNS = ("date", "category", "from_country", "to_country", "exit_count", "entry_count",
           "gap", "gap_pct", "flagged", "status")


@dataclass(frozen=True)
class Reconciliation:
    """The two sides of a crossing compared.

    Attributes
    ----------
    reporting
        The countries that sent rows for this crossing in the period.
    silent
        The BCP's countries that sent none (their side shares no data in the period).
    table
        One row per day, category and way across (``COLUMNS``); empty when a side is silent.
    """

    reporting: tuple[str, ...]
    silent: tuple[str, ...]
    table: pd.DataFrame

    @property
    def comparable(self) -> bool:
        return not self.silent


def reconcile(
    flows: pd.DataFrame, country_a: str, country_b: str, categories: Iterable[str],
    days: pd.DatetimeIndex, *, threshold_pct: float, min_gap: float,
) -> Reconciliation:
    """Compare the two sides' counts day by day.

    Parameters
    ----------
    flows
        Flow rows of the crossing in the period, both sides (``dashboard.analysis.flows.as_frame``).
    country_a, country_b
        The BCP's two countries.
    categories
        Categories compared (those with rows).
    days
        Every day of the period.
    threshold_pct, min_gap
        A day is flagged when ``|gap_pct| >= threshold_pct`` and ``|gap| >= min_gap``.
    """
    present = set(flows["reporting_country"].dropna().unique())
    reporting = tuple(c for c in (country_a, country_b) if c in present)
    silent = tuple(c for c in (country_a, country_b) if c not in present)
    if silent:
        return Reconciliation(reporting, silent, pd.DataFrame(columns=list(COLUMNS)))
    counts = flows.pivot_table(index="date", columns=["reporting_country", "direction",
                                                      "category"],
                               values="count", aggfunc="sum")
    parts = []
    for category in categories:
        for leaving, arriving in ((country_a, country_b), (country_b, country_a)):
            exit_count = _column(counts, (leaving, "exit", category), days)
            entry_count = _column(counts, (arriving, "entry", category), days)
            parts.append(_compare(days, category, leaving, arriving, exit_count, entry_count,
                                  threshold_pct, min_gap))
    table = (pd.concat(parts, ignore_index=True) if parts
             else pd.DataFrame(columns=list(COLUMNS)))
    return Reconciliation(reporting, silent, table)


def _column(counts: pd.DataFrame, key: tuple[str, str, str], days: pd.DatetimeIndex) -> np.ndarray:
    if key not in counts.columns:
        return np.full(len(days), np.nan)
    return counts[key].reindex(days).to_numpy(dtype=float)


def _compare(
    days: pd.DatetimeIndex, category: str, leaving: str, arriving: str, exit_count: np.ndarray,
    entry_count: np.ndarray, threshold_pct: float, min_gap: float,
) -> pd.DataFrame:
    gap = entry_count - exit_count
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(exit_count > 0, gap / exit_count * 100.0, np.nan)
    both = np.isfinite(exit_count) & np.isfinite(entry_count)
    # nothing left (exit 0) but something arrived: as far off as it gets
    relative_off = np.where(np.isfinite(pct), np.abs(pct) >= threshold_pct, gap != 0)
    flagged = both & relative_off & (np.abs(np.nan_to_num(gap)) >= min_gap)
    status = np.where(
        ~np.isfinite(exit_count) & ~np.isfinite(entry_count), "reported by neither side",
        np.where(~np.isfinite(exit_count), f"no report from {leaving}",
                 np.where(~np.isfinite(entry_count), f"no report from {arriving}",
                          np.where(flagged, "mismatch", "match"))))
    return pd.DataFrame({
        "date": days, "category": category, "from_country": leaving, "to_country": arriving,
        "exit_count": exit_count, "entry_count": entry_count, "gap": gap, "gap_pct": pct,
        "flagged": flagged, "status": status,
    })


def flagged_days(table: pd.DataFrame) -> pd.DataFrame:
    """The flagged rows, largest relative gap first."""
    if table.empty:
        return table
    out = table[table["flagged"]].copy()
    order = out["gap_pct"].abs().fillna(np.inf)
    return out.assign(_o=order).sort_values(["_o", "date"], ascending=[False, True]).drop(
        columns="_o")
