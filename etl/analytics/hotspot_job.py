"""``borderwatch analyse hotspots``: the recorded job that recomputes the hotspot analysis.

One run, under the load lock and in one transaction (a failed run leaves the previous analysis
in place): bring the count cube up to date (only the steps that loads touched since the last
run, see :mod:`etl.analytics.hotspot_store`), build the study area, compute Gi*, FDR, classes,
space-time Gi* and the emerging patterns (:mod:`etl.analytics.hotspots`), and replace the
analysis the map reads. Each stage is timed and reported to ``progress``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from h3.api import basic_int as h3int
from sqlalchemy import Engine

from etl.analytics import hotspot_store as store
from etl.analytics.hotspots import cells as H
from etl.analytics.hotspots.analysis import Params, Result, Steps, analyse, cube_from_counts
from etl.errors import ConfigurationError
from etl.runs import Progress, recorded_run
from etl.settings import Settings
from etl.warehouse import csv_export
from etl.warehouse.engine import connect, driver_connection
from etl.warehouse.schema import INCIDENT_CATEGORIES

log = logging.getLogger(__name__)

#: Stages of a run, in order (the progress display counts them).
STAGES = ("counts", "study area", "cube", "gi*", "space-time gi*", "patterns", "write")
#: Most bins (cells x steps) one analysis may hold (memory: about 100 bytes a bin).
MAX_BINS = 30_000_000
#: Columns of ``--out`` files.
OUT_COLUMNS = ("h3", "lat", "lon", "n", "z", "p", "q", "class", "pattern")


@dataclass(frozen=True)
class Request:
    """What to analyse; None takes the settings' default."""

    date_from: dt.date | None = None
    date_to: dt.date | None = None
    resolution: int | None = None
    categories: tuple[str, ...] = ()
    full: bool = False


@dataclass
class Report:
    """What a run computed, with the seconds of each stage."""

    run_id: int | None = None
    steps: Steps | None = None
    resolution: int = 0
    cells: int = 0
    incidents: int = 0
    left_out: int = 0
    significant: int = 0
    classes: dict[str, int] = field(default_factory=dict)
    patterns: dict[str, int] = field(default_factory=dict)
    recounted_steps: int = 0
    recounted_all: bool = False
    seconds: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        s = self.steps
        period = f"{s.first}..{s.last_day} ({s.count} steps of {s.days} days)" if s else "-"
        hot = sum(v for k, v in self.classes.items() if k.startswith("hot"))
        cold = sum(v for k, v in self.classes.items() if k.startswith("cold"))
        emerging = {k: v for k, v in self.patterns.items() if k != "no_pattern"}
        return (f"hotspots over {period}, H3 resolution {self.resolution}: {self.cells:,} cells, "
                f"{self.incidents:,} incidents ({self.left_out:,} more outside the study area); "
                f"{hot:,} hot and {cold:,} cold cells after FDR"
                + (f"; patterns: {', '.join(f'{k} {v:,}' for k, v in sorted(emerging.items()))}"
                   if emerging else "; no emerging pattern")
                + f" (run {self.run_id}, {sum(self.seconds.values()):.1f} s)")


def params_from(settings: Settings, resolution: int | None = None) -> Params:
    """The analysis parameters of the settings (``resolution`` overrides its default)."""
    res = settings.hotspot_resolution if resolution is None else resolution
    H.check_resolution(res)
    return Params(resolution=res, k=settings.hotspot_k, lag=settings.hotspot_time_lag,
                  alpha=settings.hotspot_alpha, trend_alpha=settings.hotspot_trend_alpha)


def period(first: dt.date | None, last: dt.date | None, request: Request, settings: Settings
           ) -> Steps:
    """The whole steps of the requested period (default: the last ``hotspot_steps`` steps up to
    the latest incident, not before the first one)."""
    if first is None or last is None:
        raise ConfigurationError("no incident is loaded: nothing to analyse")
    days = settings.hotspot_step_days
    end = request.date_to or last
    start = request.date_from or max(
        first, end - dt.timedelta(days=settings.hotspot_steps * days - 1))
    if start > end:
        raise ConfigurationError(f"--from {start} is after --to {end}")
    steps = Steps.within(start, end, days)
    if steps.count < 1:
        raise ConfigurationError(
            f"{start}..{end} holds no whole step of {days} days (steps start on Mondays for "
            "weeks); widen the period")
    return steps


