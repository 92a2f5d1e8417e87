"""``borderwatch load``: one command per input kind (``etl.sources.KINDS``, made when asked,
so a kind registered there has its command) and ``load geodata`` (``reference``).

Exit status of every load: 0 when the file was processed (rejects are reported, not fatal), 1
when the load failed and nothing was written, 2 for bad usage (missing file, unknown format,
missing required columns).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from etl.cli.common import BarProgress, QuietProgress, safe, settings_from
from etl.load import LoadRunFailed, load_file
from etl.report import LoadReport
from etl.settings import Settings
from etl.sources import KINDS
from etl.validate import SourceSpec
from etl.warehouse import audit
from etl.warehouse.engine import get_engine


class _KindsGroup(click.Group):
    """A group whose commands are its own plus one per registered input kind."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        kinds = [k.replace("_", "-") for k in KINDS]
        return sorted(set(super().list_commands(ctx)) | set(kinds))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        spec = KINDS.get(name.replace("-", "_"))
        return super().get_command(ctx, name) or (_make_command(spec) if spec else None)


@click.group(cls=_KindsGroup)
def load() -> None:
    """Load files into the warehouse (every row loaded or rejected with a reason)."""


def _print_report(report: LoadReport, as_json: bool) -> None:
    click.echo(report.json() if as_json else report.summary())


#: Loads that are decisions of a service, written to the audit log with who loaded them.
AUDITED_KINDS = frozenset({"impact_levels"})


def _audit(settings: Settings, kind: str, file: Path, report: LoadReport) -> None:
    """An audit entry for a (not dry-run) load of an audited kind, succeeded or failed."""
    if kind not in AUDITED_KINDS or report.dry_run:
        return
    audit.record(get_engine(settings), audit.Actor.system(), f"{kind}_load", target=file.name, detail={
        "run_id": report.run_id, "status": report.status, "read": report.read, "updated": report.updated,
        "unchanged": report.unchanged, "rejected": report.rejected})


def _make_command(spec: SourceSpec) -> click.Command:
    kind = spec.kind
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
            _audit(settings, kind, file, exc.report)
            raise
        finally:
            if isinstance(progress, BarProgress):
                progress.close()
        _print_report(report, as_json)
        _audit(settings, kind, file, report)

    command.__doc__ = (
        f"Load a FILE of {spec.label} (.csv, .geojson, .gpkg; see docs/formats.md). Every row "
        "is inserted, updated, left unchanged or rejected with its reasons."
    )
    return click.command(kind.replace("_", "-"))(command)
