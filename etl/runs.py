"""Load-run bookkeeping shared by every loader: the run record, its rejects, its report.

A run row is written in its own short transaction (so a failed load is still on record),
while the data itself is written in the loader's transaction.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.sql import func

from etl.warehouse.schema import load_run, rejected_row


@dataclass(frozen=True)
class Reason:
    """Why a row was rejected: a stable code, the field concerned, a message for people."""

    code: str
    field: str | None
    message: str


@dataclass
class Reject:
    """A rejected input row with its original text and every reason found."""

    row_number: int
    raw: dict[str, Any]
    reasons: list[Reason]


@dataclass
class LoadReport:
    """What a load did. Invariant: read = inserted + updated + unchanged + rejected."""

    kind: str
    source: str
    file_name: str
    run_id: int | None = None
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    duration_s: float = 0.0
    dry_run: bool = False
    status: str = "running"
    message: str | None = None
    reject_codes: dict[str, int] = field(default_factory=dict)

    def balanced(self) -> bool:
        return self.read == self.inserted + self.updated + self.unchanged + self.rejected

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        parts = [
            f"{self.kind} from {self.file_name} (source {self.source})"
            + (" [dry run]" if self.dry_run else ""),
            f"  read {self.read:,}  inserted {self.inserted:,}  updated {self.updated:,}  "
            f"unchanged {self.unchanged:,}  rejected {self.rejected:,}  in {self.duration_s:.1f} s",
        ]
        if self.reject_codes:
            top = sorted(self.reject_codes.items(), key=lambda kv: -kv[1])[:8]
            parts.append("  reject reasons: " + ", ".join(f"{c} ×{n}" for c, n in top))
        if self.run_id is not None and self.rejected:
            parts.append(f"  see them with: borderwatch rejects --run {self.run_id}")
        return "\n".join(parts)


def file_checksum(path: Path) -> str:
    """sha256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def start_run(
    engine: Engine, *, kind: str, source: str, file_name: str, checksum: str | None,
    dry_run: bool = False,
) -> int:
    """Record a run as 'running' (committed at once) and return its id."""
    with engine.begin() as conn:
        return int(
            conn.execute(
                insert(load_run)
                .values(kind=kind, source=source, file_name=file_name, checksum=checksum,
                        dry_run=dry_run)
                .returning(load_run.c.run_id)
            ).scalar_one()
        )


def record_rejects(conn: Connection, run_id: int, rejects: list[Reject]) -> None:
    """Store rejected rows (original text and reasons) in the caller's transaction."""
    if not rejects:
        return
    conn.execute(
        insert(rejected_row),
        [
            {
                "run_id": run_id,
                "row_number": r.row_number,
                "raw": {k: (None if v is None else str(v)) for k, v in r.raw.items()},
                "reasons": [asdict(reason) for reason in r.reasons],
            }
            for r in rejects
        ],
    )


def count_reasons(report: LoadReport, rejects: list[Reject]) -> None:
    """Add the reasons of ``rejects`` to the report's per-code tally."""
    for r in rejects:
        for reason in r.reasons:
            report.reject_codes[reason.code] = report.reject_codes.get(reason.code, 0) + 1


def finish_run(conn: Connection, report: LoadReport, *, started: float) -> None:
    """Write the final counts of a successful run (in the loader's transaction)."""
    report.duration_s = time.monotonic() - started
    report.status = "succeeded"
    conn.execute(_final(report))


def fail_run(engine: Engine, report: LoadReport, *, started: float, message: str) -> None:
    """Mark a run failed in its own transaction (the data transaction was rolled back)."""
    report.duration_s = time.monotonic() - started
    report.status = "failed"
    report.message = message
    with engine.begin() as conn:
        conn.execute(_final(report))


def _final(report: LoadReport):  # type: ignore[no-untyped-def]
    return (
        update(load_run)
        .where(load_run.c.run_id == report.run_id)
        .values(
            finished_at=func.now(), status=report.status, rows_read=report.read,
            rows_inserted=report.inserted, rows_updated=report.updated,
            rows_unchanged=report.unchanged, rows_rejected=report.rejected,
            duration_s=report.duration_s, message=report.message,
        )
    )


def report_json(report: LoadReport) -> str:
    return json.dumps(report.as_dict(), default=str)


def recent_runs(engine: Engine, limit: int = 20) -> list[dict[str, Any]]:
    """The latest ``limit`` runs of every kind, newest first, as dicts of their columns."""
    cols = [load_run.c[name] for name in (
        "run_id", "kind", "source", "file_name", "started_at", "status", "dry_run", "rows_read",
        "rows_inserted", "rows_updated", "rows_unchanged", "rows_rejected", "duration_s",
        "message")]
    with engine.connect() as conn:
        rows = conn.execute(select(*cols).order_by(load_run.c.run_id.desc()).limit(limit))
        return [dict(r._mapping) for r in rows]
