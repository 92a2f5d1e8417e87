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
from dataclasses import dataclass

from sqlalchemy import Engine

from etl.analytics import rollup
from etl.errors import BorderwatchError
from etl.runs import Progress, recorded_run
from etl.settings import Settings
from etl.warehouse import facts
from etl.warehouse.engine import connect, driver_connection

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
    with connect(engine) as conn:
        return [SourceCount(s, n) for s, n in facts.incident_sources(driver_connection(conn))]


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
    LoadRunFailed
        The delete failed; nothing was deleted.
    """
    began = time.monotonic()
    known = {s.source: s.incidents for s in incident_sources(engine)}
    if source not in known:
        listed = ", ".join(f"{s} ({n:,})" for s, n in list(known.items())[:12]) or "none"
        raise UnknownSource(f"no incident has the source {source!r}; sources stored: {listed}")
    if dry_run:
        return DeleteReport(source, known[source], None, True, 0, time.monotonic() - began)
    with recorded_run(engine, settings, kind="delete", source=source,
                      file_name="(borderwatch delete)", progress=progress,
                      kept="nothing was deleted") as run:
        deleted = facts.delete_source(run.db, source)
        refreshed = rollup.refresh(run.conn, run_id=run.run_id)
        run.report.message = f"deleted {deleted:,} incident(s) of source {source}"
    log.info("%s; rollup: %d day(s) recomputed", run.report.message, refreshed.days)
    return DeleteReport(source, deleted, run.run_id, False, refreshed.days,
                        time.monotonic() - began)


def rollup_job(engine: Engine, settings: Settings, *, rebuild: bool = False,
               progress: Progress | None = None) -> rollup.RefreshReport:
    """Refresh the incident rollup, or recompute all of it (``rebuild``), under the load lock
    (``progress`` is told when the job waits for a running load).

    Raises
    ------
    LoadRunFailed
        The job failed; the rollup is as it was.
    """
    with recorded_run(engine, settings, kind="rollup", source="incident_rollup",
                      file_name="(rebuild)" if rebuild else "(refresh)", progress=progress,
                      kept="the rollup is as it was") as run:
        done = rollup.rebuild(run.conn) if rebuild else rollup.refresh(run.conn)
        run.report.message = (f"{'rebuilt' if rebuild else 'refreshed'}: {done.days:,} day(s), "
                              f"{done.rows:,} rollup row(s)")
    return done

