"""The warehouse side of the hotspot analysis: the study geography, the count cube kept up to
date incrementally, and the results the map reads.

Counts
------
``hotspot_count`` holds incidents per (time step, H3 cell) with one count per category, at the
resolution and step length of the last analysis. Every incident load (and delete) lists the UTC
days it changed in ``hotspot_dirty`` (``etl.analytics.rollup.refresh`` does it, in the load's
transaction): that is what marks the analysis stale. The next analysis recounts only the steps
holding a dirty day (and every step when the resolution or the step length changed, or
``full`` is asked), then empties ``hotspot_dirty``.

Results
-------
``hotspot_analysis`` (one row: the current analysis, with its parameters and what it saw) and
``hotspot_cell`` (one row per study cell). A new analysis replaces the previous one in the same
transaction; the audit trail is ``load_run`` (kind ``hotspots``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import psycopg
import shapely
from psycopg import sql

from etl.analytics.hotspots.analysis import EPOCH, Params, Result, Steps
from etl.analytics.hotspots.cells import centres
from etl.warehouse.schema import INCIDENT_CATEGORIES, h3_parent_masks

#: The stored H3 column each analysis resolution is derived from (by bit arithmetic).
_SOURCE_COLUMN = {4: "h3_r5", 5: "h3_r5", 6: "h3_r7", 7: "h3_r7", 8: "h3_r9"}


@dataclass(frozen=True)
class Geography:
    """What the study area is built from: the administrations' land, their land border lines,
    and the BCP positions."""

    land: list[shapely.Geometry]
    borders: list[shapely.Geometry]
    bcp_lat: np.ndarray
    bcp_lon: np.ndarray


def geography(raw: psycopg.Connection) -> Geography:
    """The reference geometries of the study area, from the warehouse."""
    land = [shapely.from_wkb(r[0]) for r in raw.execute(
        "SELECT ST_AsBinary(geom) FROM country WHERE is_target ORDER BY iso2").fetchall()]
    borders = [shapely.from_wkb(r[0]) for r in raw.execute(
        """SELECT ST_AsBinary(b.geom) FROM border_line b
           WHERE b.country_a IN (SELECT iso2 FROM country WHERE is_target)
              OR b.country_b IN (SELECT iso2 FROM country WHERE is_target)
           ORDER BY b.pair_id""").fetchall()]
    pts = np.array(raw.execute("SELECT ST_Y(geom), ST_X(geom) FROM bcp ORDER BY code").fetchall(),
                   dtype=float).reshape(-1, 2)
    return Geography(land, borders, pts[:, 0], pts[:, 1])


@dataclass(frozen=True)
class CountState:
    """The count cube's resolution and step length, and the steps it holds."""

    resolution: int
    step_days: int


def count_state(raw: psycopg.Connection) -> CountState | None:
    row = raw.execute("SELECT resolution, step_days FROM hotspot_count_state WHERE id = 1").fetchone()
    return CountState(int(row[0]), int(row[1])) if row else None


def refresh_counts(raw: psycopg.Connection, resolution: int, step_days: int, *,
                   full: bool = False) -> tuple[int, bool]:
    """Bring ``hotspot_count`` up to date; return (steps recounted, whether all were)."""
    state = count_state(raw)
    rebuild = full or state != CountState(resolution, step_days)
    if rebuild:
        raw.execute("DELETE FROM hotspot_count")
        steps = None
    else:
        rows = raw.execute(
            "SELECT DISTINCT %(epoch)s::date + ((day - %(epoch)s::date) / %(sd)s) * %(sd)s "
            "FROM hotspot_dirty ORDER BY 1",
            {"epoch": EPOCH, "sd": step_days}).fetchall()
        steps = [r[0] for r in rows]
        if not steps:
            return 0, False
        raw.execute("DELETE FROM hotspot_count WHERE step = ANY(%s)", (steps,))
    done = _count(raw, resolution, step_days, steps)
    raw.execute("DELETE FROM hotspot_dirty")
    raw.execute(
        """INSERT INTO hotspot_count_state (id, resolution, step_days, refreshed_at)
           VALUES (1, %s, %s, now()) ON CONFLICT (id) DO UPDATE SET
           resolution = EXCLUDED.resolution, step_days = EXCLUDED.step_days,
           refreshed_at = EXCLUDED.refreshed_at""", (resolution, step_days))
    return done, rebuild