def run_hotspots(engine: Engine, settings: Settings, request: Request = Request(),
                 progress: Progress | None = None,
                 stage: Callable[[str], None] | None = None) -> tuple[Report, Result, store.Meta]:
    """Recompute the hotspot analysis into the warehouse (a recorded run, kind ``hotspots``).

    Parameters
    ----------
    request
        Period, resolution, categories (all when empty) and ``full`` (recount every step).
    progress
        Told when the job waits for a running load.
    stage
        Called with the name of each stage as it starts (``STAGES``).

    Raises
    ------
    ConfigurationError
        Nothing to analyse, an empty period, a bad resolution or category, or too many bins.
    LoadRunFailed
        The job failed (recorded as failed); the previous analysis is as it was.
    """
    params = params_from(settings, request.resolution)
    unknown = sorted(set(request.categories) - set(INCIDENT_CATEGORIES))
    if unknown:
        raise ConfigurationError(f"unknown category {', '.join(unknown)}; choose from "
                                 f"{', '.join(INCIDENT_CATEGORIES)}")
    report = Report(resolution=params.resolution)
    tell = stage or (lambda _name: None)
    clock = _Clock(report, tell)
    with connect(engine) as probe:
        first, last = store.data_days(driver_connection(probe))
    steps = period(first, last, request, settings)
    with recorded_run(engine, settings, kind="hotspots", source="hotspot_analysis",
                      file_name=f"(H3 r{params.resolution}{', full' if request.full else ''})",
                      progress=progress, kept="the previous analysis is as it was") as run:
        raw = run.db
        report.run_id = run.run_id
        clock.start("counts")
        report.recounted_steps, report.recounted_all = store.refresh_counts(
            raw, params.resolution, steps.days, full=request.full)
        clock.start("study area")
        geo = store.geography(raw)
        zone = H.border_zone(geo.land, geo.borders, settings.hotspot_zone_km)
        study = H.zone_cells(zone, params.resolution, (geo.bcp_lat, geo.bcp_lon))
        if len(study) * steps.count > MAX_BINS:
            raise ConfigurationError(
                f"{len(study):,} cells x {steps.count} steps is more than {MAX_BINS:,} bins: "
                "choose a coarser --resolution or a shorter period")
        clock.start("cube")
        cell, step, count = store.read_counts(raw, steps, request.categories)
        cube, left_out = cube_from_counts(study, cell, step, count, steps.count)
        result = analyse(study, cube, params, on_stage=clock.start)
        clock.start("write")
        meta = store.Meta(run_id=run.run_id, steps=steps, params=params,
                          zone_km=settings.hotspot_zone_km, categories=request.categories,
                          incidents=int(cube.sum()), left_out=left_out)
        store.write_result(raw, meta, result)
        clock.stop()
        report.steps, report.cells, report.incidents = steps, len(study), meta.incidents
        report.left_out = left_out
        report.significant = result.significant
        report.classes = dict(Counter(result.classes.tolist()))
        report.patterns = dict(Counter(result.patterns.tolist()))
        run.report.read = run.report.inserted = len(study)
        run.report.message = report.summary()
    log.info("%s", report.summary())
    return report, result, meta


class _Clock:
    """Times the stages of a run into ``report.seconds`` and announces each one."""

    def __init__(self, report: Report, tell: Callable[[str], None]) -> None:
        self._report, self._tell = report, tell
        self._name: str | None = None
        self._t = 0.0

    def start(self, name: str) -> None:
        self.stop()
        self._name, self._t = name, time.perf_counter()
        self._tell(name)

    def stop(self) -> None:
        if self._name is not None:
            self._report.seconds[self._name] = time.perf_counter() - self._t
            self._name = None


# -- files ---------------------------------------------------------------------------------------


def out_rows(result: Result) -> list[tuple[object, ...]]:
    """One row per study cell: ``OUT_COLUMNS``."""
    lat, lon = H.centres(result.cells)
    return [
        (H.cell_text(int(c)), round(float(a), 6), round(float(o), 6), int(n), round(float(z), 6),
         float(f"{p:.6g}"), float(f"{q:.6g}"), str(k), str(pat))
        for c, a, o, n, z, p, q, k, pat in zip(
            result.cells.tolist(), lat, lon, result.n.tolist(), result.z, result.p, result.q,
            result.classes, result.patterns, strict=True)
    ]


def write_out(path: Path, result: Result, meta: store.Meta) -> int:
    """Write the analysis to ``path`` (``.csv``, or ``.geojson`` with each cell's hexagon);
    return the rows written."""
    rows = out_rows(result)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with path.open("w", encoding="utf-8", newline="") as fh:
            out = csv_export.writer(fh)
            out.writerow(OUT_COLUMNS)
            out.writerows(rows)
        return len(rows)
    if suffix == ".geojson":
        features = []
        for row in rows:
            ring = [[round(lng, 6), round(la, 6)]
                    for la, lng in h3int.cell_to_boundary(H.cell_from_text(str(row[0])))]
            features.append({"type": "Feature",
                             "geometry": {"type": "Polygon", "coordinates": [ring + ring[:1]]},
                             "properties": dict(zip(OUT_COLUMNS, row, strict=True))})
        doc = {"type": "FeatureCollection", "features": features,
               "borderwatch": _about(meta)}
        path.write_text(json.dumps(doc, separators=(",", ":")) + "\n", encoding="utf-8")
        return len(rows)
    raise ConfigurationError(f"--out must end in .csv or .geojson, not {path.name!r}")


def _about(meta: store.Meta) -> dict[str, object]:
    return {
        "period_from": meta.steps.first.isoformat(), "period_to": meta.steps.last_day.isoformat(),
        "step_days": meta.steps.days, "steps": meta.steps.count,
        "resolution": meta.params.resolution, "k": meta.params.k, "lag": meta.params.lag,
        "zone_km": meta.zone_km, "categories": list(meta.categories) or "all",
        "incidents": meta.incidents, "run_id": meta.run_id,
    }


def check_out(path: Path) -> None:
    """Refuse an ``--out`` path before the run (wrong suffix, missing folder)."""
    if path.suffix.lower() not in (".csv", ".geojson"):
        raise ConfigurationError(f"--out must end in .csv or .geojson, not {path.name!r}")
    if not path.parent.is_dir():
        raise ConfigurationError(f"--out: no folder {str(path.parent)!r}")


__all__ = ["OUT_COLUMNS", "STAGES", "Report", "Request", "check_out", "params_from",
           "run_hotspots", "write_out"]
