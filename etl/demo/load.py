"""``borderwatch demo load``: generate the demo and load it through the real load path.

Order: schema (migrate to head), reference geodata (``load_geodata``), then incidents, flows,
benchmarks, strategies and trainings with ``etl.load.load_file`` under the source name
``demo``, and last the illustrative section impact levels with ``etl.load.load_impact_levels``. The
same validation, enrichment and bookkeeping run as for a service's own files.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, exists, select

from etl.analytics.hotspot_job import run_hotspots
from etl.analytics.impact import run_impact
from etl.demo.generate import DemoFiles, DemoSpec, generate
from etl.demo.reference import FILES as REFERENCE_FILES
from etl.errors import ConfigurationError
from etl.load import load_file, load_impact_levels
from etl.report import LoadReport
from etl.runs import Progress
from etl.settings import Settings
from etl.sources.geodata import load_geodata
from etl.sources.impact_levels import KIND as IMPACT_KIND
from etl.warehouse import migrate
from etl.warehouse.schema import (
    benchmark_assessment,
    flow,
    incident,
    load_run,
    national_strategy,
    section_impact_history,
    training,
)

SOURCE = "demo"
KINDS = (("incidents", "incidents.csv"), ("flows", "flows.csv"),
         ("benchmarks", "benchmarks.csv"), ("strategies", "strategies.csv"),
         ("trainings", "trainings.csv"))
IMPACT_FILE = "impact_levels.csv"
Say = Callable[[str], None]


class _SayProgress:
    """Loader messages through ``say``; no bar."""

    def __init__(self, say: Say) -> None:
        self._say = say

    def message(self, text: str) -> None:
        self._say("  " + text)

    def update(self, done: int, total: int, rows: int) -> None:
        return None


@dataclass
class DemoLoad:
    """What ``load_demo`` did (``skipped`` when ``if_empty`` found incidents)."""

    skipped: bool = False
    files: DemoFiles | None = None
    reports: dict[str, LoadReport] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def rejected(self) -> int:
        return sum(r.rejected for r in self.reports.values())


def has_incidents(engine: Engine) -> bool:
    """Whether the warehouse holds any incident."""
    with engine.connect() as conn:
        return bool(conn.execute(select(exists().select_from(incident))).scalar())


def has_foreign_data(engine: Engine) -> bool:
    """Whether incidents, flows, assessments, strategies, trainings or section impact levels
    from a source other than the demo exist."""
    attributed = exists().where(
        section_impact_history.c.load_run_id == load_run.c.run_id, load_run.c.source != SOURCE
    )
    with engine.connect() as conn:
        return any(
            conn.execute(select(exists().where(table.c.source != SOURCE))).scalar()
            for table in (incident, flow, benchmark_assessment, national_strategy, training)
        ) or bool(conn.execute(select(attributed)).scalar())


def load_demo(
    engine: Engine,
    settings: Settings,
    spec: DemoSpec,
    *,
    out_dir: Path | None = None,
    if_empty: bool = False,
    force: bool = False,
    say: Say | None = None,
    progress_for: Callable[[str], Progress] | None = None,
) -> DemoLoad:
    """Generate the demo into ``out_dir`` (default ``data_dir/demo``) and load all of it.

    Parameters
    ----------
    if_empty
        Do nothing when the warehouse already holds incidents (what ``make run`` uses).
    force
        Load even when the warehouse holds data of other sources: demo flows, benchmark
        assessments, strategies, trainings and section impact levels share their keys with
        real ones and would overwrite them.

    Raises
    ------
    ConfigurationError
        The warehouse holds other sources' data and ``force`` is not given.
    """
    say = say or (lambda _msg: None)
    result = DemoLoad()
    began = time.monotonic()
    migrate.upgrade(engine)
    if if_empty and has_incidents(engine):
        say("The warehouse already holds incidents: demo not loaded.")
        result.skipped = True
        return result
    if not force and has_foreign_data(engine):
        raise ConfigurationError(
            "the warehouse holds incidents, flows, assessments, strategies, trainings or impact "
            "levels that are not demo data; the demo's would overwrite real ones with the same "
            "keys. Use --force to load it anyway."
        )
    if has_incidents(engine):
        say("Note: the warehouse already holds demo data; rows of the earlier demo that this "
            "one does not regenerate (other ids or dates) stay in place.")
    out_dir = out_dir or settings.data_dir / "demo"
    say(f"Generating the demo into {out_dir}")
    result.files = generate(out_dir, spec, geodata_dir=settings.geodata_folder(REFERENCE_FILES),
                            progress=lambda m: say("  " + m))
    result.seconds["generate"] = result.files.total_seconds
    step = time.monotonic()
    say("Loading the reference geodata ...")
    counts = load_geodata(engine, settings)
    result.seconds["geodata"] = time.monotonic() - step
    say(f"  {counts.get('country', 0)} countries, {counts.get('border_section', 0)} border "
        f"sections, {counts.get('bcp', 0)} BCPs in {result.seconds['geodata']:.1f} s")
    for kind, name in KINDS:
        step = time.monotonic()
        say(f"Loading {name} ...")
        watcher = progress_for(kind) if progress_for else _SayProgress(say)
        try:
            report = load_file(engine, settings, kind, out_dir / name, source=SOURCE,
                               progress=watcher)
        finally:
            close = getattr(watcher, "close", None)
            if callable(close):
                close()
        result.reports[kind] = report
        result.seconds[kind] = time.monotonic() - step
        say("  " + report.summary().replace("\n", "\n  "))
    step = time.monotonic()
    say(f"Loading {IMPACT_FILE} (illustrative impact levels) ...")
    report = load_impact_levels(engine, settings, out_dir / IMPACT_FILE, source=SOURCE,
                                progress=_SayProgress(say))
    result.reports[IMPACT_KIND] = report
    result.seconds[IMPACT_KIND] = time.monotonic() - step
    say("  " + report.summary().replace("\n", "\n  "))
    if has_incidents(engine):
        step = time.monotonic()
        say("Computing the hotspot analysis and the suggested impact levels ...")
        say("  " + run_hotspots(engine, settings)[0].summary())
        say("  " + run_impact(engine, settings).summary())
        result.seconds["analyses"] = time.monotonic() - step
    result.seconds["total"] = time.monotonic() - began
    return result
