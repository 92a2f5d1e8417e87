"""Benchmark status per country: the IBM framework, the assessment rounds, the scorecard of a
round, a country's history, and what the page and the forum briefing derive from them.

One query (:func:`scorecard`) answers the choropleth, the scorecard matrix, the regional view
and the recommendations of a round; the overall status, the regional spread and the status
of a recommendation are pure functions of its cells, so the page and the briefing can never
disagree. Every statement runs through the gateway (time limit, read-only).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from statistics import fmean
from typing import Any

import shapely
from shapely.geometry import mapping, shape
from sqlalchemy import Engine, Subquery, and_, exists, func, or_, select

from dashboard.queries import reference
from dashboard.queries.gateway import Source, rows_of, scope
from etl.warehouse.schema import (
    benchmark_assessment,
    country,
    ibm_component,
    ibm_level,
    incident,
    load_run,
)

ba = benchmark_assessment

#: Source name of the illustrative demo data set (``borderwatch demo load``).
DEMO_SOURCE = "demo"
#: Status of a recommendation (see :meth:`Cell.recommendation_status`).
MET, OVERDUE, OPEN = "met", "overdue", "open"


@dataclass(frozen=True)
class Component:
    """One component of the IBM framework."""

    component_id: str
    name: str
    result_area: str
    ordering: int


@dataclass(frozen=True)
class Level:
    """One step of the framework's ordinal scale (0 not in place ... 3 implemented)."""

    level: int
    label: str
    definition: str


@dataclass(frozen=True)
class Framework:
    """The components (in framework order) and the scale."""

    components: tuple[Component, ...]
    levels: tuple[Level, ...]

    def label(self, level: int | None) -> str:
        """The scale's word for ``level`` ('not assessed' for None)."""
        if level is None:
            return "Not assessed"
        return next((lv.label for lv in self.levels if lv.level == level), str(level))

    def areas(self) -> list[tuple[str, list[Component]]]:
        """Result areas in framework order, each with its components."""
        out: dict[str, list[Component]] = {}
        for c in self.components:
            out.setdefault(c.result_area, []).append(c)
        return list(out.items())

    def nearest_level(self, mean: float) -> int:
        """The scale step closest to a mean level (halves round up)."""
        steps = sorted(lv.level for lv in self.levels) or [0]
        return min(steps, key=lambda s: (abs(s - mean), -s))

    @property
    def top(self) -> int:
        return max((lv.level for lv in self.levels), default=0)


@dataclass(frozen=True)
class Administration:
    """One of the eight target administrations."""

    iso2: str
    name: str
    footnote: str | None


@dataclass(frozen=True)
class Round:
    """An assessment round: its label as loaded and the date it is dated to."""

    label: str
    day: date


@dataclass(frozen=True)
class Cell:
    """One country's assessment of one component in a round, with its context in time.

    ``previous`` is the level of the round before (for the same country and component),
    ``later_best`` the highest level any later round gave, ``next_round`` the next round.
    """

    country: str
    component_id: str
    round: str
    level: int
    evidence: str | None
    recommendation: str | None
    deadline: date | None
    previous: int | None
    previous_round: str | None
    later_best: int | None
    next_round: str | None

    @property
    def change(self) -> int | None:
        """Level minus the previous round's level (None without a previous round)."""
        return None if self.previous is None else self.level - self.previous

    def recommendation_status(self, today: date) -> str | None:
        """``met`` when a later round assessed the component higher; otherwise ``overdue`` once
        the deadline has passed, ``open`` before it (or without a deadline). None when the
        assessment carries no recommendation."""
        if not self.recommendation:
            return None
        if self.later_best is not None and self.later_best > self.level:
            return MET
        if self.deadline is not None and self.deadline < today:
            return OVERDUE
        return OPEN


@dataclass(frozen=True)
class Overall:
    """A country's overall status in a round: the mean level over the assessed components."""

    iso2: str
    mean: float | None
    assessed: int
    total: int
    previous_mean: float | None


@dataclass(frozen=True)
class Spread:
    """The regional picture of one component in a round."""

    component_id: str
    mean: float
    low: int
    high: int
    lowest: tuple[str, ...]
    highest: tuple[str, ...]

    @property
    def gap(self) -> int:
        return self.high - self.low


