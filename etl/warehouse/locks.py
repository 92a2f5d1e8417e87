"""The advisory locks every recorded job holds for its transaction.

- The **run lock** ``(RUN_LOCK_NS, run_id)`` says that the process of a run is alive: a run
  left 'running' whose run lock is free belonged to a process that died, and is marked failed.
- The **load lock** ``LOAD_LOCK_KEY`` serialises every job that writes the warehouse (loads,
  geodata, deletes, rollup and analysis jobs). A busy lock is waited for at most
  ``lock_timeout_s`` seconds, then ``LoadBusy``.
"""

from __future__ import annotations

from collections.abc import Callable

import psycopg

from etl.errors import LoadBusy
from etl.warehouse.runs import close_dead_runs

#: Key of the advisory lock every writing job holds for its whole transaction.
LOAD_LOCK_KEY = 7_236_286_020_411_265_892
#: Namespace of the per-run advisory locks (pg_advisory_xact_lock(RUN_LOCK_NS, run_id)).
RUN_LOCK_NS = 0x62770001

_RUN_LOCK = "SELECT pg_advisory_xact_lock(%s, %s)"
_TRY_RUN_LOCK = "SELECT pg_try_advisory_xact_lock(%s, %s)"
_TRY_LOAD_LOCK = "SELECT pg_try_advisory_xact_lock(%s)"
_LOAD_LOCK = "SELECT pg_advisory_xact_lock(%s)"
_LOCK_TIMEOUT = "SELECT set_config('lock_timeout', %s, true)"


def hold_run_lock(db: psycopg.Connection, run_id: int) -> None:
    """Take this run's own lock (until the transaction ends)."""
    db.execute(_RUN_LOCK, (RUN_LOCK_NS, run_id))


def hold_load_lock(db: psycopg.Connection, run_id: int, timeout_s: int,
                   waiting: Callable[[str], None]) -> None:
    """Take the load lock, waiting at most ``timeout_s`` seconds (``waiting`` is told first);
    then mark the runs of dead processes failed.

    Raises
    ------
    LoadBusy
        Another job held the lock for longer (or at all, with ``timeout_s`` 0).
    """
    got = db.execute(_TRY_LOAD_LOCK, (LOAD_LOCK_KEY,)).fetchone()
    if not (got and got[0]):
        if timeout_s <= 0:
            raise LoadBusy("another load is running; try again when it has finished")
        waiting(f"waiting for another load to finish (at most {timeout_s} s)…")
        db.execute(_LOCK_TIMEOUT, (f"{timeout_s}s",))
        try:
            db.execute(_LOAD_LOCK, (LOAD_LOCK_KEY,))
        except psycopg.errors.LockNotAvailable as exc:
            raise LoadBusy(f"another load was still running after {timeout_s} s "
                           "(try again later)") from exc
        db.execute(_LOCK_TIMEOUT, ("0",))
    close_dead_runs(db, run_id, lambda other: not _lock_free(db, other))


def _lock_free(db: psycopg.Connection, run_id: int) -> bool:
    """True when nobody holds the run lock of ``run_id`` (this transaction takes it then)."""
    row = db.execute(_TRY_RUN_LOCK, (RUN_LOCK_NS, run_id)).fetchone()
    return bool(row and row[0])
