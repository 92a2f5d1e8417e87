"""Emerging hotspots: space-time Gi*, a Mann-Kendall trend per cell, and the categories of
ArcGIS's Emerging Hot Spot Analysis.

Space-time Gi*
--------------
The counts form a cube: study cells x time steps. The neighbourhood of bin (cell i, step t) is
every study cell within ``k`` rings of i (i included) at step t and at the ``lag`` steps before
it (fewer at the start of the period). Each bin's neighbourhood sum is compared with the mean
and spread of the *whole cube* (all cells, all steps), as in ArcGIS; p-values are two-sided and
Benjamini-Hochberg corrected over every bin of the cube. A bin is a significant **hot** bin when
its ``q`` is at most ``alpha`` and z > 0, **cold** when z < 0.

Trend
-----
The Mann-Kendall test (``pymannkendall.original_test``) on a cell's series of space-time z-scores
says whether the intensity of clustering rises or falls significantly (at ``trend_alpha``). It is
run only for the cells whose category depends on it (hot or cold in at least 90 % of the steps,
including the last).

Categories (rules, checked in this order; T steps, "hot share" = hot bins / T)
--------------------------------------------------------------------------------
The side is chosen by the **last step** first: a cell whose last bin is hot can only get a hot
category, one whose last bin is cold a cold category, and only a cell whose last bin is neither
can be *historical*.

Last bin hot:

1. hot share >= 90 % and trend significantly increasing: ``intensifying_hot_spot``;
2. hot share >= 90 % and trend significantly decreasing: ``diminishing_hot_spot``;
3. hot share >= 90 % otherwise (no significant trend): ``persistent_hot_spot``;
4. the last bin is the only hot bin: ``new_hot_spot``;
5. the hot bins are one uninterrupted run of at least two bins ending at the last step (never hot
   before the run): ``consecutive_hot_spot``;
6. some earlier bin was a significant cold bin: ``oscillating_hot_spot``;
7. otherwise (hot on and off, never cold): ``sporadic_hot_spot``.

Last bin neither hot nor cold: hot share >= 90 %: ``historical_hot_spot``; cold share >= 90 %:
``historical_cold_spot``; otherwise ``no_pattern``.

Last bin cold: the same seven rules with hot and cold swapped and the trend reversed
(``intensifying_cold_spot`` when the z-scores fall significantly, ``diminishing_cold_spot`` when
they rise), giving ``*_cold_spot``.

These follow ESRI's definitions ("How Emerging Hot Spot Analysis works", ArcGIS Pro); where
two of those definitions overlap (a cell cold earlier and hot for the first time now is both
*new* and *oscillating*), the order above decides: new and consecutive describe the hot history,
which comes first. ESRI's *persistent* does not mention the last step; here a cell whose last
bin is not hot is *historical*, as ESRI defines that one, so the two never overlap. ESRI
recommends at least ten time steps; fewer still give categories, with less power.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from etl.analytics.hotspots.gistar import fdr_bh, p_two_sided, significant, z_from_sums

NO_PATTERN = "no_pattern"
_KINDS = ("new", "consecutive", "intensifying", "persistent", "diminishing", "sporadic",
          "oscillating", "historical")
#: Every category, hot ones first, then cold ones, then no_pattern.
PATTERNS = (*(f"{k}_hot_spot" for k in _KINDS), *(f"{k}_cold_spot" for k in _KINDS), NO_PATTERN)
#: Share of steps that makes a cell persistently hot (or cold).
MOSTLY = 0.9


@dataclass(frozen=True)
class SpaceTime:
    """Space-time Gi* of a cube: z, two-sided p and FDR q per bin (cells x steps)."""

    z: np.ndarray
    p: np.ndarray
    q: np.ndarray


def space_time_gi(cube: np.ndarray, w: sparse.csr_matrix, lag: int = 1) -> SpaceTime:
    """Space-time Gi* of ``cube`` (cells x steps) with spatial weights ``w`` and ``lag`` steps
    back in time (0: each step on its own, against the whole cube's mean)."""
    cube = np.asarray(cube, dtype=np.float64)
    cells, steps = cube.shape
    spatial = np.asarray(w @ cube) if cells else np.zeros((0, steps))
    card = np.asarray(w.sum(axis=1)).ravel()
    local = spatial.copy()
    weight = np.repeat(card[:, None], steps, axis=1)
    for back in range(1, lag + 1):
        if back >= steps:
            break
        local[:, back:] += spatial[:, :-back]
        weight[:, back:] += card[:, None]
    total = float(cube.size)
    mean = float(cube.mean()) if cube.size else 0.0
    std = float(np.sqrt(max((cube * cube).mean() - mean * mean, 0.0))) if cube.size else 0.0
    z = z_from_sums(local.ravel(), weight.ravel(), total, mean, std).reshape(cells, steps)
    p = p_two_sided(z)
    return SpaceTime(z=z, p=p, q=fdr_bh(p.ravel()).reshape(cells, steps))


def trend(series: np.ndarray, alpha: float) -> int:
    """+1 / -1 when the Mann-Kendall test finds a significant rise / fall at ``alpha``, else 0."""
    values = np.asarray(series, dtype=np.float64)
    if len(values) < 3 or np.all(values == values[0]):
        return 0
    import pymannkendall  # here, not at the top: it imports scipy.stats (~1 s for every CLI run)

    result = pymannkendall.original_test(values, alpha=alpha)
    if not result.h:
        return 0
    return 1 if result.trend == "increasing" else -1


def category(hot: np.ndarray, cold: np.ndarray, rising: int) -> str:
    """The category of one cell from its hot and cold bins (oldest first) and its trend
    (+1 significantly rising z-scores, -1 falling, 0 none). See the module's rules."""
    hot = np.asarray(hot, dtype=bool)
    cold = np.asarray(cold, dtype=bool)
    if not len(hot):
        return NO_PATTERN
    if hot[-1]:
        return _side(hot, cold, rising, "hot")
    if cold[-1]:
        return _side(cold, hot, -rising, "cold")
    if hot.mean() >= MOSTLY:
        return "historical_hot_spot"
    if cold.mean() >= MOSTLY:
        return "historical_cold_spot"
    return NO_PATTERN


def _side(mine: np.ndarray, other: np.ndarray, stronger: int, side: str) -> str:
    """Rules 1-7 for the side whose last bin is significant (``stronger``: +1 when clustering
    on this side intensifies)."""
    if mine.mean() >= MOSTLY:
        kind = {1: "intensifying", -1: "diminishing"}.get(stronger, "persistent")
    elif mine.sum() == 1:
        kind = "new"
    elif _final_run(mine) == mine.sum():
        kind = "consecutive"
    elif other.any():
        kind = "oscillating"
    else:
        kind = "sporadic"
    return f"{kind}_{side}_spot"


def _final_run(flags: np.ndarray) -> int:
    """Length of the run of True at the end of ``flags``."""
    false = np.flatnonzero(~flags)
    return len(flags) - (int(false[-1]) + 1 if len(false) else 0)


def needs_trend(hot: np.ndarray, cold: np.ndarray) -> np.ndarray:
    """Cells (rows) whose category depends on the trend: last bin hot (cold) and at least 90 %
    of the bins hot (cold)."""
    if hot.shape[1] == 0:
        return np.zeros(hot.shape[0], dtype=bool)
    return ((hot[:, -1] & (hot.mean(axis=1) >= MOSTLY))
            | (cold[:, -1] & (cold.mean(axis=1) >= MOSTLY)))


def patterns(st: SpaceTime, alpha: float, trend_alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """The category of every cell of a space-time result, and its trend (+1, -1, 0; 0 where the
    trend was not needed)."""
    hot, cold = significant(st.z, st.q, alpha)
    trends = np.zeros(st.z.shape[0], dtype=np.int8)
    for i in np.flatnonzero(needs_trend(hot, cold)):
        trends[i] = trend(st.z[i], trend_alpha)
    out = np.full(st.z.shape[0], NO_PATTERN, dtype=object)
    for i in np.flatnonzero(hot.any(axis=1) | cold.any(axis=1)):  # the rest has no pattern
        out[i] = category(hot[i], cold[i], int(trends[i]))
    return out, trends
