"""One hotspot analysis, from counts to classes and patterns (pure: arrays in, arrays out).

Time steps are ``step_days`` long (7: weeks) and aligned on Mondays (``ROLLUP_EPOCH``); a
period is cut to the whole steps inside it, so a week still running never looks like a drop.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from etl.analytics.hotspots import cells as H
from etl.analytics.hotspots.emerging import SpaceTime, patterns, space_time_gi
from etl.analytics.hotspots.gistar import classify, fdr_bh, gi_star, p_two_sided
from etl.warehouse.schema import ROLLUP_EPOCH

#: Steps aligned on this Monday.
EPOCH = ROLLUP_EPOCH


@dataclass(frozen=True)
class Params:
    """The knobs of an analysis (their defaults and documentation are the settings
    ``hotspot_*``)."""

    resolution: int = 6
    k: int = 1
    lag: int = 1
    alpha: float = 0.05
    trend_alpha: float = 0.05


@dataclass(frozen=True)
class Steps:
    """``count`` consecutive time steps of ``days`` days, the first starting on ``first``."""

    first: dt.date
    count: int
    days: int = 7

    @classmethod
    def within(cls, date_from: dt.date, date_to: dt.date, days: int = 7) -> Steps:
        """The whole steps inside ``date_from .. date_to`` (inclusive); ``count`` may be 0."""
        offset = (date_from - EPOCH).days % days
        first = date_from + dt.timedelta(days=(days - offset) % days)
        count = max(0, ((date_to - first).days + 1) // days)
        return cls(first=first, count=count, days=days)

    @property
    def end(self) -> dt.date:
        """The first day after the last step."""
        return self.first + dt.timedelta(days=self.count * self.days)

    @property
    def last_day(self) -> dt.date:
        return self.end - dt.timedelta(days=1)

    def start_of(self, index: int) -> dt.date:
        return self.first + dt.timedelta(days=index * self.days)


@dataclass(frozen=True)
class Result:
    """Per study cell (sorted int64 ids): incidents over the period, Gi* z, p, q, class, and the
    emerging pattern with its trend (+1 rising, -1 falling, 0 none or not needed).

    ``space_time`` keeps the cube's z, p and q (cells x steps) for reports and tests.
    """

    cells: np.ndarray
    n: np.ndarray
    z: np.ndarray
    p: np.ndarray
    q: np.ndarray
    classes: np.ndarray
    patterns: np.ndarray
    trends: np.ndarray
    space_time: SpaceTime

    @property
    def significant(self) -> int:
        """Cells hot or cold at 90 % or more."""
        return int((self.classes != "not_significant").sum())


def cube_from_counts(study: np.ndarray, cell: np.ndarray, step: np.ndarray, count: np.ndarray,
                     steps: int) -> tuple[np.ndarray, int]:
    """The cube (study cells x steps) of counts given as rows (cell, step index, count); rows of
    cells outside the study area or steps outside ``0..steps-1`` are left out and their counts
    returned as the second value."""
    cube = np.zeros((len(study), steps), dtype=np.float64)
    pos = H.index_of(study, np.asarray(cell, dtype=np.int64))
    step = np.asarray(step, dtype=np.int64)
    count = np.asarray(count, dtype=np.float64)
    ok = (pos >= 0) & (step >= 0) & (step < steps)
    np.add.at(cube, (pos[ok], step[ok]), count[ok])
    return cube, int(count[~ok].sum())


def count_events(study: np.ndarray, cells: np.ndarray, days: np.ndarray, steps: Steps
                 ) -> tuple[np.ndarray, int]:
    """The cube of single events: ``cells`` (int64, at the study's resolution) on ``days``
    (``datetime64[D]``); events outside the study area or the steps are counted apart."""
    offset = (np.asarray(days, dtype="datetime64[D]") - np.datetime64(steps.first, "D"))
    index = np.floor_divide(offset.astype(np.int64), steps.days)
    return cube_from_counts(study, cells, index, np.ones(len(index)), steps.count)


def analyse(study: np.ndarray, cube: np.ndarray, params: Params,
            on_stage: Callable[[str], None] | None = None) -> Result:
    """Gi* over the period's totals, space-time Gi* over the cube, FDR, classes and patterns.

    Parameters
    ----------
    study
        Sorted int64 ids of the study cells (``cells.zone_cells``), at ``params.resolution``.
    cube
        Counts, one row per study cell, one column per time step (oldest first).
    on_stage
        Told ``"gi*"``, ``"space-time gi*"`` and ``"patterns"`` as each stage starts.
    """
    tell = on_stage or (lambda _name: None)
    tell("gi*")
    w = H.neighbours(study, params.k)
    totals = cube.sum(axis=1)
    z = gi_star(totals, w)
    p = p_two_sided(z)
    q = fdr_bh(p)
    tell("space-time gi*")
    st = space_time_gi(cube, w, params.lag)
    tell("patterns")
    kinds, trends = patterns(st, params.alpha, params.trend_alpha)
    return Result(cells=study, n=totals.astype(np.int64), z=z, p=p, q=q, classes=classify(z, q),
                  patterns=kinds, trends=trends, space_time=st)
