"""The incident rollup: the situation map's summary of incidents, kept exact by every load.

``incident_rollup`` counts incidents per (bucket of UTC days, ``h3_r5`` cell, country, border
section), with one count per category in ``c`` and per (category, subtype) *slot* of
``incident_rollup_vocab`` in ``v``, the sums of the coordinates (cluster positions) and the
bounding box of the points (so a viewport query knows which cells lie wholly inside it).
Buckets are 1, 7, 28, 112 and 448 days long and aligned on ``ROLLUP_EPOCH``, so any date range
is a handful of whole buckets.

A refresh recomputes every UTC day holding an incident with ``id`` above
``incident_rollup_state.max_id`` (inserted since the last refresh, by the ETL or not) or listed
in ``incident_rollup_dirty`` (days of updated or deleted incidents, written by triggers on
``incident``): the one-day rows of those days from ``incident``, then every coarser bucket
holding one of them from its child buckets. Recomputing is idempotent, so a refresh never counts
an incident twice. (An incident inserted with an explicit id below ``max_id`` goes unnoticed:
:func:`rebuild` recomputes everything.) ``etl.load`` calls :func:`refresh_after_load` inside
the transaction of each incident load, so readers always see a rollup that matches the
incidents they see.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime

import psycopg
from psycopg import sql
from sqlalchemy import Connection

from etl.warehouse.schema import INCIDENT_CATEGORIES, ROLLUP_EPOCH, ROLLUP_SPANS, rollup_bucket

log = logging.getLogger(__name__)

#: Bucket lengths from the finest (built from ``incident``) to the coarsest.
SPANS: tuple[int, ...] = tuple(sorted(ROLLUP_SPANS))
_UTC_DAY = "((i.occurred_at AT TIME ZONE 'UTC')::date)"
#: The incidents of the touched days: one time range (an index or sequential scan, whatever
#: the statistics of a table that was just loaded say), then the days themselves.
_OF_DAYS = f"i.occurred_at >= %(lo)s AND i.occurred_at < %(hi)s AND {_UTC_DAY} = ANY(%(days)s)"
_COLUMNS = sql.SQL(
    "span, bucket, cell, country, section_id, n, c, v, sx, sy, west, south, east, north")


@dataclass(frozen=True)
class RefreshReport:
    """What one refresh did.

    Attributes
    ----------
    days
        UTC days recomputed.
    rows
        Rollup rows written, over every bucket length.
    version
        ``incident_rollup_state.version`` after the refresh.
    seconds
        Wall time.
    """

    days: int
    rows: int
    version: int
    seconds: float


def refresh_after_load(conn: Connection, run_id: int | None) -> RefreshReport:
    """Bring the rollup up to date at the end of an incident load, in its transaction.

    Parameters
    ----------
    conn
        The load's connection, inside its (not yet committed) transaction.
    run_id
        The load run; kept in ``incident_rollup_state.run_id``.
    """
    report = refresh(conn, run_id=run_id)
    log.info("rollup refresh after run %s: %d day(s), %d row(s) in %.2f s", run_id,
             report.days, report.rows, report.seconds)
    return report


def rebuild(conn: Connection) -> RefreshReport:
    """Recompute the whole rollup from ``incident`` (after a restore or an out-of-band edit)."""
    raw = _raw(conn)
    raw.execute("DELETE FROM incident_rollup")
    raw.execute("UPDATE incident_rollup_state SET max_id = 0, width = 0")
    return refresh(conn)


def refresh(conn: Connection, *, run_id: int | None = None) -> RefreshReport:
    """Recompute the rollup rows of every day changed since the last refresh.

    Parameters
    ----------
    conn
        A connection inside a transaction; the caller commits. Loads hold the load lock, so
        two refreshes never run at once.
    run_id
        Load run to record in the state row, if any.
    """
    began = time.perf_counter()
    raw = _raw(conn)
    jit = raw.execute("SELECT current_setting('jit')").fetchone()
    raw.execute("SET LOCAL jit = off")  # compiling the wide aggregates costs more than it saves
    raw.execute("INSERT INTO incident_rollup_state (id) VALUES (1) ON CONFLICT DO NOTHING")
    row = raw.execute("SELECT max_id FROM incident_rollup_state WHERE id = 1 FOR UPDATE").fetchone()
    old_max = int(row[0]) if row else 0
    top = raw.execute("SELECT coalesce(max(id), 0) FROM incident").fetchone()
    new_max = int(top[0]) if top else 0
    days = _touched_days(raw, old_max, new_max)
    written = 0
    if days:
        params = {"lo": _midnight(days[0]), "hi": _midnight(days[-1] + timedelta(days=1)),
                  "days": days}
        _add_vocabulary(raw, params)
        slots = _slots(raw)
        written += _day_rows(raw, days, slots, params)
        for child, span in zip(SPANS, SPANS[1:], strict=False):
            written += _bucket_rows(raw, child, span, days, slots)
        _count_vocabulary(raw)
    done = raw.execute(
        """
        UPDATE incident_rollup_state SET
            max_id = %(max_id)s, version = version + 1, run_id = %(run_id)s, refreshed_at = now(),
            width = greatest(width, coalesce((SELECT max(east - west) FROM incident_rollup
                WHERE span = %(top)s AND bucket = ANY(%(tops)s) AND cell <> 0), 0)),
            no_cell = (SELECT count(*) FROM incident WHERE h3_r5 IS NULL)
        WHERE id = 1 RETURNING version
        """,
        {"max_id": new_max, "run_id": run_id, "top": SPANS[-1],
         "tops": sorted({rollup_bucket(d, SPANS[-1]) for d in days})},
    ).fetchone()
    raw.execute("DELETE FROM incident_rollup_dirty WHERE day = ANY(%s)", (days,))
    # the same days are stale for the hotspot analysis (etl/analytics/hotspot_store.py)
    raw.execute("INSERT INTO hotspot_dirty (day) SELECT unnest(%s::date[]) ON CONFLICT DO NOTHING",
                (days,))
    raw.execute("SELECT set_config('jit', %s, true)", (jit[0] if jit else "on",))
    return RefreshReport(days=len(days), rows=written, version=int(done[0]) if done else 0,
                         seconds=time.perf_counter() - began)


def _raw(conn: Connection) -> psycopg.Connection:
    return conn.connection.driver_connection  # type: ignore[return-value]


def _touched_days(raw: psycopg.Connection, old_max: int, new_max: int) -> list[date]:
    """UTC days of incidents inserted since ``old_max`` and of changed incidents, sorted."""
    rows = raw.execute(
        f"""
        SELECT DISTINCT {_UTC_DAY} FROM incident i WHERE i.id > %(old)s AND i.id <= %(new)s
        UNION SELECT day FROM incident_rollup_dirty
        ORDER BY 1
        """,
        {"old": old_max, "new": new_max},
    ).fetchall()
    return [r[0] for r in rows]


def _midnight(day: date) -> datetime:
    return datetime.combine(day, dtime(), tzinfo=UTC)


def _add_vocabulary(raw: psycopg.Connection, params: dict[str, object]) -> None:
    """Give every (category, subtype) pair new in those days the next free slot."""
    raw.execute(
        f"""
        INSERT INTO incident_rollup_vocab (slot, category, subtype)
        SELECT (SELECT coalesce(max(slot), 0) FROM incident_rollup_vocab)
               + row_number() OVER (ORDER BY p.category, p.subtype), p.category, p.subtype
        FROM (SELECT DISTINCT i.category, coalesce(i.subtype, '') AS subtype
              FROM incident i WHERE {_OF_DAYS}) p
        WHERE NOT EXISTS (SELECT 1 FROM incident_rollup_vocab v
                          WHERE v.category = p.category AND v.subtype = p.subtype)
        """,
        params,
    )


def _slots(raw: psycopg.Connection) -> int:
    row = raw.execute("SELECT coalesce(max(slot), 0) FROM incident_rollup_vocab").fetchone()
    return int(row[0]) if row else 0


def _day_rows(raw: psycopg.Connection, days: list[date], slots: int,
              params: dict[str, object]) -> int:
    """Rebuild the one-day rows of ``days`` from ``incident``."""
    raw.execute("DELETE FROM incident_rollup WHERE span = 1 AND bucket = ANY(%s)", (days,))
    pivot = sql.SQL(", ").join(
        sql.SQL("count(*) FILTER (WHERE q.slot = {})::int").format(sql.Literal(k))
        for k in range(1, slots + 1))
    categories = sql.SQL(", ").join(
        sql.SQL("count(*) FILTER (WHERE q.category = {})::int").format(sql.Literal(c))
        for c in INCIDENT_CATEGORIES)
    return raw.execute(sql.SQL(
        f"""
        INSERT INTO incident_rollup ({{columns}})
        SELECT 1, q.day, q.cell, q.country, q.section_id, count(*)::int,
               ARRAY[{{categories}}]::int[], ARRAY[{{pivot}}]::int[],
               sum(q.x), sum(q.y), min(q.x), min(q.y), max(q.x), max(q.y)
        FROM (SELECT {_UTC_DAY} AS day, coalesce(i.h3_r5, 0) AS cell,
                     coalesce(i.country, '') AS country, coalesce(i.section_id, '') AS section_id,
                     i.category, v.slot, ST_X(i.geom) AS x, ST_Y(i.geom) AS y
              FROM incident i JOIN incident_rollup_vocab v
                   ON v.category = i.category AND v.subtype = coalesce(i.subtype, '')
              WHERE {_OF_DAYS}) q
        GROUP BY q.day, q.cell, q.country, q.section_id
        ORDER BY q.day, q.cell, q.country, q.section_id
        """).format(columns=_COLUMNS, pivot=pivot, categories=categories), params).rowcount


def _bucket_rows(raw: psycopg.Connection, child: int, span: int, days: list[date],
                 slots: int) -> int:
    """Rebuild the ``span``-day buckets holding ``days`` from their ``child``-day buckets."""
    buckets = sorted({rollup_bucket(d, span) for d in days})
    raw.execute("DELETE FROM incident_rollup WHERE span = %s AND bucket = ANY(%s)",
                (span, buckets))
    parent = sql.SQL("s.bucket - ((s.bucket - {epoch}) %% {span} + {span}) %% {span}").format(
        epoch=sql.Literal(ROLLUP_EPOCH), span=sql.Literal(span))
    summed = sql.SQL(", ").join(
        sql.SQL("coalesce(sum(s.v[{}]), 0)::int").format(sql.Literal(k))
        for k in range(1, slots + 1))
    categories = sql.SQL(", ").join(
        sql.SQL("sum(s.c[{}])::int").format(sql.Literal(k))
        for k in range(1, len(INCIDENT_CATEGORIES) + 1))
    return raw.execute(sql.SQL(
        """
        INSERT INTO incident_rollup ({columns})
        SELECT {span}, {parent}, s.cell, s.country, s.section_id, sum(s.n)::int,
               ARRAY[{categories}]::int[], ARRAY[{summed}]::int[], sum(s.sx), sum(s.sy),
               min(s.west), min(s.south), max(s.east), max(s.north)
        FROM incident_rollup s
        WHERE s.span = %(child)s AND s.bucket >= %(lo)s AND s.bucket < %(hi)s
              AND {parent} = ANY(%(buckets)s)
        GROUP BY {parent}, s.cell, s.country, s.section_id
        ORDER BY {parent}, s.cell, s.country, s.section_id
        """).format(columns=_COLUMNS, span=sql.Literal(span), parent=parent, summed=summed,
                    categories=categories),
        {"buckets": buckets, "child": child, "lo": buckets[0],
         "hi": buckets[-1] + timedelta(days=span)},
    ).rowcount


def _count_vocabulary(raw: psycopg.Connection) -> None:
    """Incidents per slot, from the coarsest buckets (together they cover every day)."""
    raw.execute(
        """
        UPDATE incident_rollup_vocab v SET n = coalesce(
            (SELECT sum(r.v[v.slot]) FROM incident_rollup r WHERE r.span = %s), 0)
        """,
        (SPANS[-1],),
    )
