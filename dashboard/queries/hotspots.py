"""The hotspot analysis as the map (and the forum's briefing) read it: the current analysis and
its significant cells, through the one gateway and the user's scope.

``borderwatch analyse hotspots`` writes ``hotspot_analysis`` (one row) and ``hotspot_cell``;
``hotspot_dirty`` lists the days that loads changed since (the analysis is then stale).

Gi* cells are aggregates over every incident (``scope.everything``). A restricted role
(national officer, forum viewer) gets each cell's class, emerging pattern and trend, but not
its incident count ``n`` nor its z-score: the count is of a cell finer than the resolution-5
cells restricted counts keep to, and exact z-scores of overlapping neighbourhoods can be solved
back to per-cell counts. Neither does their order follow ``z``. An analysis whose neighbourhoods
are smaller than a resolution-5 cell shows them no cells at all
(:func:`dashboard.queries.restricted.gistar_coarse_enough`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Engine, and_, case, func, null, or_, select

from dashboard.queries import restricted
from dashboard.queries.gateway import reading, scope
from dashboard.queries.raw import BBox
from etl.warehouse.schema import hotspot_analysis, hotspot_cell, hotspot_dirty, load_run

#: Degrees added around a viewport so hexagons cut by its edge are drawn too (a resolution-4
#: cell is about 45 km across).
MARGIN_DEG = 0.5


@dataclass(frozen=True)
class Analysis:
    """What the current hotspot analysis covers, when it was computed, and whether loads have
    changed incidents since (``stale_days``: UTC days changed)."""

    computed_at: dt.datetime
    period_from: dt.date
    period_to: dt.date
    step_days: int
    steps: int
    resolution: int
    k: int
    zone_km: float
    categories: tuple[str, ...]
    cells: int
    incidents: int
    significant: int
    stale_days: int

    @property
    def stale(self) -> bool:
        return self.stale_days > 0


def _analysis(reader: Any) -> Analysis | None:
    a = hotspot_analysis.c
    row = reader.one(select(
        a.computed_at, a.period_from, a.period_to, a.step_days, a.steps, a.resolution, a.k,
        a.zone_km, a.categories, a.cells, a.incidents, a.significant,
        select(func.count()).select_from(hotspot_dirty).scalar_subquery().label("stale_days"),
    ).order_by(a.analysis_id.desc()).limit(1))
    if row is None:
        return None
    values = dict(row)
    values["categories"] = tuple(values["categories"] or ())
    return Analysis(**values)


def current(engine: Engine) -> Analysis | None:
    """The current analysis, or None before the first ``borderwatch analyse hotspots``."""
    with reading(engine) as reader:
        return _analysis(reader)


def significant_cells(engine: Engine, box: BBox | None, cap: int
                      ) -> tuple[Analysis | None, list[dict[str, Any]]]:
    """The analysis and its cells that are hot, cold or have an emerging pattern, in ``box``
    (all when None), strongest |z| first, at most ``cap``.

    Each row: ``cell`` (int64 H3), ``lat``, ``lon`` (centre), ``n`` (incidents over the period),
    ``z``, ``q``, ``class``, ``pattern``, ``trend``. The map and the forum's briefing use this
    same function, so the two never disagree. For a restricted scope ``n``, ``z`` and ``q`` are
    None and the strongest classes come first (see the module docstring).
    """
    c = hotspot_cell.c
    user = scope()
    with reading(engine) as reader:
        analysis = _analysis(reader)
        if analysis is None:
            return None, []
        if user.restricted and not restricted.gistar_coarse_enough(analysis.resolution, analysis.k):
            return analysis, []
        where = [c.analysis_id == select(func.max(hotspot_analysis.c.analysis_id))
                 .scalar_subquery(),
                 or_(c["class"] != "not_significant", c.pattern != "no_pattern"), user.everything]
        if box is not None:
            where += [c.lon >= box.west - MARGIN_DEG, c.lon <= box.east + MARGIN_DEG,
                      c.lat >= box.south - MARGIN_DEG, c.lat <= box.north + MARGIN_DEG]
        if user.restricted:
            figures: list[ColumnElement[Any]] = [null().label(f) for f in ("n", "z", "q")]
            strength = case({"hot_99": 3, "cold_99": 3, "hot_95": 2, "cold_95": 2, "hot_90": 1,
                             "cold_90": 1}, value=c["class"], else_=0)
            order = [strength.desc(), c.cell]
        else:
            figures, order = [c.n, c.z, c.q], [func.abs(c.z).desc(), c.cell]
        rows = reader.dicts(
            select(c.cell, c.lat, c.lon, *figures, c["class"], c.pattern, c.trend)
            .where(and_(*where)).order_by(*order).limit(max(0, cap)))
    return analysis, rows


def cells_withheld(analysis: Analysis | None) -> bool:
    """Whether the current user's role sees none of ``analysis``' cells (its neighbourhoods are
    finer than what a restricted role may see)."""
    return (analysis is not None and scope().restricted
            and not restricted.gistar_coarse_enough(analysis.resolution, analysis.k))


@dataclass(frozen=True)
class RunState:
    """The latest ``borderwatch analyse hotspots`` run: its status and message."""

    run_id: int
    status: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    message: str | None


def latest_run(engine: Engine) -> RunState | None:
    """The newest hotspots run (running, succeeded or failed), or None."""
    r = load_run.c
    with reading(engine) as reader:
        row = reader.one(select(r.run_id, r.status, r.started_at, r.finished_at, r.message)
                         .where(r.kind == "hotspots").order_by(r.run_id.desc()).limit(1))
    return RunState(**dict(row)) if row else None
