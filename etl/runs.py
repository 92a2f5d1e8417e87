"""The one lifecycle of a recorded job: run row, locks, work, finish or fail.

Every job that writes the warehouse (a file load, ``load geodata``, a delete, a rollup or an
analysis job) runs inside :func:`recorded_run`::

    from etl.runs import recorded_run

    with recorded_run(engine, settings, kind="hotspots", source="incident",
                      file_name="(analyse hotspots)", kept="the hotspots are as they were"
                      ) as run:
        n = compute_and_store(run.db)          # psycopg, inside the job's one transaction
        run.report.inserted = n                # counts shown by `borderwatch runs`
        run.report.message = f"{n:,} cells"    # optional note kept with the run

What it does, in order:

1. records the run in ``load_run`` as 'running' (committed at once: a job that fails or is
   killed is still on record) with its ``kind``, ``source``, ``file_name`` (a file, or a
   description in parentheses) and ``checksum``;
2. opens ONE transaction and takes the run's own lock and, unless ``exclusive=False`` (dry
   runs), the load lock that serialises every writing job, waiting at most
   ``settings.lock_timeout_s`` seconds (``progress`` is told it waits);
3. hands the job a :class:`Run`: ``run.db`` (the psycopg connection of the transaction; see
   ``etl.warehouse`` for how the ETL writes SQL), ``run.conn`` (the same connection as
   SQLAlchemy's), ``run.report`` (the counts to record), ``run.settings``, ``run.progress``;
4. on success writes the final counts and status in the same transaction and commits;
5. on failure rolls the transaction back (nothing the job wrote stays), records the run as
   failed with a safe message, and raises :class:`LoadRunFailed` (``LoadRunBusy`` when the
   load lock stayed busy) whose message is ``"<reason>; <kept>"``, e.g. "another load was
   still running after 600 s (try again later); nothing was written". ``run.report`` holds
   the counts of a failed run: nothing loaded (see ``etl.report.LoadReport``).

A job may also end as failed while keeping what it wrote (``--strict`` keeps its rejects for
inspection): ``run.fail(reason)``, then leave the ``with`` block normally; the final row and
the writes are committed together and ``LoadRunFailed`` is raised with ``reason`` as its
message (which says what was kept: "strict mode: 9 row(s) rejected, nothing was loaded").

Nothing but ``BorderwatchError`` subclasses leaves the block: a database error becomes
"database error (check logs)", any other unexpected exception "internal error (check logs)"
(its traceback goes to the log, never to the user). A ``KeyboardInterrupt`` is recorded as
"interrupted" and raised again as itself.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import psycopg
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from etl.errors import BorderwatchError, DatabaseUnavailable, LoadBusy, LoadError
from etl.report import LoadReport
from etl.settings import Settings
from etl.warehouse import locks
from etl.warehouse import runs as run_rows
from etl.warehouse.engine import driver_connection

log = logging.getLogger(__name__)

#: What a failed load says was kept (the default ``kept`` of ``recorded_run``).
NOTHING_WRITTEN = "nothing was written"
_CHECK_CLIENT = "SET LOCAL client_connection_check_interval = '2s'"


class Progress(Protocol):
    """What a job tells whoever watches it (a progress bar, a log)."""

    def message(self, text: str) -> None: ...

    def update(self, done: int, total: int, rows: int) -> None: ...


class SilentProgress:
    """Progress that only logs its messages."""

    def message(self, text: str) -> None:
        log.info(text)

    def update(self, done: int, total: int, rows: int) -> None:
        return None


class LoadRunFailed(LoadError):
    """A recorded job failed and changed nothing (but its record and, for ``--strict``, its
    rejects); ``report`` holds its counts."""

    def __init__(self, user_message: str, report: LoadReport, detail: str | None = None) -> None:
        super().__init__(user_message, detail)
        self.report = report


class LoadRunBusy(LoadRunFailed, LoadBusy):
    """A recorded job gave up waiting for the load lock."""


@dataclass
class Run:
    """A running recorded job, as handed to its code by :func:`recorded_run`."""

    report: LoadReport
    conn: Connection
    db: psycopg.Connection
    settings: Settings
    progress: Progress
    started: float
    failure: str | None = None

    @property
    def run_id(self) -> int:
        assert self.report.run_id is not None
        return self.report.run_id

    def fail(self, reason: str) -> None:
        """End the run as failed but commit what the transaction holds (the job made sure it
        holds nothing but what should be kept, e.g. the rejects of a ``--strict`` load);
        ``LoadRunFailed(reason)`` is raised when the ``with`` block is left, so ``reason``
        says what was kept."""
        self.failure = reason


@contextmanager
def recorded_run(
    engine: Engine, settings: Settings, *, kind: str, source: str, file_name: str,
    checksum: str | None = None, dry_run: bool = False, exclusive: bool = True,
    progress: Progress | None = None, kept: str = NOTHING_WRITTEN,
) -> Iterator[Run]:
    """Run a job as a recorded run (see the module doc).

    Parameters
    ----------
    engine
        The warehouse.
    settings
        ``lock_timeout_s`` is used.
    kind, source, file_name, checksum, dry_run
        What ``load_run`` records (``file_name``: the file, or a description in parentheses).
    exclusive
        Take the load lock (every job that writes does; a dry run does not).
    progress
        Told when the job waits for the load lock; default: the log.
    kept
        What a failure leaves, said after the reason ("nothing was deleted").

    Raises
    ------
    LoadRunFailed
        The job failed; the run is recorded as failed.
    """
    progress = progress or SilentProgress()
    report = LoadReport(kind=kind, source=source, file_name=file_name, dry_run=dry_run)
    began = time.monotonic()
    try:
        with engine.begin() as c:
            report.run_id = run_rows.insert_run(driver_connection(c), kind=kind, source=source,
                                                file_name=file_name, checksum=checksum,
                                                dry_run=dry_run)
    except (psycopg.Error, SQLAlchemyError) as exc:
        log.error("could not record a %s run: %r", kind, exc)
        raise DatabaseUnavailable("the warehouse cannot be reached or refused to record the "
                                  "run (check logs); nothing was written", repr(exc)) from exc
    run: Run | None = None
    try:
        with engine.connect() as conn, conn.begin():
            db = driver_connection(conn)
            db.execute(_CHECK_CLIENT)
            locks.hold_run_lock(db, report.run_id)
            if exclusive:
                locks.hold_load_lock(db, report.run_id, settings.lock_timeout_s,
                                     progress.message)
            run = Run(report, conn, db, settings, progress, began)
            yield run
            _close(report, began, run.failure)
            run_rows.finish(db, report)
    except BaseException as exc:  # recorded, then raised as a BorderwatchError (or ^C)
        _fail(engine, report, began, exc, kept)
    if run is not None and run.failure is not None:
        raise LoadRunFailed(run.failure, report)


def _close(report: LoadReport, began: float, failure: str | None) -> None:
    report.duration_s = time.monotonic() - began
    if failure is None:
        report.status = "succeeded"
        return
    report.status, report.message = "failed", failure
    report.nothing_loaded()


def _reason(exc: BaseException) -> str:
    """The safe text saying why a job failed."""
    if isinstance(exc, BorderwatchError):
        return exc.user_message
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    if isinstance(exc, (psycopg.Error, SQLAlchemyError)):
        return "database error (check logs)"
    if isinstance(exc, OSError):
        return f"input/output error: {exc.strerror or exc}"
    return "internal error (check logs)"


def _fail(engine: Engine, report: LoadReport, began: float, exc: BaseException,
          kept: str) -> None:
    """Record the run as failed (its transaction was rolled back) and raise."""
    reason = _reason(exc)
    if isinstance(exc, (BorderwatchError, KeyboardInterrupt, psycopg.Error, SQLAlchemyError)):
        log.error("%s run %s failed: %r", report.kind, report.run_id, exc)
    else:
        log.exception("%s run %s failed unexpectedly", report.kind, report.run_id)
    _close(report, began, reason)
    try:
        with engine.begin() as c:
            run_rows.finish(driver_connection(c), report)
    except SQLAlchemyError as inner:  # the database went away: the run row stays 'running'
        log.error("could not mark run %s failed: %s", report.run_id, inner)
    if isinstance(exc, KeyboardInterrupt):
        raise exc
    if isinstance(exc, LoadRunFailed):
        raise exc
    failed = LoadRunBusy if isinstance(exc, LoadBusy) else LoadRunFailed
    raise failed(f"{reason}; {kept}", report, detail=repr(exc)) from exc


def file_checksum(path: Path) -> str:
    """sha256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
