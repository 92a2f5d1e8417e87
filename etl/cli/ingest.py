"""``borderwatch rejects``: the rejected rows of a run, with their reasons."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from etl.cli.common import cli_group, safe, settings_from
from etl.errors import BorderwatchError
from etl.load import iter_rejects
from etl.warehouse import csv_export
from etl.warehouse.engine import connect, driver_connection, get_engine
from etl.warehouse.runs import RunInfo, run_info


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
        _rejects_csv(info, rows)
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


def _rejects_csv(info: RunInfo, rows: Any) -> None:
    """Row number, codes, messages, then the file's columns in the file's order (and what the
    rows held beyond them: surplus fields, a geometry), every cell safe in a spreadsheet
    (``etl.warehouse.csv_export``). Columns beyond the header are found in the first 1,000
    rows."""
    out = csv_export.writer(sys.stdout)
    columns = [h if h.strip() else f"column_{i + 1}" for i, h in enumerate(info.header or [])]
    buffered: list[tuple[int, dict[str, Any], list[dict[str, Any]]]] = []
    header_done = False

    def emit(number: int, raw: dict[str, Any], reasons: list[dict[str, Any]]) -> None:
        out.writerow([
            number, ";".join(str(r.get("code")) for r in reasons),
            " | ".join(str(r.get("message")) for r in reasons),
            *[raw.get(c, "") for c in columns],
        ])

    def start() -> None:
        out.writerow(["row_number", "codes", "messages", *columns])
        for b in buffered:
            emit(*b)

    for item in rows:
        if header_done:
            emit(*item)
            continue
        buffered.append(item)
        columns.extend(k for k in item[1] if k not in columns)
        if len(buffered) >= 1000:
            start()
            header_done = True
    if not header_done:
        start()
