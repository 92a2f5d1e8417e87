"""The hotspots on the briefing's regional map, and the caption that says what they are.

The map draws the current hotspot analysis' Getis-Ord Gi* classes (read with
:func:`dashboard.queries.hotspots.significant_cells`, the query of the situation map's hotspot
layer, coloured with its ``CLASS_STYLE``). When there is no analysis to draw (none computed yet,
or the only run failed) it falls back to the situation map's incident density of the pack's
period, and the caption says so. A Gi* caption names the analysis' own period (its classes
describe that period, not necessarily the pack's), when it was computed, whether loads changed
incidents since, and which part of the pack's period it does not cover.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine

from dashboard.components.hotspots import CLASS_STYLE
from dashboard.components.layers import density_breaks, density_class, density_colors
from dashboard.queries import hotspots as hq
from dashboard.queries import incidents
from dashboard.queries.incidents import BBox
from dashboard.viewstate import Filters
from etl.warehouse.schema import HOTSPOT_CLASSES

#: What the map draws: the analysis' Gi* classes, or the incident density of the period.
GISTAR = "gistar"
DENSITY = "density"
#: Why the map falls back to density.
NO_ANALYSIS = "no analysis"
RUN_FAILED = "run failed"
WITHHELD = "withheld"
#: The Gi* classes drawn (cells that are only patterned over time are not: as on the map's
#: class legend, "not significant cells are not drawn").
DRAWN_CLASSES = tuple(c for c in HOTSPOT_CLASSES if c != "not_significant")
#: Most Gi* cells drawn (strongest first; the demo's analysis has a few hundred).
CELL_CAP = 5000
#: H3 resolution of the density fallback (about 45 km across: a few mm on the page).
DENSITY_RESOLUTION = 4
DENSITY_CAP = 5000


@dataclass(frozen=True)
class MapHotspots:
    """What the regional map draws as hotspots.

    ``kind`` is :data:`GISTAR` (``cells``: H3 cell and Gi* class of each significant cell of
    ``analysis``) or :data:`DENSITY` (``density``: H3 cell and incidents of the pack's period,
    ``breaks``: the lower bounds of the density classes; ``why``: :data:`NO_ANALYSIS`,
    :data:`RUN_FAILED`, or :data:`WITHHELD` when the reader's role may not see the analysis'
    cells). ``last_run`` is the newest ``borderwatch analyse hotspots`` run.
    """

    kind: str
    analysis: hq.Analysis | None = None
    cells: tuple[tuple[int, str], ...] = ()
    capped: bool = False
    density: tuple[tuple[int, int], ...] = ()
    breaks: tuple[int, ...] = ()
    why: str = NO_ANALYSIS
    last_run: hq.RunState | None = None

    def class_counts(self) -> dict[str, int]:
        """Cells drawn per Gi* class (every drawn class, zeros included)."""
        seen = Counter(cls for _, cls in self.cells)
        return {c: seen.get(c, 0) for c in DRAWN_CLASSES}


def read(engine: Engine, period: Filters, box: BBox) -> MapHotspots:
    """The hotspots of the map over ``box``: the current analysis' significant Gi* cells, or
    the density of ``period``'s incidents when no analysis exists or the reader's role may not
    see its cells. Both follow the current scope (``gateway.scope()``), as on the map."""
    run = hq.latest_run(engine)
    analysis, rows = hq.significant_cells(engine, box, CELL_CAP)
    if analysis is not None and not hq.cells_withheld(analysis):
        cells = tuple((int(r["cell"]), str(r["class"])) for r in rows
                      if r["class"] in DRAWN_CLASSES)
        return MapHotspots(GISTAR, analysis, cells, capped=len(rows) >= CELL_CAP, last_run=run)
    counts = incidents.hex_counts(engine, Filters(period.date_from, period.date_to), box,
                                  DENSITY_RESOLUTION, DENSITY_CAP)
    why = WITHHELD if analysis is not None else (
        RUN_FAILED if run is not None and run.status == "failed" else NO_ANALYSIS)
    return MapHotspots(DENSITY, analysis, density=tuple(counts),
                       breaks=tuple(density_breaks([n for _, n in counts])), why=why,
                       last_run=run)


# -- the caption ---------------------------------------------------------------------------------


def _when(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _days(n: int) -> str:
    return f"{n:,} day{'' if n == 1 else 's'}"


def _span(first: date, last: date) -> str:
    return str(first) if first == last else f"{first} to {last}"


def uncovered(analysed: tuple[date, date], period: Filters) -> list[tuple[date, date]]:
    """The parts of ``period`` outside the analysed days ``(first, last)``, in order."""
    first, last = analysed
    if last < period.date_from or first > period.date_to:
        return [(period.date_from, period.date_to)]
    out = []
    if first > period.date_from:
        out.append((period.date_from, first - timedelta(days=1)))
    if last < period.date_to:
        out.append((last + timedelta(days=1), period.date_to))
    return out


def coverage(analysis: hq.Analysis, period: Filters) -> str:
    """Whether the analysis covers the pack's period, and which days of it it does not."""
    gaps = uncovered((analysis.period_from, analysis.period_to), period)
    if not gaps:
        return "Its period covers the pack's period."
    if gaps == [(period.date_from, period.date_to)]:
        return ("Its period does not overlap the pack's period: the classes describe "
                f"{analysis.period_from} to {analysis.period_to}, not the pack's period.")
    parts = " and ".join(_span(a, b) for a, b in gaps)
    missing = sum((b - a).days + 1 for a, b in gaps)
    return (f"It does not cover {parts} of the pack's period ({_days(missing)} of "
            f"{_days((period.date_to - period.date_from).days + 1)}).")


