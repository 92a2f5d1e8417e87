"""``borderwatch load geodata`` and ``borderwatch load bcps FILE``."""

from __future__ import annotations

from pathlib import Path

import click

from etl.cli.common import safe, settings_from
from etl.cli.load import load
from etl.runs import report_json
from etl.sources.bcps import load_bcp_file
from etl.sources.geodata import GEODATA_DIR, load_geodata
from etl.warehouse.engine import get_engine

_TABLES = (
    "country", "border_line", "border_section", "bcp", "joint_patrol_agreement",
    "joint_patrol_area", "ibm_component", "ibm_level",
)


@load.command("geodata")
@click.option(
    "--dir", "directory", type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=GEODATA_DIR, show_default=True, help="Folder holding the reference files.",
)
@click.pass_context
@safe
def geodata(ctx: click.Context, directory: Path) -> None:
    """Load the reference geodata (boundaries, borders, BCPs, agreements, IBM framework)."""
    settings = settings_from(ctx)
    counts = load_geodata(get_engine(settings), settings, directory)
    click.echo(f"geodata from {directory} (run {counts['run_id']})")
    click.echo("  " + "  ".join(f"{t} {counts.get(t, 0):,}" for t in _TABLES))
    click.echo(
        f"  inserted {counts['inserted']:,}  updated {counts['updated']:,}  "
        f"unchanged {counts['unchanged']:,}  rejected {counts['rejected']:,}  "
        f"stale sections removed {counts['deleted']:,}"
    )
    if counts["rejected"]:
        click.echo(f"  see the rejected BCPs with: borderwatch rejects --run {counts['run_id']}")


@load.command("bcps")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--source", default=None, help="Source label stored with each BCP (default: file name).")
@click.option("--json", "as_json", is_flag=True, help="Print the load report as JSON.")
@click.pass_context
@safe
def bcps(ctx: click.Context, file: Path, source: str | None, as_json: bool) -> None:
    """Load a BCP registry FILE (CSV, the format of geodata/bcps.csv); bad rows are rejected."""
    settings = settings_from(ctx)
    report = load_bcp_file(get_engine(settings), settings, file, source)
    click.echo(report_json(report) if as_json else report.summary())
