"""``borderwatch briefing --out FILE.pdf [--from D --to D] [--round R]``: the forum briefing pack
from the command line, with a progress bar on the terminal.

Access: the command line runs as the operator, with full access (every incident, whatever its
sharing level); the pack's footer says so ("sharing level: national (full access)"). Each
pack made is written to the audit log (who: ``cli:<system user>``).
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import click
from sqlalchemy import Engine
from tqdm import tqdm

from dashboard.briefing import Briefing, BriefingRequest, build_briefing, operator_scope
from dashboard.queries import benchmarks, gateway, incidents
from dashboard.queries.scope import Scope
from dashboard.viewstate import Filters, default_filters
from etl.cli.common import TerminalBar, safe, settings_from
from etl.errors import BorderwatchError, ConfigurationError
from etl.warehouse import audit
from etl.warehouse.engine import get_engine


class _Bar:
    """A tqdm bar of the briefing's steps on stderr, the current step as its postfix."""

    def __init__(self) -> None:
        self._bar: tqdm | None = None

    def __call__(self, label: str, done: int, total: int) -> None:
        if self._bar is None:
            self._bar = TerminalBar(total=total, desc="briefing", unit="step",
                                    file=sys.stderr, leave=False, dynamic_ncols=True)
        self._bar.total = total
        self._bar.n = done
        self._bar.set_postfix_str(label, refresh=False)
        self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _period(engine: object, start: datetime | None, end: datetime | None) -> Filters:
    if start is None and end is None:
        today = datetime.now(UTC).date()
        return default_filters(today, incidents.extent(engine).last)  # type: ignore[arg-type]
    raw = {"from": start.date().isoformat() if start else "",
           "to": end.date().isoformat() if end else ""}
    if start and end and start > end:
        raise ConfigurationError("--from must not be after --to")
    return Filters.from_dict({k: v for k, v in raw.items() if v})


@click.command("briefing")
@click.option("--out", "out", required=True,
              type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="Where to write the PDF (an existing file is replaced).")
@click.option("--from", "start", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="First day of the period, YYYY-MM-DD [default: as the situation map, the "
                   "last 90 days up to the newest incident].")
@click.option("--to", "end", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Last day of the period, YYYY-MM-DD (without --from: 90 days up to it).")
@click.option("--round", "round_label", default=None,
              help="Assessment round of the scorecard [default: the newest loaded].")
@click.pass_context
@safe
def briefing(ctx: click.Context, out: Path, start: datetime | None, end: datetime | None,
             round_label: str | None) -> None:
    """Write the forum briefing pack (PDF): cover, regional situation with a map of hotspots
    and border sections, the IBM scorecard, and a page per administration.

    The command line has full access (the operator): the pack holds every incident whatever
    its sharing level, and its footer says 'sharing level: national (full access)'.
    """
    settings = settings_from(ctx)
    if not out.parent.is_dir():
        raise ConfigurationError(f"the folder {out.parent} does not exist")
    operator = audit.Actor.system()
    with gateway.scoped(Scope.full(operator.name)):
        period, made = _make(get_engine(settings, read_only=True), start, end, round_label)
    try:
        out.write_bytes(made.pdf)
    except OSError as exc:
        raise BorderwatchError(f"cannot write {out}: {exc.strerror}") from exc
    audit.record(get_engine(settings), operator, "briefing", target=str(out), detail={
        "pages": made.pages, "from": period.date_from.isoformat(), "to": period.date_to.isoformat(),
        "sharing": operator_scope().sharing})
    click.echo(f"Briefing written to {out}: {made.pages} pages, {len(made.pdf) / 1e6:.2f} MB, "
               f"period {period.date_from} to {period.date_to}, made in {made.seconds:.1f} s.")


def _make(engine: Engine, start: datetime | None, end: datetime | None, round_label: str | None
          ) -> tuple[Filters, Briefing]:
    """The period and the pack (inside the operator's full scope)."""
    period = _period(engine, start, end)
    if round_label is not None:
        known = [r.label for r in benchmarks.rounds(engine)]
        wanted = round_label.strip().upper()
        if wanted not in known:
            raise ConfigurationError(
                f"unknown round {round_label!r}; rounds loaded: {', '.join(known) or 'none'}")
        round_label = wanted
    request = BriefingRequest(filters=period, round=round_label, scope=operator_scope())
    bar = _Bar() if sys.stderr.isatty() else None
    try:
        made = build_briefing(engine, request, progress=bar)
    finally:
        if bar is not None:
            bar.close()
    return period, made
