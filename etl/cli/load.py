"""The ``borderwatch load`` group and ``load impact-levels``; the other commands live in
``reference`` and ``ingest``.

Exit status of ``load impact-levels`` (as of every load): 0 when the file was processed
(rejects are reported, not fatal), 1 when the load failed and nothing was written, 2 for bad
usage (missing file, unknown format, missing required columns).
"""

from __future__ import annotations

from pathlib import Path

import click

from etl.cli.common import QuietProgress, safe, settings_from
from etl.load import LoadRunFailed
from etl.runs import report_json
from etl.sources.impact_levels import load_impact_levels
from etl.warehouse.engine import get_engine


@click.group()
def load() -> None:
    """Load files into the warehouse (every row loaded or rejected with a reason)."""


@load.command("impact-levels")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Validate and report; change no section.")
@click.option("--strict", is_flag=True,
              help="Any rejected row makes the load fail and change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@click.pass_context
@safe
def impact_levels(ctx: click.Context, file: Path, dry_run: bool, strict: bool,
                  as_json: bool) -> None:
    """Set the impact level of border sections from FILE (.csv, .geojson, .gpkg).

    Columns: section_id, impact_level (low|medium|high|critical), reason (required above
    low), attributed_at (default now), attributed_by; see docs/formats.md. A row that changes
    a section's level or reason is 'updated', one that matches it 'unchanged'.
    """
    settings = settings_from(ctx)
    try:
        report = load_impact_levels(get_engine(settings), settings, file, dry_run=dry_run,
                                    strict=strict, progress=QuietProgress())
    except LoadRunFailed as exc:
        click.echo(report_json(exc.report) if as_json else exc.report.summary())
        raise
    click.echo(report_json(report) if as_json else report.summary())
