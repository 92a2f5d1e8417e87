"""National IBM strategies and trainings (the programme's second result), and the crossing
flows of each administration: the benchmarks page's drill-down and the briefing's country pages.

Trainings: a joint training counts once per topic and once under *each* agency that took part,
so trainings per agency add up to more than the trainings held; participants are not split
between agencies. Flows: each administration's crossings are what its own service counted
at its crossing points (``flow.reporting_country``), entries and exits together; the
neighbour's count of the same traffic is the neighbour's.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Integer, cast, extract, func, literal_column, or_, select

from dashboard.queries.gateway import Source, rows_of
from dashboard.viewstate import Filters
from etl.warehouse.schema import FLOW_CATEGORIES, bcp, flow, national_strategy, training

ns = national_strategy


@dataclass(frozen=True)
class Strategy:
    """A national strategy or action plan."""

    country: str
    document: str
    adopted_on: date
    valid_until: date | None
    title: str | None
    status: str
    implemented_pct: float | None

    def in_force_on(self, day: date) -> bool:
        """Adopted by ``day`` and not past its validity (whatever the reported status)."""
        return self.adopted_on <= day and (self.valid_until is None or self.valid_until >= day)


@dataclass(frozen=True)
class YearCount:
    """Trainings and participants of one year and one topic (or agency)."""

    year: int
    key: str
    trainings: int
    participants: int


@dataclass
class TrainingTotals:
    """Trainings of one administration in a period, in total and per topic."""

    trainings: int = 0
    participants: int = 0
    by_topic: dict[str, tuple[int, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class FlowFigures:
    """Crossings of one flow category at an administration's BCPs in a period.

    ``wait_avg`` is the mean of the daily average waits weighted by the traffic of the days
    that reported a wait (None when none did); ``wait_max`` the longest maximum wait reported.
    """

    category: str
    crossings: int
    wait_avg: float | None
    wait_max: float | None


def strategies(engine: Source, iso2: str) -> list[Strategy]:
    """Every strategy and action plan of one administration, oldest first."""
    rows = rows_of(engine, select(ns).where(ns.c.country == iso2)
                     .order_by(ns.c.adopted_on, ns.c.document))
    return [Strategy(r["country"], r["document"], r["adopted_on"], r["valid_until"], r["title"],
                     r["status"], r["measures_implemented_pct"]) for r in rows]


def trainings_by_topic(engine: Source, iso2: str) -> list[YearCount]:
    """Trainings and participants per year and topic, all years."""
    year = cast(extract("year", training.c.date), Integer).label("year")
    rows = rows_of(engine, select(year, training.c.topic.label("key"),
                                    func.count().label("n"),
                                    func.sum(training.c.participants).label("p"))
                     .where(training.c.country == iso2).group_by(year, training.c.topic)
                     .order_by(year, training.c.topic))
    return [YearCount(int(r["year"]), r["key"], int(r["n"]), int(r["p"])) for r in rows]


def trainings_by_agency(engine: Source, iso2: str) -> list[YearCount]:
    """Trainings each agency took part in, and their participants, per year (all years)."""
    agency = func.unnest(training.c.agencies).table_valued("agency").render_derived("a")
    year = cast(extract("year", training.c.date), Integer).label("year")
    rows = rows_of(engine, select(year, agency.c.agency.label("key"), func.count().label("n"),
                                    func.sum(training.c.participants).label("p"))
                     .select_from(training.join(agency, literal_column("true")))
                     .where(training.c.country == iso2).group_by(year, agency.c.agency)
                     .order_by(year, agency.c.agency))
    return [YearCount(int(r["year"]), r["key"], int(r["n"]), int(r["p"])) for r in rows]


def training_totals(engine: Source, filters: Filters,
                    countries: tuple[str, ...]) -> dict[str, TrainingTotals]:
    """Trainings that started in the period, per administration: totals and per topic."""
    rows = rows_of(engine, select(training.c.country, training.c.topic,
                                    func.count().label("n"),
                                    func.sum(training.c.participants).label("p"))
                     .where(training.c.country.in_(countries),
                            training.c.date.between(filters.date_from, filters.date_to))
                     .group_by(training.c.country, training.c.topic))
    out = {iso2: TrainingTotals() for iso2 in countries}
    for r in rows:
        tot = out[r["country"]]
        tot.trainings += int(r["n"])
        tot.participants += int(r["p"])
        tot.by_topic[r["topic"]] = (int(r["n"]), int(r["p"]))
    return out


def flow_figures(engine: Source, filters: Filters,
                 countries: tuple[str, ...]) -> dict[str, list[FlowFigures]]:
    """Crossings and waiting times per administration and flow category in the period, as the
    administration's own service counted them (``flow.reporting_country``: each side of a
    crossing reports its own rows, so a crossing is never counted for the neighbour too);
    categories without traffic are left out."""
    timed = flow.c.wait_minutes_avg.isnot(None)
    stmt = (
        select(flow.c.reporting_country.label("iso2"), flow.c.category,
               func.sum(flow.c.count).label("n"),
               func.sum(flow.c.wait_minutes_avg * flow.c.count).filter(timed).label("wsum"),
               func.sum(flow.c.count).filter(timed).label("wn"),
               func.max(flow.c.wait_minutes_max).label("wmax"))
        .where(flow.c.reporting_country.in_(countries),
               flow.c.bcp_code.in_(select(bcp.c.code).where(
                   or_(bcp.c.country_a.in_(countries), bcp.c.country_b.in_(countries)))),
               flow.c.date.between(filters.date_from, filters.date_to))
        .group_by(flow.c.reporting_country, flow.c.category)
    )
    found: dict[str, dict[str, Any]] = defaultdict(dict)
    for row in rows_of(engine, stmt):
        found[row["iso2"]][row["category"]] = row
    out: dict[str, list[FlowFigures]] = {}
    for iso2 in countries:
        items = []
        for cat in FLOW_CATEGORIES:
            got = found[iso2].get(cat)
            if got is None or not got["n"]:
                continue
            wn = int(got["wn"] or 0)
            items.append(FlowFigures(
                category=cat, crossings=int(got["n"]),
                wait_avg=float(got["wsum"]) / wn if wn else None,
                wait_max=None if got["wmax"] is None else float(got["wmax"]),
            ))
        out[iso2] = items
    return out