_INSERT_COUNTS = """
INSERT INTO hotspot_count (step, cell, c)
SELECT q.step, q.cell, ARRAY[{per_category}]
FROM (SELECT i.day - (i.day - %(epoch)s::date) %% %(sd)s AS step,
             (i.h3 & %(keep)s) | %(add)s AS cell, i.category
      FROM (SELECT (occurred_at AT TIME ZONE 'UTC')::date AS day, {column} AS h3, category,
                   occurred_at
            FROM incident WHERE {column} IS NOT NULL) i
      WHERE {steps}) q
GROUP BY q.step, q.cell
"""
_OF_STEPS = ("i.occurred_at >= %(lo)s AND i.occurred_at < %(hi)s"
             " AND i.day - (i.day - %(epoch)s::date) %% %(sd)s = ANY(%(steps)s)")


def _count(raw: psycopg.Connection, resolution: int, step_days: int,
           steps: list[dt.date] | None) -> int:
    """Count incidents into ``hotspot_count`` for ``steps`` (None: every step)."""
    keep, add = h3_parent_masks(resolution)
    per_category = sql.SQL(", ").join(
        sql.SQL("count(*) FILTER (WHERE q.category = {})::int").format(sql.Literal(c))
        for c in INCIDENT_CATEGORIES)
    params: dict[str, object] = {"epoch": EPOCH, "sd": step_days, "keep": keep, "add": add}
    if steps is not None:
        params.update(lo=_midnight(min(steps)),
                      hi=_midnight(max(steps) + dt.timedelta(days=step_days)), steps=steps)
    statement = sql.SQL(_INSERT_COUNTS).format(
        per_category=per_category, column=sql.Identifier(_SOURCE_COLUMN[resolution]),
        steps=sql.SQL(_OF_STEPS if steps is not None else "true"))
    return int(raw.execute(statement, params).rowcount)


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


_READ_COUNTS = """
SELECT cell, (step - %(first)s::date) / %(sd)s, {total} FROM hotspot_count
WHERE step >= %(first)s AND step < %(end)s
"""


def read_counts(raw: psycopg.Connection, steps: Steps, categories: tuple[str, ...]
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(cell, step index, count) rows of the period, summed over ``categories`` (all if empty)."""
    picked = [i + 1 for i, c in enumerate(INCIDENT_CATEGORIES) if not categories or c in categories]
    total = sql.SQL(" + ").join(sql.SQL("c[{}]").format(sql.Literal(i)) for i in picked)
    rows = raw.execute(sql.SQL(_READ_COUNTS).format(total=total),
                       {"first": steps.first, "end": steps.end, "sd": steps.days}).fetchall()
    arr = np.array(rows, dtype=np.int64).reshape(-1, 3)
    return arr[:, 0], arr[:, 1], arr[:, 2]


def data_days(raw: psycopg.Connection) -> tuple[dt.date | None, dt.date | None]:
    """First and last UTC day holding an incident."""
    row = raw.execute(
        "SELECT (min(occurred_at) AT TIME ZONE 'UTC')::date, "
        "(max(occurred_at) AT TIME ZONE 'UTC')::date FROM incident").fetchone()
    return (row[0], row[1]) if row else (None, None)


@dataclass(frozen=True)
class Meta:
    """What an analysis was computed over (the row of ``hotspot_analysis``)."""

    run_id: int | None
    steps: Steps
    params: Params
    zone_km: float
    categories: tuple[str, ...]
    incidents: int
    left_out: int


def write_result(raw: psycopg.Connection, meta: Meta, result: Result) -> int:
    """Replace the current analysis with ``result``; return its ``analysis_id``."""
    raw.execute("DELETE FROM hotspot_analysis")
    row = raw.execute(
        """INSERT INTO hotspot_analysis (run_id, period_from, period_to, step_days, steps,
               resolution, k, lag, zone_km, alpha, trend_alpha, categories, cells, incidents,
               left_out, significant)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
           RETURNING analysis_id""",
        (meta.run_id, meta.steps.first, meta.steps.last_day, meta.steps.days, meta.steps.count,
         meta.params.resolution, meta.params.k, meta.params.lag, meta.zone_km, meta.params.alpha,
         meta.params.trend_alpha, list(meta.categories), len(result.cells), meta.incidents,
         meta.left_out, result.significant)).fetchone()
    analysis_id = int(row[0]) if row else 0
    lat, lon = centres(result.cells)
    with raw.cursor().copy(
        "COPY hotspot_cell (analysis_id, cell, lat, lon, n, z, p, q, class, pattern, trend) "
        "FROM STDIN") as copy:
        for i in range(len(result.cells)):
            copy.write_row((analysis_id, int(result.cells[i]), float(lat[i]), float(lon[i]),
                            int(result.n[i]), float(result.z[i]), float(result.p[i]),
                            float(result.q[i]), str(result.classes[i]),
                            str(result.patterns[i]), int(result.trends[i])))
    return analysis_id