# -- reference: framework, rounds, administrations ----------------------------------------------


def framework(engine: Source) -> Framework:
    """The IBM framework as loaded from ``geodata/ibm_framework.yaml``."""
    comps = rows_of(engine, select(ibm_component.c.component_id, ibm_component.c.name,
                                     ibm_component.c.result_area, ibm_component.c.ordering)
                      .order_by(ibm_component.c.ordering, ibm_component.c.component_id))
    levels = rows_of(engine, select(ibm_level).order_by(ibm_level.c.level))
    return Framework(
        components=tuple(Component(r["component_id"], r["name"], r["result_area"],
                                   int(r["ordering"])) for r in comps),
        levels=tuple(Level(int(r["level"]), r["label"], r["definition"]) for r in levels),
    )


def administrations(engine: Source) -> list[Administration]:
    """The eight target administrations, by name."""
    rows = rows_of(engine, select(country.c.iso2, country.c.name, country.c.footnote)
                     .where(country.c.is_target).order_by(country.c.name))
    return [Administration(r["iso2"], r["name"], r["footnote"]) for r in rows]


def rounds(engine: Source) -> list[Round]:
    """Rounds that assessed at least one target administration, oldest first."""
    rows = rows_of(
        engine,
        select(ba.c.round, func.min(ba.c.round_date).label("day"))
        .join(country, country.c.iso2 == ba.c.country)
        .where(country.c.is_target)
        .group_by(ba.c.round)
        .order_by(func.min(ba.c.round_date), ba.c.round),
    )
    return [Round(r["round"], r["day"]) for r in rows]


#: Simplification of the status map's outlines (degrees): a country is a few hundred points.
OUTLINE_TOLERANCE = 0.02


def outlines(engine: Engine) -> list[tuple[str, str, bool, dict[str, Any]]]:
    """``(iso2, name, is_target, GeoJSON geometry)`` of every country, simplified for a
    region-wide map (from the situation map's basemap; simplified once per basemap version)."""
    countries = reference.basemap(engine)
    key = engine.url.render_as_string(hide_password=True)
    with _OUTLINES_LOCK:
        hit = _OUTLINES.get(key)
    if hit is not None and hit[0] is countries:
        return hit[1]
    out = []
    for c in countries:
        geom = shapely.simplify(shape(c.geometry), OUTLINE_TOLERANCE, preserve_topology=True)
        geom = shapely.set_precision(geom, 0.001)
        out.append((c.iso2, c.name, c.is_target, dict(mapping(geom))))
    with _OUTLINES_LOCK:
        if key not in _OUTLINES and len(_OUTLINES) >= 16:
            _OUTLINES.pop(next(iter(_OUTLINES)))
        _OUTLINES[key] = (countries, out)
    return out


#: Simplified outlines by database, with the basemap list they were made from (the basemap
#: cache hands out the same list until a country changes).
_OUTLINES: dict[str, tuple[list[reference.Country], list[tuple[str, str, bool, dict[str, Any]]]]] = {}
_OUTLINES_LOCK = threading.Lock()


def illustrative(engine: Source) -> bool:
    """Whether the warehouse holds the illustrative demo data set (source ``demo``)."""
    rows = rows_of(engine, select(
        or_(exists().where(ba.c.source == DEMO_SOURCE),
            exists().where(incident.c.source == DEMO_SOURCE, scope().everything)).label("demo")))
    return bool(rows and rows[0]["demo"])


def last_load(engine: Source) -> datetime | None:
    """When the newest successful load (not a dry run) finished: the data's age."""
    rows = rows_of(engine, select(func.max(load_run.c.finished_at).label("t"))
                   .where(load_run.c.status == "succeeded", ~load_run.c.dry_run))
    return rows[0]["t"] if rows else None


# -- a round ------------------------------------------------------------------------------------


