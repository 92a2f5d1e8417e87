"""``borderwatch rejects``: the rejected rows of a run, with their reasons."""

from __future__ import annotations

import csv
import json
import sys
from typing import Any

import click

from etl.cli.common import cli_group, safe, settings_from
from etl.errors import BorderwatchError
from etl.load import iter_rejects
from etl.warehouse.engine import connect, driver_connection, get_engine
from etl.warehouse.runs import run_info


@cli_group.command("rejects")
@click.option("--run", "run_id", type=int, default=None, help="Load run id (default: the latest).")
@click.option("--csv", "as_csv", is_flag=True,
              help="CSV on stdout: row number, reason codes, messages, then the original columns.")
@click.pass_context
@safe
def rejects(ctx: click.Context, run_id: int | None, as_csv: bool) -> None:
    """List the rejected rows of a load run with their reasons (the latest run by default)."""
    engine = get_engine(settings_from(ctx))
    with connect(engine) as conn:
        info = run_info(driver_connection(conn), run_id)
    if info is None:
        raise BorderwatchError(
            f"no load run {run_id}" if run_id is not None else "no load has been run yet"
        )
    rows = iter_rejects(engine, info.run_id)
    if as_csv:
        _rejects_csv(rows)
        return
    _rejects_text(info, rows)


def _rejects_text(info: Any, rows: Any) -> None:
    click.echo(f"run {info.run_id}: {info.kind} from {info.file_name} (source {info.source}), "
               f"{info.status}, {info.rows_rejected:,} rejected")
    for number, raw, reasons in rows:
        click.echo(f"row {number}:")
        for r in reasons:
            where = f" [{r.get('field')}]" if r.get("field") else ""
            click.echo(f"  {r.get('code')}{where}: {r.get('message')}")
        click.echo("  raw: " + json.dumps(raw, ensure_ascii=False))


def _rejects_csv(rows: Any) -> None:
    """Two passes would need the column list first; keep the first 1,000 rows to find it."""
    writer = csv.writer(sys.stdout, lineterminator="\n")
    buffered: list[tuple[int, dict[str, Any], list[dict[str, Any]]]] = []
    columns: list[str] = []
    header_done = False

    def emit(number: int, raw: dict[str, Any], reasons: list[dict[str, Any]]) -> None:
        writer.writerow([
            number, ";".join(str(r.get("code")) for r in reasons),
            " | ".join(str(r.get("message")) for r in reasons),
            *[raw.get(c, "") for c in columns],
        ])

    for item in rows:
        if not header_done:
            buffered.append(item)
            for key in item[1]:
                if key not in columns:
                    columns.append(key)
            if len(buffered) < 1000:
                continue
            writer.writerow(["row_number", "codes", "messages", *columns])
            header_done = True
            for b in buffered:
                emit(*b)
            buffered = []
            continue
        emit(*item)
    if not header_done:
        writer.writerow(["row_number", "codes", "messages", *columns])
        for b in buffered:
            emit(*b)
