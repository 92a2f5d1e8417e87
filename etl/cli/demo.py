"""``borderwatch demo generate`` and ``borderwatch demo load``: the illustrative dataset."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click

from etl.cli.common import cli_group, safe, settings_from
from etl.errors import LoadError


@click.group()
def demo() -> None:
    """Illustrative demo data on the real geography, in the real interchange formats."""


def _size_options(func):  # type: ignore[no-untyped-def]
    func = click.option("--seed", type=int, default=None,
                        help="Random seed [default: BORDERWATCH_DEMO_SEED].")(func)
    func = click.option("--days", type=click.IntRange(1, 20_000), default=None,
                        help="Days of history [default: BORDERWATCH_DEMO_DAYS].")(func)
    func = click.option("--incidents", type=click.IntRange(min=0), default=None,
                        help="Number of incidents [default: BORDERWATCH_DEMO_INCIDENTS].")(func)
    return func


@demo.command("generate")
@click.option("--out", "out_dir", required=True,
              type=click.Path(file_okay=False, path_type=Path), help="Folder to write to.")
@_size_options
@click.option("--end", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Last day of the window, YYYY-MM-DD [default: yesterday, UTC].")
@click.option("--with-errors", is_flag=True,
              help="Also write incidents_bad.csv: malformed rows for trying 'borderwatch rejects'.")
@click.pass_context
@safe
def generate_cmd(ctx: click.Context, out_dir: Path, incidents: int | None, days: int | None,
                 seed: int | None, end: dt.datetime | None, with_errors: bool) -> None:
    """Write incidents.csv, flows.csv, benchmarks.csv, strategies.csv, trainings.csv,
    impact_levels.csv and ground_truth.json to --out."""
    from etl.demo import DemoSpec, generate
    from etl.demo.reference import FILES

    settings = settings_from(ctx)
    spec = DemoSpec.from_settings(settings, incidents=incidents, days=days, seed=seed,
                                  end=end.date() if end else None, with_errors=with_errors)
    files = generate(out_dir, spec, geodata_dir=settings.geodata_folder(FILES),
                     progress=click.echo)
    click.echo(f"Demo dataset (illustrative) in {out_dir}, written in {files.total_seconds:.1f} s.")
    click.echo("What was planted: ground_truth.json. Load it with: borderwatch demo load")


@demo.command("load")
@_size_options
@click.option("--if-empty", is_flag=True,
              help="Do nothing when the warehouse already holds incidents (used by make run).")
@click.option("--force", is_flag=True,
              help="Load even if the warehouse holds other sources' data (demo flows, "
                   "assessments, strategies, trainings and impact levels overwrite rows with "
                   "the same keys).")
@click.pass_context
@safe
def load_cmd(ctx: click.Context, incidents: int | None, days: int | None, seed: int | None,
             if_empty: bool, force: bool) -> None:
    """Generate the demo into <data_dir>/demo and load geodata, incidents, flows, benchmarks,
    strategies, trainings and the illustrative section impact levels."""
    from etl.cli.common import BarProgress
    from etl.demo import DemoSpec
    from etl.demo.load import load_demo
    from etl.warehouse.engine import get_engine

    settings = settings_from(ctx)
    spec = DemoSpec.from_settings(settings, incidents=incidents, days=days, seed=seed)
    tty = sys.stdout.isatty() and sys.stderr.isatty()
    result = load_demo(get_engine(settings), settings, spec, if_empty=if_empty, force=force,
                       say=click.echo, progress_for=BarProgress if tty else None)
    if result.skipped:
        return
    click.echo(f"Demo loaded in {result.seconds['total']:.1f} s "
               f"(generate {result.seconds['generate']:.1f} s).")
    if result.rejected:
        raise LoadError(
            f"{result.rejected:,} demo row(s) were rejected; this is a bug in the demo "
            "generator (see: borderwatch rejects)"
        )


cli_group.add_command(demo)
