"""Emerging hotspot categories: one hand-made series per category, the trend test, and a
planted space-time cluster found end to end."""

from __future__ import annotations

import numpy as np
import pytest
from h3.api import basic_int as h3int

from etl.analytics.hotspots import cells as H
from etl.analytics.hotspots.emerging import (
    PATTERNS,
    category,
    patterns,
    space_time_gi,
    trend,
)

_ = False
X = True  # a significant bin


def _flags(text: str) -> np.ndarray:
    """'..HH.C' -> hot flags (H) and cold flags (C), oldest first."""
    return np.array([c == "H" for c in text]), np.array([c == "C" for c in text])


def _cat(text: str, rising: int = 0) -> str:
    hot, cold = _flags(text)
    return category(hot, cold, rising)


# ---- hot side --------------------------------------------------------------------------------

def test_new_hot_spot_only_the_last_step() -> None:
    assert _cat("..........H") == "new_hot_spot"


def test_new_hot_spot_wins_over_oscillating_when_first_hot_now() -> None:
    assert _cat("..C.......H") == "new_hot_spot"


def test_consecutive_hot_spot_one_final_run_of_two_or_more() -> None:
    assert _cat(".......HHHH") == "consecutive_hot_spot"
    assert _cat(".........HH") == "consecutive_hot_spot"


def test_intensifying_hot_spot_mostly_hot_and_rising() -> None:
    assert _cat("HHHHHHHHHH.HHHHHHHHH", rising=1) == "intensifying_hot_spot"


def test_persistent_hot_spot_mostly_hot_without_trend() -> None:
    assert _cat("HHHHHHHHHH.HHHHHHHHH", rising=0) == "persistent_hot_spot"


def test_diminishing_hot_spot_mostly_hot_and_falling() -> None:
    assert _cat("HHHHHHHHHHHHHHHHHHH.H", rising=-1) == "diminishing_hot_spot"


def test_sporadic_hot_spot_on_and_off_never_cold() -> None:
    assert _cat("..H...HH....H..H") == "sporadic_hot_spot"


def test_oscillating_hot_spot_hot_now_cold_before() -> None:
    assert _cat("..H..CC...H..H") == "oscillating_hot_spot"


def test_historical_hot_spot_mostly_hot_but_not_now() -> None:
    assert _cat("HHHHHHHHHHHHHHHHHHH.") == "historical_hot_spot"


# ---- cold side -------------------------------------------------------------------------------

def test_new_cold_spot() -> None:
    assert _cat("..........C") == "new_cold_spot"


def test_consecutive_cold_spot() -> None:
    assert _cat("....H...CCC") == "consecutive_cold_spot"


def test_intensifying_cold_spot_z_falling() -> None:
    assert _cat("CCCCCCCCCCCCCCCCCCCC", rising=-1) == "intensifying_cold_spot"


def test_persistent_cold_spot() -> None:
    assert _cat("CCCCCCCCCCCCCCCCCCCC", rising=0) == "persistent_cold_spot"


def test_diminishing_cold_spot_z_rising() -> None:
    assert _cat("CCCCCCCCCCCCCCCCCCCC", rising=1) == "diminishing_cold_spot"


def test_sporadic_cold_spot() -> None:
    assert _cat(".C...C..C.C") == "sporadic_cold_spot"


def test_oscillating_cold_spot() -> None:
    assert _cat(".C..H....C.C") == "oscillating_cold_spot"


def test_historical_cold_spot() -> None:
    assert _cat("CCCCCCCCCCCCCCCCCCC.") == "historical_cold_spot"


# ---- no pattern ------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["", "...........", "..H..H.....", "CC.........", "HHHHHHHH..."])
def test_no_pattern(text: str) -> None:
    assert _cat(text) == "no_pattern"


def test_every_category_is_reachable_and_named() -> None:
    seen = {_cat(t, r) for t, r in [
        ("..........H", 0), (".........HH", 0), ("H" * 20, 1), ("H" * 20, 0), ("H" * 20, -1),
        ("..H...H..H", 0), ("..C...H..H", 0), ("H" * 19 + ".", 0),
        ("..........C", 0), (".........CC", 0), ("C" * 20, -1), ("C" * 20, 0), ("C" * 20, 1),
        ("..C...C..C", 0), ("..H...C..C", 0), ("C" * 19 + ".", 0), ("....", 0),
    ]}
    assert seen == set(PATTERNS)


# ---- the trend test ------------------------------------------------------------------------------

def test_mann_kendall_trend_of_z_series() -> None:
    rng = np.random.default_rng(5)
    steps = np.arange(40, dtype=float)
    assert trend(2.0 + 0.1 * steps + rng.normal(0, 0.3, 40), 0.05) == 1
    assert trend(6.0 - 0.1 * steps + rng.normal(0, 0.3, 40), 0.05) == -1
    assert trend(3.0 + rng.normal(0, 0.3, 40), 0.05) == 0
    assert trend(np.full(40, 3.0), 0.05) == 0


# ---- end to end on a cube -------------------------------------------------------------------------

def test_a_cluster_appearing_in_the_last_steps_is_new_or_consecutive() -> None:
    centre = h3int.latlng_to_cell(45.05, 19.10, 6)
    cells = np.sort(np.array(list(h3int.grid_disk(centre, 8)), dtype=np.uint64).view(np.int64))
    rng = np.random.default_rng(11)
    steps = 30
    cube = rng.poisson(0.5, (len(cells), steps)).astype(float)
    ring = H.index_of(cells, np.array(list(h3int.grid_disk(centre, 1)), dtype=np.uint64)
                      .view(np.int64))
    cube[ring, -1] += 12  # appears in the last week
    far = h3int.grid_ring(centre, 6)[0]  # a cell six rings away
    far_idx = H.index_of(cells, np.array([far], dtype=np.uint64).view(np.int64))
    cube[far_idx, -3:] += 14  # three weeks running at another place
    st = space_time_gi(cube, H.neighbours(cells, 1), lag=1)
    kinds, _ = patterns(st, alpha=0.05, trend_alpha=0.05)
    assert kinds[int(np.flatnonzero(cells == centre)[0])] == "new_hot_spot"
    assert kinds[int(far_idx[0])] == "consecutive_hot_spot"
    quiet = kinds[np.setdiff1d(np.arange(len(cells)), np.r_[ring, far_idx])]
    assert (quiet == "no_pattern").mean() > 0.9
