"""``borderwatch delete incidents``, ``borderwatch analyse rollup`` and ``borderwatch runs``."""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Any

import click

from etl.cli.common import LazyGroup, QuietProgress, cli_group, safe, settings_from
from etl.maintenance import delete_source, incident_sources, rollup_job
from etl.warehouse.engine import connect, driver_connection, get_engine
from etl.warehouse.runs import recent_runs


@cli_group.group("delete")
def delete() -> None:
    """Take data back out of the warehouse (recorded as a run, like a load)."""


@delete.command("incidents")
@click.option("--source", default=None,
              help="Delete every incident of this source (as stored; see --list).")
@click.option("--list", "list_sources", is_flag=True,
              help="List the sources with their number of incidents, delete nothing.")
@click.option("--dry-run", is_flag=True, help="Say how many incidents would go; delete nothing.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
@safe
def delete_incidents(ctx: click.Context, source: str | None, list_sources: bool, dry_run: bool,
                     yes: bool) -> None:
    """Delete every incident of one source, in one transaction (the map follows at once).

    For a file loaded under the wrong source name, or a test feed: load it again under the
    right name, then delete the wrong one.
    """
    engine = get_engine(settings_from(ctx))
    if list_sources:
        for s in incident_sources(engine):
            click.echo(f"{s.incidents:>12,}  {s.source}")
        return
    if source is None:
        raise click.UsageError("give --source NAME (or --list to see the sources)")
    plan = delete_source(engine, settings_from(ctx), source, dry_run=True)
    if dry_run:
        click.echo(f"would delete {plan.deleted:,} incident(s) of source {source} [dry run]")
        return
    if not yes:
        if not sys.stdin.isatty():
            raise click.UsageError("not a terminal: add --yes to confirm the delete")
        click.confirm(f"Delete {plan.deleted:,} incident(s) of source {source}?", abort=True)
    done = delete_source(engine, settings_from(ctx), source, progress=QuietProgress())
    click.echo(f"deleted {done.deleted:,} incident(s) of source {source} (run {done.run_id}); "
               f"map summary recomputed for {done.rollup_days:,} day(s)")


analyse = LazyGroup("analyse", help="Batch jobs that recompute derived tables.")
cli_group.add_command(analyse)
# the hotspot analysis stack (scipy, libpysal, ...: 176 modules) is imported only when run
analyse.add_lazy("hotspots", "etl.cli.analytics:analyse_hotspots")
analyse.add_lazy("impact", "etl.cli.analytics:analyse_impact")


@analyse.command("rollup")
@click.option("--rebuild", is_flag=True,
              help="Recompute the whole summary from the incidents (after a restore, a crash "
                   "or an edit made outside borderwatch).")
@click.pass_context
@safe
def analyse_rollup(ctx: click.Context, rebuild: bool) -> None:
    """Bring the map's incident summary up to date (every load already does this)."""
    settings = settings_from(ctx)
    click.echo("recomputing the incident summary…" if rebuild else "refreshing…", err=True)
    done = rollup_job(get_engine(settings), settings, rebuild=rebuild, progress=QuietProgress())
    click.echo(f"{'rebuilt' if rebuild else 'refreshed'}: {done.days:,} day(s), "
               f"{done.rows:,} summary row(s) in {done.seconds:.1f} s (version {done.version})")


@cli_group.command("runs")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 10_000),
              help="How many runs, newest first.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_context
@safe
def runs(ctx: click.Context, limit: int, as_json: bool) -> None:
    """The latest load runs (loads, deletes, rollup jobs) with their counts: the audit trail."""
    with connect(get_engine(settings_from(ctx))) as conn:
        rows = recent_runs(driver_connection(conn), limit)
    if as_json:
        for r in rows:
            click.echo(json.dumps(r, default=str))
        return
    if not rows:
        click.echo("no run yet")
        return
    for line in runs_table(rows):
        click.echo(line)


_COLUMNS = (  # heading, width floor, right-aligned
    ("run", 3, True), ("started (UTC)", 19, False), ("kind", 4, False), ("status", 6, False),
    ("source", 6, False), ("file", 4, False), ("read", 4, True), ("inserted", 8, True),
    ("updated", 7, True), ("unchanged", 9, True), ("rejected", 8, True), ("message", 0, False),
)


def runs_table(rows: list[dict[str, Any]]) -> list[str]:
    """``runs`` as text: a header row, then one aligned row per run (message last, as is)."""
    cells = []
    for r in rows:
        when = r["started_at"].astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S") \
            if r["started_at"] else "?"
        cells.append([
            str(r["run_id"]), when, r["kind"], r["status"], r["source"],
            r["file_name"] + (" [dry run]" if r["dry_run"] else ""),
            *(f"{r[c]:,}" for c in ("rows_read", "rows_inserted", "rows_updated",
                                     "rows_unchanged", "rows_rejected")),
            r["message"] or "",
        ])
    widths = [max([floor, len(head), *(len(c[i]) for c in cells)]) if i < len(_COLUMNS) - 1
              else 0 for i, (head, floor, _) in enumerate(_COLUMNS)]

    def line(values: list[str]) -> str:
        return "  ".join(v.rjust(w) if right else v.ljust(w)
                         for v, w, (_, _, right) in zip(values, widths, _COLUMNS, strict=True)
                         ).rstrip()

    return [line([head for head, _, _ in _COLUMNS]), *(line(c) for c in cells)]
