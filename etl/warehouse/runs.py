"""The ``load_run`` table: the one place that writes a run row and reads runs back.

Every recorded job (a file load, geodata, a delete, an analysis) is one row: inserted as
'running' when the job starts (committed at once, so a failed job is still on record), and
given its final status and counts at the end (``etl.runs.recorded_run``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import psycopg
from psycopg.rows import dict_row

#: Kinds of runs written by maintenance jobs (deletes, rollup), not by file loads.
MAINTENANCE_KINDS = ("delete", "rollup")

_INSERT = (
    "INSERT INTO load_run (kind, source, file_name, checksum, dry_run)"
    " VALUES (%s, %s, %s, %s, %s) RETURNING run_id"
)
_FINAL = (
    "UPDATE load_run SET finished_at = now(), status = %(status)s, rows_read = %(read)s,"
    " rows_inserted = %(inserted)s, rows_updated = %(updated)s,"
    " rows_unchanged = %(unchanged)s, rows_rejected = %(rejected)s,"
    " duration_s = %(duration_s)s, message = %(message)s WHERE run_id = %(run_id)s"
)
_HEADER = "UPDATE load_run SET header = %s WHERE run_id = %s"
_RUNNING = "SELECT run_id FROM load_run WHERE status = 'running' AND run_id <> %s"
_INTERRUPTED = (
    "UPDATE load_run SET status = 'failed', finished_at = now(), message = %s"
    " WHERE run_id = %s AND status = 'running'"
)
#: Message of a run whose process ended without finishing it.
INTERRUPTED = "interrupted: the loading process ended before finishing; nothing was written"
_RECENT = (
    "SELECT run_id, kind, source, file_name, started_at, status, dry_run, rows_read,"
    " rows_inserted, rows_updated, rows_unchanged, rows_rejected, duration_s, message"
    " FROM load_run ORDER BY run_id DESC LIMIT %s"
)
_INFO = ("SELECT run_id, kind, source, file_name, status, rows_rejected, header FROM load_run"
         " WHERE run_id = %s")
_LATEST_FILE_LOAD = (
    "SELECT run_id, kind, source, file_name, status, rows_rejected, header FROM load_run"
    " WHERE kind <> ALL(%s) ORDER BY run_id DESC LIMIT 1"
)


class Counts(Protocol):
    """What ``finish`` writes (an ``etl.report.LoadReport``)."""

    run_id: int | None
    status: str
    read: int
    inserted: int
    updated: int
    unchanged: int
    rejected: int
    duration_s: float
    message: str | None


def insert_run(db: psycopg.Connection, *, kind: str, source: str, file_name: str,
               checksum: str | None, dry_run: bool) -> int:
    """A new run row, status 'running'; its id."""
    row = db.execute(_INSERT, (kind, source, file_name, checksum, dry_run)).fetchone()
    assert row is not None
    return int(row[0])


def finish(db: psycopg.Connection, report: Counts) -> None:
    """Write the final status, counts, duration and message of a run."""
    db.execute(_FINAL, {
        "status": report.status, "read": report.read, "inserted": report.inserted,
        "updated": report.updated, "unchanged": report.unchanged,
        "rejected": report.rejected, "duration_s": report.duration_s,
        "message": report.message, "run_id": report.run_id,
    })


def set_header(db: psycopg.Connection, run_id: int, header: list[str]) -> None:
    """Keep the header of the run's file as written (the order of its columns)."""
    db.execute(_HEADER, (header, run_id))


def close_dead_runs(db: psycopg.Connection, run_id: int, alive: Any) -> None:
    """Mark 'running' runs other than ``run_id`` failed when ``alive(other)`` says their
    process is gone (``etl.warehouse.locks`` asks the run lock)."""
    for (other,) in db.execute(_RUNNING, (run_id,)).fetchall():
        if not alive(int(other)):
            db.execute(_INTERRUPTED, (INTERRUPTED, other))


def recent_runs(db: psycopg.Connection, limit: int = 20) -> list[dict[str, Any]]:
    """The latest ``limit`` runs of every kind, newest first, as dicts of their columns."""
    with db.cursor(row_factory=dict_row) as cur:
        return list(cur.execute(_RECENT, (limit,)).fetchall())


@dataclass
class RunInfo:
    """A run as listed by ``borderwatch rejects``."""

    run_id: int
    kind: str
    source: str
    file_name: str
    status: str
    rows_rejected: int
    header: list[str] | None = None


def run_info(db: psycopg.Connection, run_id: int | None = None) -> RunInfo | None:
    """The given run, or the latest file load (not a delete or rollup job); None if none."""
    if run_id is not None:
        row = db.execute(_INFO, (run_id,)).fetchone()
    else:
        row = db.execute(_LATEST_FILE_LOAD, (list(MAINTENANCE_KINDS),)).fetchone()
    return RunInfo(*row) if row else None
