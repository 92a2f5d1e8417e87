"""The ``rejected_row`` table: a run's rejected rows, written by binary COPY and read back in
file order (``borderwatch rejects``)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

_COPY = "COPY rejected_row (run_id, row_number, raw, reasons) FROM STDIN (FORMAT BINARY)"
_LIST = ("SELECT row_number, raw, reasons FROM rejected_row WHERE run_id = %s"
         " ORDER BY row_number, reject_id")


def copy_rejects(db: psycopg.Connection, run_id: int, rejects: Sequence[Any]) -> None:
    """Store rejected rows (``etl.report.Reject``: original text and reasons) in the
    caller's transaction."""
    if not rejects:
        return
    with db.cursor() as cur, cur.copy(_COPY) as copy:
        copy.set_types(["int4", "int4", "jsonb", "jsonb"])
        for r in rejects:
            copy.write_row((run_id, r.row_number, Jsonb(r.raw),
                            Jsonb([asdict(reason) for reason in r.reasons])))


def rejected_rows(db: psycopg.Connection, run_id: int
                 ) -> Iterator[tuple[int, dict[str, Any], list[dict[str, Any]]]]:
    """(row_number, raw, reasons) of a run's rejected rows in file order, streamed."""
    with db.cursor(name="bw_rejects") as cur:
        cur.itersize = 2000
        for number, raw, reasons in cur.execute(_LIST, (run_id,)):
            yield int(number), dict(raw), list(reasons)
