"""``borderwatch analyse hotspots`` and ``borderwatch analyse impact``."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click

from etl.analytics.hotspot_job import STAGES, Request, check_out, run_hotspots, write_out
from etl.analytics.impact import run_impact, write_levels
from etl.cli.common import QuietProgress, TerminalBar, safe, settings_from
from etl.warehouse.engine import get_engine
from etl.warehouse.schema import INCIDENT_CATEGORIES


class StageBar:
    """The stages of a job as a bar on stderr (a terminal), or one line per stage (a pipe)."""

    def __init__(self, stages: tuple[str, ...], label: str) -> None:
        self._stages = stages
        self._tty = sys.stderr.isatty()
        self._bar = (TerminalBar(total=len(stages), desc=label, unit="stage", file=sys.stderr,
                                 leave=False, dynamic_ncols=True) if self._tty else None)

    def __call__(self, name: str) -> None:
        if self._bar is None:
            click.echo(f"  {name} ...", err=True)
            return
        self._bar.n = self._stages.index(name) if name in self._stages else self._bar.n
        self._bar.set_postfix_str(name, refresh=False)
        self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _day(_ctx: click.Context, _param: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


@click.command("hotspots")
@click.option("--from", "date_from", callback=_day, metavar="YYYY-MM-DD",
              help="First day of the period (default: hotspot_steps steps before --to).")
@click.option("--to", "date_to", callback=_day, metavar="YYYY-MM-DD",
              help="Last day of the period (default: the latest incident's day).")
@click.option("--resolution", type=click.IntRange(4, 8), default=None,
              help="H3 resolution of the cells (default: BORDERWATCH_HOTSPOT_RESOLUTION, 6).")
@click.option("--category", "categories", multiple=True, type=click.Choice(INCIDENT_CATEGORIES),
              help="Only incidents of this category (repeat for several; default: all).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write one row per cell to this .csv or .geojson file.")
@click.option("--full", is_flag=True,
              help="Recount every step from the incidents (default: only the steps that loads "
                   "changed since the last run).")
@click.pass_context
@safe
def analyse_hotspots(ctx: click.Context, date_from: dt.date | None, date_to: dt.date | None,
                     resolution: int | None, categories: tuple[str, ...], out: Path | None,
                     full: bool) -> None:
    """Recompute the hotspot analysis the map shows: Getis-Ord Gi* per H3 cell over the
    period (FDR-corrected classes hot/cold at 90/95/99 %) and the emerging pattern of each
    cell (space-time Gi* per step, Mann-Kendall trend).

    The period is cut to whole steps (weeks start on Mondays). Recorded as a run (kind
    hotspots); a failed run leaves the previous analysis in place.
    """
    settings = settings_from(ctx)
    if out is not None:
        check_out(out)
    bar = StageBar(STAGES, "hotspots")
    try:
        report, result, meta = run_hotspots(
            get_engine(settings), settings,
            Request(date_from=date_from, date_to=date_to, resolution=resolution,
                    categories=tuple(categories), full=full),
            progress=QuietProgress(), stage=bar)
    finally:
        bar.close()
    click.echo(report.summary())
    click.echo("  seconds: " + ", ".join(f"{k} {v:.2f}" for k, v in report.seconds.items())
               + ("" if report.recounted_all else
                  f"; {report.recounted_steps:,} count row(s) recounted incrementally"), err=True)
    if out is not None:
        rows = write_out(out, result, meta)
        click.echo(f"wrote {rows:,} cells to {out}")


@click.command("impact")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the suggestions to this .csv file, in the impact-levels load "
                   "format (review it, then: borderwatch load impact-levels FILE).")
@click.option("--changed-only", is_flag=True,
              help="With --out: only the sections whose suggestion differs from the decided level.")
@click.pass_context
@safe
def analyse_impact(ctx: click.Context, out: Path | None, changed_only: bool) -> None:
    """Suggest an impact level for every border section from its recent incident pressure
    against its own baseline (thresholds: BORDERWATCH_IMPACT_*).

    A suggestion, not a decision: the map shows it beside the level the coordination centre
    decided where the two differ; nothing changes a section's level until a centre loads a file.
    """
    settings = settings_from(ctx)
    if out is not None and out.suffix.lower() != ".csv":
        raise click.BadParameter(f"must end in .csv, not {out.name!r}", param_hint="--out")
    if out is not None and not out.parent.is_dir():
        raise click.BadParameter(f"no folder {str(out.parent)!r}", param_hint="--out")
    report = run_impact(get_engine(settings), settings, progress=QuietProgress())
    click.echo(report.summary())
    for s in report.suggestions:
        if s.differs:
            click.echo(f"  {s.section_id:<10} decided {s.decided:<8} suggested {s.level:<6} "
                       f"{s.recent} recent vs {s.baseline:.1f} baseline ({s.ratio:.1f}x)")
    if out is not None:
        rows = write_levels(out, report.suggestions, dt.datetime.now(dt.UTC),
                            changed_only=changed_only)
        click.echo(f"wrote {rows:,} row(s) to {out} (impact-levels format; review, then "
                   f"borderwatch load impact-levels {out})")
