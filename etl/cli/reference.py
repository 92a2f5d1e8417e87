"""``borderwatch load geodata``."""

from __future__ import annotations

from pathlib import Path

import click

from etl.cli.common import safe, settings_from
from etl.cli.load import load
from etl.sources.geodata import FILES, load_geodata
from etl.warehouse.engine import get_engine

_TABLES = (
    "country", "border_line", "border_section", "bcp", "joint_patrol_agreement",
    "joint_patrol_area", "ibm_component", "ibm_level",
)


@load.command("geodata")
@click.option(
    "--dir", "directory", type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    help="Folder holding the reference files [default: BORDERWATCH_GEODATA_DIR, which is the "
         "copy shipped with borderwatch unless set].",
)
@click.pass_context
@safe
def geodata(ctx: click.Context, directory: Path | None) -> None:
    """Load the reference geodata (boundaries, borders, BCPs, agreements, IBM framework)."""
    settings = settings_from(ctx)
    directory = directory or settings.geodata_folder(FILES.values())
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