def _in_context() -> Subquery:
    """Every assessment with the previous level, the best later level and the next round."""
    part = (ba.c.country, ba.c.component_id)
    order = (ba.c.round_date, ba.c.round)
    return select(
        ba.c.country, ba.c.component_id, ba.c.round, ba.c.round_date, ba.c.level, ba.c.evidence,
        ba.c.recommendation, ba.c.deadline,
        func.lag(ba.c.level).over(partition_by=part, order_by=order).label("previous"),
        func.lag(ba.c.round).over(partition_by=part, order_by=order).label("previous_round"),
        func.max(ba.c.level).over(partition_by=part, order_by=order, rows=(1, None))
        .label("later_best"),
        func.lead(ba.c.round).over(partition_by=part, order_by=order).label("next_round"),
    ).join(country, and_(country.c.iso2 == ba.c.country, country.c.is_target)).subquery("ctx")


def _cell(r: dict[str, Any]) -> Cell:
    return Cell(
        country=r["country"], component_id=r["component_id"], round=r["round"],
        level=int(r["level"]), evidence=r["evidence"], recommendation=r["recommendation"] or None,
        deadline=r["deadline"],
        previous=None if r["previous"] is None else int(r["previous"]),
        previous_round=r["previous_round"],
        later_best=None if r["later_best"] is None else int(r["later_best"]),
        next_round=r["next_round"],
    )


def scorecard(engine: Source, round_label: str) -> list[Cell]:
    """Every target administration's assessments in ``round_label``, each with the previous
    round's level (for the arrow), the best later level and the next round (for the status of
    its recommendation)."""
    ctx = _in_context()
    rows = rows_of(engine, select(ctx).where(ctx.c.round == round_label)
                     .order_by(ctx.c.country, ctx.c.component_id))
    return [_cell(dict(r)) for r in rows]


def history(engine: Source, iso2: str) -> list[Cell]:
    """Every assessment of one administration, oldest round first."""
    ctx = _in_context()
    rows = rows_of(engine, select(ctx).where(ctx.c.country == iso2)
                     .order_by(ctx.c.round_date, ctx.c.round, ctx.c.component_id))
    return [_cell(dict(r)) for r in rows]


def overall(cells: Iterable[Cell], fw: Framework, countries: Sequence[str]) -> dict[str, Overall]:
    """Each country's mean level over the framework's components assessed in the round, and
    the mean of the previous levels of the same components (where each has one)."""
    known = {c.component_id for c in fw.components}
    by_country: dict[str, list[Cell]] = defaultdict(list)
    for cell in cells:
        if cell.component_id in known:
            by_country[cell.country].append(cell)
    out: dict[str, Overall] = {}
    for iso2 in countries:
        mine = by_country.get(iso2, [])
        prev = [c.previous for c in mine if c.previous is not None]
        out[iso2] = Overall(
            iso2=iso2,
            mean=round(fmean(c.level for c in mine), 2) if mine else None,
            assessed=len(mine),
            total=len(known),
            previous_mean=(round(fmean(prev), 2) if mine and len(prev) == len(mine) else None),
        )
    return out


def spreads(cells: Iterable[Cell], fw: Framework) -> list[Spread]:
    """Per component (framework order): the regional mean, the lowest and highest level and the
    countries at each end."""
    by_component: dict[str, list[Cell]] = defaultdict(list)
    for cell in cells:
        by_component[cell.component_id].append(cell)
    out = []
    for comp in fw.components:
        mine = by_component.get(comp.component_id)
        if not mine:
            continue
        low = min(c.level for c in mine)
        high = max(c.level for c in mine)
        out.append(Spread(
            component_id=comp.component_id,
            mean=round(fmean(c.level for c in mine), 2),
            low=low, high=high,
            lowest=tuple(sorted(c.country for c in mine if c.level == low)),
            highest=tuple(sorted(c.country for c in mine if c.level == high)),
        ))
    return out


def widest_gaps(items: Sequence[Spread], n: int = 5) -> list[Spread]:
    """The ``n`` components with the widest gap between countries (then lowest mean first)."""
    ranked = sorted((s for s in items if s.gap > 0), key=lambda s: (-s.gap, s.mean))
    return ranked[:n]


def overdue_counts(cells: Iterable[Cell], today: date) -> dict[str, int]:
    """Overdue recommendations per country."""
    out: dict[str, int] = defaultdict(int)
    for cell in cells:
        if cell.recommendation_status(today) == OVERDUE:
            out[cell.country] += 1
    return dict(out)
