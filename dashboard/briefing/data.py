"""Everything the briefing pack shows, read from the warehouse at generation time through the
same query functions as the pages (``dashboard.queries``): the benchmarks page's scorecard and
key figures, the situation map's border sections, basemap and hotspots (the current Gi*
analysis, or the incident density when there is none: :mod:`dashboard.briefing.hotspots`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Engine

from dashboard.briefing.hotspots import DENSITY, MapHotspots
from dashboard.briefing.hotspots import read as read_hotspots
from dashboard.queries import benchmarks as bq
from dashboard.queries import gateway, incidents, programme, reference
from dashboard.queries.incidents import BBox
from dashboard.viewstate import Filters

#: The region drawn on the map: lon/lat box around the eight administrations.
REGION = BBox(west=12.8, south=34.8, east=45.2, north=47.2)
#: Section impact levels listed in the regional section.
ELEVATED = ("critical", "high")

Step = Callable[[str], None]


@dataclass(frozen=True)
class Reader:
    """Who a briefing is made for: named on the cover; ``sharing`` is printed in every footer."""

    name: str
    sharing: str


@dataclass(frozen=True)
class BriefingRequest:
    """What to put in the pack: the period of the figures, the assessment round (None: the
    newest), and the reader whose access it follows."""

    filters: Filters
    round: str | None
    scope: Reader


@dataclass
class BriefingData:
    """The figures of one briefing, as read in one go."""

    request: BriefingRequest
    generated_at: datetime
    last_load: datetime | None
    illustrative: bool
    fw: bq.Framework
    admins: list[bq.Administration]
    round: str | None
    cells: list[bq.Cell]
    overall: dict[str, bq.Overall]
    spreads: list[bq.Spread]
    today: date
    incidents: dict[str, dict[str, int]] = field(default_factory=dict)
    flows: dict[str, list[programme.FlowFigures]] = field(default_factory=dict)
    trainings: dict[str, programme.TrainingTotals] = field(default_factory=dict)
    strategies: dict[str, list[programme.Strategy]] = field(default_factory=dict)
    countries: list[reference.Country] = field(default_factory=list)
    sections: list[dict[str, Any]] = field(default_factory=list)
    hotspots: MapHotspots = field(default_factory=lambda: MapHotspots(DENSITY))

    @property
    def period(self) -> Filters:
        return self.request.filters

    def cells_of(self, iso2: str) -> list[bq.Cell]:
        return [c for c in self.cells if c.country == iso2]

    def elevated_sections(self) -> list[dict[str, Any]]:
        """Border sections of an administration at high or critical impact, worst first."""
        targets = {a.iso2 for a in self.admins}
        rows = [s for s in self.sections if s["impact_level"] in ELEVATED
                and (s["country_a"] in targets or s["country_b"] in targets)]
        return sorted(rows, key=lambda s: (ELEVATED.index(s["impact_level"]), s["section_id"]))


#: Steps reported to the progress bar while collecting.
COLLECT_STEPS = 5


def collect(engine: Engine, request: BriefingRequest, step: Step | None = None) -> BriefingData:
    """Read every figure of the briefing (``step`` is told before each group of queries)."""
    say = step or (lambda _label: None)
    f = request.filters
    with gateway.reading(engine) as db:
        say("framework and scorecard")
        fw = bq.framework(db)
        admins = bq.administrations(db)
        labels = [r.label for r in bq.rounds(db)]
        chosen = request.round if request.round in labels else (labels[-1] if labels else None)
        cells = bq.scorecard(db, chosen) if chosen else []
        codes = tuple(a.iso2 for a in admins)
        data = BriefingData(
            request=request, generated_at=datetime.now(UTC), last_load=bq.last_load(db),
            illustrative=bq.illustrative(db), fw=fw, admins=admins, round=chosen, cells=cells,
            overall=bq.overall(cells, fw, codes), spreads=bq.spreads(cells, fw),
            today=datetime.now(UTC).date(),
        )
        say("crossings and waiting times")
        data.flows = programme.flow_figures(db, f, codes)
        say("trainings and strategies")
        data.trainings = programme.training_totals(db, f, codes)
        data.strategies = {iso2: [s for s in programme.strategies(db, iso2)
                                  if s.in_force_on(f.date_to)] for iso2 in codes}
    say("incidents of the period")
    data.incidents = incidents.by_country(engine, Filters(f.date_from, f.date_to))
    say("map layers")
    data.countries = reference.basemap(engine)
    data.sections = reference.sections(engine)
    data.hotspots = read_hotspots(engine, f, REGION)
    return data