def staleness(analysis: hq.Analysis, now: datetime) -> str:
    """How old the analysis is, and whether loads changed incidents since it was computed."""
    computed = analysis.computed_at if analysis.computed_at.tzinfo else \
        analysis.computed_at.replace(tzinfo=UTC)
    age = max(0, (now - computed).days)
    text = (f"Computed {_when(computed)}, "
            + ("less than a day" if age == 0 else _days(age)) + " before this pack; ")
    if analysis.stale:
        return text + (f"stale: loads changed incidents on {_days(analysis.stale_days)} since, "
                       "which its classes do not include (borderwatch analyse hotspots "
                       "recomputes it).")
    return text + "no load has changed incidents since."


def side(counts: dict[str, int], kind: str) -> str:
    """``"226 hot spot cells (161 at 99 %, 37 at 95 %, 28 at 90 % confidence)"`` or
    ``"no cold spot cell"``, from the cells per class."""
    mine = {c: n for c, n in counts.items() if c.startswith(kind) and n}
    total = sum(mine.values())
    if not total:
        return f"no {kind} spot cell"
    levels = ", ".join(f"{n:,} at {c.split('_')[1]} %" for c, n in
                       sorted(mine.items(), key=lambda cn: -int(cn[0].split("_")[1])))
    return f"{total:,} {kind} spot cell{'' if total == 1 else 's'} ({levels} confidence)"


def _gistar_caption(h: MapHotspots, period: Filters, now: datetime) -> str:
    a = h.analysis
    assert a is not None
    counts = h.class_counts()
    step = "weekly steps" if a.step_days == 7 else f"steps of {a.step_days} days"
    cats = ", ".join(c.replace("_", " ") for c in a.categories) or "all categories"
    text = (f"Hotspots: Getis-Ord Gi* classes of the current hotspot analysis over "
            f"{a.period_from} to {a.period_to} ({a.steps} {step}, {cats}, H3 cells of "
            f"resolution {a.resolution}, FDR-corrected), as on the situation map's hotspot "
            f"layer: {side(counts, 'hot')} and {side(counts, 'cold')}")
    text += (f" (the {len(h.cells):,} strongest)" if h.capped else "") + (
        ". Significant cells are drawn over the section lines; the others are not drawn. ")
    text += staleness(a, now) + " " + coverage(a, period)
    run = h.last_run
    if run is not None and run.status == "failed":
        text += (f" The latest recompute (started {_when(run.started_at)}) failed: this is the "
                 "analysis before it.")
    elif run is not None and run.status == "running":
        text += f" A recompute started {_when(run.started_at)} was still running."
    return text


def _density_caption(h: MapHotspots) -> str:
    text = ("Hotspots: incident density of the pack's period per H3 cell (about 45 km across), "
            "in the density classes of the situation map (quantiles of the cells with "
            "incidents), not a statistical hotspot analysis: ")
    if h.why == WITHHELD and h.analysis is not None:
        return text + (f"the hotspot analysis' cells (H3 resolution {h.analysis.resolution}, "
                       f"{h.analysis.k} ring{'' if h.analysis.k == 1 else 's'} of neighbours) are "
                       "finer than the aggregates the reader's role may see.")
    if h.why == RUN_FAILED and h.last_run is not None:
        return text + (f"the hotspot analysis run started {_when(h.last_run.started_at)} failed "
                       "and no earlier analysis exists (see borderwatch runs).")
    return text + ("no hotspot analysis has been computed yet (borderwatch analyse "
                   "hotspots).")


def caption(h: MapHotspots, period: Filters, now: datetime) -> str:
    """The map's hotspot caption: which hotspots are drawn and, for Gi*, the analysis' period,
    its age and staleness at ``now`` and its coverage of the pack's ``period``."""
    return _gistar_caption(h, period, now) if h.kind == GISTAR else _density_caption(h)


def legend_rows(h: MapHotspots) -> list[list[tuple[str, str]]]:
    """``(colour, label)`` of the hotspot classes in the map's legend, by row: the hot classes
    and the cold classes (strongest first), or the density classes."""
    if h.kind == GISTAR:
        return [[CLASS_STYLE[f"{kind}_{level}"] for level in (99, 95, 90)]
                for kind in ("hot", "cold")]
    palette = density_colors(len(h.breaks))
    out = []
    for k, low in enumerate(h.breaks):
        high = h.breaks[k + 1] - 1 if k + 1 < len(h.breaks) else None
        label = f"{low:,}+ incidents" if high is None else (
            f"{low:,} incident{'' if low == 1 else 's'}" if high <= low else
            f"{low:,}-{high:,} incidents")
        out.append((palette[k], label))
    return [out]


def fills(h: MapHotspots) -> list[tuple[int, str]]:
    """``(H3 cell, fill colour)`` of each hotspot cell to draw: its Gi* class's colour, or its
    density class's."""
    if h.kind == GISTAR:
        return [(cell, CLASS_STYLE[cls][0]) for cell, cls in h.cells]
    palette = density_colors(len(h.breaks))
    return [(cell, palette[density_class(n, h.breaks)]) for cell, n in h.density]
