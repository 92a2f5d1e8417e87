"""Maintenance jobs that write the warehouse but are not file loads.

- :func:`rollup_job` brings the incident rollup up to date, or recomputes it from scratch
  (after a restore, a crash that emptied the unlogged rollup, or an edit made outside
  borderwatch).
- :func:`delete_source` takes back every incident of one source (a file loaded under the wrong
  source name, a test feed), and keeps the rollup exact in the same transaction.

Both hold the load lock, so they never interleave with a load, and both are recorded in
``load_run`` (kinds ``rollup`` and ``delete``) so the audit trail shows who changed what when.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from etl.analytics import rollup
from etl.errors import BorderwatchError, LoadError
from etl.load import Progress, hold_load_lock
from etl.runs import LoadReport, fail_run, finish_run, start_run
from etl.settings import Settings

log = logging.getLogger(__name__)


class UnknownSource(BorderwatchError):
    """No incident carries the source name given."""

    exit_code = 2


@dataclass(frozen=True)
class SourceCount:
    """Incidents stored for one source."""

    source: str
    incidents: int


@dataclass(frozen=True)
class DeleteReport:
    """What a delete did (or, in a dry run, would do)."""

    source: str
    deleted: int
    run_id: int | None
    dry_run: bool
    rollup_days: int
    seconds: float


def incident_sources(engine: Engine) -> list[SourceCount]:
    """Every source with its number of stored incidents, largest first."""
    with engine.connect() as conn:
        raw: psycopg.Connection = conn.connection.driver_connection  # type: ignore[assignment]
        rows = raw.execute(
            "SELECT source, count(*) FROM incident GROUP BY source ORDER BY 2 DESC, 1"
        ).fetchall()
    return [SourceCount(str(s), int(n)) for s, n in rows]


def delete_source(engine: Engine, settings: Settings, source: str, *,
                  dry_run: bool = False, progress: Progress | None = None) -> DeleteReport:
    """Delete every incident of ``source`` in one transaction, rollup included.

    Parameters
    ----------
    engine
        The warehouse.
    settings
        ``lock_timeout_s`` is used while another load runs.
    source
        The source name, exactly as stored (``borderwatch delete incidents --list`` shows them).
    dry_run
        Count only; delete nothing and record no run.
    progress
        Told when the delete waits for a running load.

    Raises
    ------
    UnknownSource
        No incident has that source; the message lists the known ones.
    LoadError
        The delete failed; nothing was deleted.
    """
    began = time.monotonic()
    known = {s.source: s.incidents for s in incident_sources(engine)}
    if source not in known:
        listed = ", ".join(f"{s} ({n:,})" for s, n in list(known.items())[:12]) or "none"
        raise UnknownSource(f"no incident has the source {source!r}; sources stored: {listed}")
    if dry_run:
        return DeleteReport(source, known[source], None, True, 0, time.monotonic() - began)
    report = LoadReport(kind="delete", source=source, file_name="(borderwatch delete)")
    with _recorded(engine, settings, report, began, progress,
                   failed="the delete failed", kept="nothing was deleted") as (conn, raw):
        deleted = int(raw.execute("DELETE FROM incident WHERE source = %s", (source,)).rowcount)
        refreshed = rollup.refresh(conn, run_id=report.run_id)
        report.message = f"deleted {deleted:,} incident(s) of source {source}"
    log.info("%s; rollup: %d day(s) recomputed", report.message, refreshed.days)
    return DeleteReport(source, deleted, report.run_id, False, refreshed.days,
                        time.monotonic() - began)


def rollup_job(engine: Engine, settings: Settings, *, rebuild: bool = False,
               progress: Progress | None = None) -> rollup.RefreshReport:
    """Refresh the incident rollup, or recompute all of it (``rebuild``), under the load lock
    (``progress`` is told when the job waits for a running load).

    Raises
    ------
    LoadError
        The job failed; the rollup is as it was.
    """
    began = time.monotonic()
    report = LoadReport(kind="rollup", source="incident_rollup",
                        file_name="(rebuild)" if rebuild else "(refresh)")
    with _recorded(engine, settings, report, began, progress,
                   failed="the rollup job failed", kept="the rollup is as it was") as (conn, _):
        done = rollup.rebuild(conn) if rebuild else rollup.refresh(conn)
        report.message = (f"{'rebuilt' if rebuild else 'refreshed'}: {done.days:,} day(s), "
                          f"{done.rows:,} rollup row(s)")
    return done


@contextmanager
def _recorded(engine: Engine, settings: Settings, report: LoadReport, began: float,
              progress: Progress | None, *, failed: str, kept: str
              ) -> Iterator[tuple[Connection, psycopg.Connection]]:
    """A maintenance job as a recorded run: the run row, one transaction under the load lock,
    the final counts on success; on failure the run marked failed and a ``LoadError`` saying
    ``failed`` and ``kept``."""
    report.run_id = start_run(engine, kind=report.kind, source=report.source,
                              file_name=report.file_name, checksum=None)
    try:
        with engine.begin() as conn:
            raw: psycopg.Connection = conn.connection.driver_connection  # type: ignore[assignment]
            hold_load_lock(raw, report.run_id, settings, progress)
            yield conn, raw
            finish_run(conn, report, started=began)
    except (psycopg.Error, SQLAlchemyError, LoadError) as exc:
        message = exc.user_message if isinstance(exc, LoadError) else "database error"
        log.error("%s run %s failed: %r", report.kind, report.run_id, exc)
        fail_run(engine, report, started=began, message=f"{report.kind} failed: {message}")
        raise LoadError(f"{failed} ({message}); {kept}", detail=repr(exc)) from exc
