"""``borderwatch load incidents|flows|benchmarks FILE`` and ``borderwatch rejects``.

Exit status of a load: 0 when the file was processed (rejects are reported, not fatal), 1 when
the load failed and nothing was written, 2 for bad usage (missing file, unknown format).
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any

import click
from tqdm import tqdm

from etl.cli.common import QuietProgress, cli_group, safe, settings_from
from etl.cli.load import load
from etl.errors import BorderwatchError
from etl.load import SPECS, LoadRunFailed, iter_rejects, load_file, run_info
from etl.runs import LoadReport, report_json
from etl.warehouse.engine import get_engine


class BarProgress:
    """A tqdm bar on stderr (bytes or features of the file), with messages above it."""

    def __init__(self, label: str) -> None:
        self._label = label
        self._bar: tqdm | None = None

    def message(self, text: str) -> None:
        if self._bar is not None:
            self._bar.write(text, file=sys.stderr)
        else:
            click.echo(text, err=True)

    def update(self, done: int, total: int, rows: int) -> None:
        if self._bar is None:
            self._bar = tqdm(total=total or None, desc=self._label, unit="B", unit_scale=True,
                             file=sys.stderr, leave=False, dynamic_ncols=True)
        self._bar.n = done
        self._bar.set_postfix_str(f"{rows:,} rows", refresh=False)
        self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _print_report(report: LoadReport, as_json: bool) -> None:
    click.echo(report_json(report) if as_json else report.summary())


def _make_command(kind: str) -> click.Command:
    @click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
    @click.option("--source", default=None,
                  help="Name of the sending service (incident ids are unique per source); "
                       "default: the file name without extension.")
    @click.option("--dry-run", is_flag=True, help="Validate and report; write no data.")
    @click.option("--strict", is_flag=True,
                  help="Any rejected row makes the load fail and write nothing.")
    @click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
    @click.pass_context
    @safe
    def command(ctx: click.Context, file: Path, source: str | None, dry_run: bool, strict: bool,
                as_json: bool) -> None:
        settings = settings_from(ctx)
        tty = sys.stdout.isatty() and sys.stderr.isatty() and not as_json
        progress: BarProgress | QuietProgress = BarProgress(kind) if tty else QuietProgress()
        try:
            report = load_file(get_engine(settings), settings, kind, file, source=source,
                               dry_run=dry_run, strict=strict, progress=progress)
        except LoadRunFailed as exc:
            if isinstance(progress, BarProgress):
                progress.close()
            _print_report(exc.report, as_json)
            raise
        finally:
            if isinstance(progress, BarProgress):
                progress.close()
        _print_report(report, as_json)

    command.__doc__ = (
        f"Load a {kind} FILE (.csv, .geojson, .gpkg; see docs/formats.md). Every row is "
        "inserted, updated, left unchanged or rejected with its reasons."
    )
    return click.command(kind)(command)


for _kind in SPECS:
    load.add_command(_make_command(_kind))


@cli_group.command("rejects")
@click.option("--run", "run_id", type=int, default=None, help="Load run id (default: the latest).")
@click.option("--csv", "as_csv", is_flag=True,
              help="CSV on stdout: row number, reason codes, messages, then the original columns.")
@click.pass_context
@safe
def rejects(ctx: click.Context, run_id: int | None, as_csv: bool) -> None:
    """List the rejected rows of a load run with their reasons (the latest run by default)."""
    engine = get_engine(settings_from(ctx))
    info = run_info(engine, run_id)
    if info is None:
        raise BorderwatchError(
            f"no load run {run_id}" if run_id is not None else "no load has been run yet"
        )
    rows = iter_rejects(engine, info.run_id)
    if as_csv:
        _rejects_csv(rows)
        return
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
