"""The load runner: one input file -> validated, enriched rows in the warehouse, atomically.

``load_file`` streams the file in chunks (``etl.reader``), validates each chunk
(``etl.validate``), enriches located rows (``etl.enrich``), and sends the accepted rows by
binary COPY into a TEMP staging table; rejects go by COPY into ``rejected_row``. At the end
one ``INSERT ... SELECT ... ON CONFLICT (natural key) DO UPDATE ... WHERE content_hash differs``
writes the table and counts inserted and updated rows exactly (``xmax = 0``). Everything,
including the rejects and the final counts, happens in ONE transaction: a failure or a kill
leaves the warehouse as it was. Loads are serialised by a transaction-level advisory lock.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb
from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import SQLAlchemyError

from etl import enrich
from etl.errors import BorderwatchError, InputFileError, LoadBusy, LoadError
from etl.reader import open_input
from etl.runs import LoadReport, Reject, count_reasons, fail_run, finish_run, start_run
from etl.settings import Settings
from etl.sources import benchmarks, flows, incidents
from etl.validate import Column, References, SourceSpec, Validator, default_context
from etl.warehouse.schema import load_run, rejected_row

log = logging.getLogger(__name__)

#: Key of the advisory lock every data load holds for its whole transaction.
LOAD_LOCK_KEY = 7_236_286_020_411_265_892
#: Namespace of the per-run advisory locks (pg_advisory_xact_lock(RUN_LOCK_NS, run_id)).
RUN_LOCK_NS = 0x62770001

SPECS: dict[str, SourceSpec] = {
    s.kind: s for s in (incidents.SPEC, flows.SPEC, benchmarks.SPEC)
}
STAGE = "bw_stage"
ENRICHED: tuple[tuple[str, str], ...] = (
    ("country", "text"), ("section_id", "text"), ("border_distance_m", "float8"),
    ("nearest_bcp", "text"), ("nearest_bcp_m", "float8"),
    ("h3_r5", "int8"), ("h3_r7", "int8"), ("h3_r9", "int8"),
)


class Progress(Protocol):
    """What the runner tells whoever watches it (a progress bar, a log)."""

    def message(self, text: str) -> None: ...

    def update(self, done: int, total: int, rows: int) -> None: ...


class SilentProgress:
    """Progress that says nothing."""

    def message(self, text: str) -> None:
        log.info(text)

    def update(self, done: int, total: int, rows: int) -> None:
        return None


class LoadRunFailed(LoadError):
    """A load failed and wrote nothing; ``report`` holds what was read before it stopped."""

    def __init__(self, user_message: str, report: LoadReport, detail: str | None = None) -> None:
        super().__init__(user_message, detail)
        self.report = report


# ------------------------------------------------------------------------------- staging plan


@dataclass(frozen=True)
class _Stage:
    """One staging column: name, type, and the SQL expression writing its target column."""

    name: str
    pgtype: str
    target: str | None
    expr: sql.Composable | None


def _plan(spec: SourceSpec, extras: tuple[str, ...]) -> list[_Stage]:
    s = sql.Identifier
    out: list[_Stage] = []
    for col in spec.columns:
        out.extend(_stage_column(col))
    if spec.located:
        out += [_Stage("lon", "float8", None, None), _Stage("lat", "float8", None, None)]
        out += [_Stage(n, t, n, sql.SQL("s.{}").format(s(n))) for n, t in ENRICHED]
        out.append(_Stage("__geom", "", "geom", sql.SQL(
            "ST_SetSRID(ST_MakePoint(s.lon, s.lat), 4326)")))
    for i, _ in enumerate(extras):
        out.append(_Stage(f"x{i}", "text", None, None))
    attrs = (
        sql.SQL("jsonb_strip_nulls(jsonb_object(%(attr_keys)s::text[], ARRAY[{}]::text[]))").format(
            sql.SQL(", ").join(sql.SQL("s.{}").format(s(f"x{i}")) for i in range(len(extras))))
        if extras else sql.SQL("'{}'::jsonb")
    )
    out.append(_Stage("__attrs", "", "attrs", attrs))
    out.append(_Stage("h1", "int8", None, None))
    out.append(_Stage("__hash", "", "content_hash", sql.SQL("lpad(to_hex(s.h1), 16, '0')")))
    out.append(_Stage("__source", "", "source", sql.SQL("%(source)s")))
    out.append(_Stage("__run", "", "run_id", sql.SQL("%(run_id)s")))
    return out


def _stage_column(col: Column) -> list[_Stage]:
    target = col.target_name
    ref = sql.SQL("s.{}").format(sql.Identifier(col.name))
    if target is None:
        return []
    if col.kind == "int":
        return [_Stage(col.name, "int8", target, ref)]
    if col.kind == "float":
        return [_Stage(col.name, "float8", target, ref)]
    if col.kind == "timestamp":
        return [_Stage(col.name, "int8", target, sql.SQL(
            "TIMESTAMPTZ '1970-01-01 00:00:00+00' + {} * INTERVAL '1 microsecond'").format(ref))]
    if col.kind == "date":
        return [_Stage(col.name, "int4", target, sql.SQL("DATE '1970-01-01' + {}").format(ref))]
    if col.kind == "codes":
        return [_Stage(col.name, "text", target, sql.SQL("string_to_array({}, ';')").format(ref))]
    if col.kind == "round":
        day = sql.Identifier(f"{col.name}_date")
        return [
            _Stage(col.name, "text", target, ref),
            _Stage(f"{col.name}_date", "int4", f"{target}_date",
                   sql.SQL("DATE '1970-01-01' + s.{}").format(day)),
        ]
    return [_Stage(col.name, "text", target, ref)]


def _key_targets(spec: SourceSpec) -> list[str]:
    keys = [spec.column(k).target_name or k for k in spec.natural_key]
    return (["source"] if spec.source_in_key else []) + keys


def _stage_values(spec: SourceSpec, plan: list[_Stage], accepted: dict[str, np.ndarray],
                  extras: tuple[str, ...]) -> list[list[Any]]:
    """Columns of Python values in plan order (None for NULL), ready for COPY."""
    cols: list[list[Any]] = []
    for st in plan:
        if not st.pgtype:
            continue
        if st.name == "h1":
            cols.append(accepted["__h1"].view(np.int64).tolist())
            continue
        if st.name.startswith("x") and st.name[1:].isdigit():
            cols.append(accepted[f"attr:{extras[int(st.name[1:])]}"].tolist())
            continue
        arr = accepted[st.name]
        if st.pgtype in ("int8", "int4") and arr.dtype != object:
            if arr.dtype.kind == "f":
                nan = np.isnan(arr)
                ints = np.where(nan, 0, np.rint(arr)).astype(np.int64)
                cols.append(np.where(nan, None, ints.astype(object)).tolist())  # type: ignore[call-overload]
            else:
                cols.append(arr.astype(np.int64).tolist())
        elif st.pgtype == "float8":
            arr = arr.astype(float)
            cols.append(np.where(np.isnan(arr), None, arr.astype(object)).tolist())  # type: ignore[call-overload]
        else:
            cols.append(arr.tolist())
    return cols


# ----------------------------------------------------------------------------- the runner


def load_file(
    engine: Engine,
    settings: Settings,
    kind: str,
    path: Path,
    *,
    source: str | None = None,
    dry_run: bool = False,
    strict: bool = False,
    progress: Progress | None = None,
) -> LoadReport:
    """Load one incidents, flows or benchmarks file; return what happened.

    Parameters
    ----------
    engine
        The warehouse.
    settings
        ``load_chunk_rows``, ``lock_timeout_s`` and ``bcp_radius_km`` are used.
    kind
        ``incidents``, ``flows`` or ``benchmarks``.
    path
        A .csv, .geojson/.json or .gpkg file in the interchange format (docs/formats.md).
    source
        Name of the sending service (part of the incident key); default: the file's stem.
    dry_run
        Validate and count what would happen; write no data (the run and its rejects are kept).
    strict
        Any rejected row makes the load fail: no data written (the rejects are kept).
    progress
        Receives messages and progress; default: silent.

    Returns
    -------
    LoadReport
        Counts with read = inserted + updated + unchanged + rejected.

    Raises
    ------
    InputFileError
        Before anything is recorded: missing file, unknown format, missing columns.
    LoadRunFailed
        The run failed (recorded as failed) and no data was written; ``.report`` has counts.
    """
    spec = SPECS.get(kind)
    if spec is None:
        raise InputFileError(f"unknown kind '{kind}' (use one of: {', '.join(SPECS)})")
    path = Path(path)
    inp = open_input(path, spec, settings.load_chunk_rows)
    src = (source if source is not None else path.stem).strip()
    if not src:
        raise InputFileError("the source name must not be empty")
    progress = progress or SilentProgress()
    checksum, has_nul = _scan(path)
    report = LoadReport(kind=kind, source=src, file_name=path.name, dry_run=dry_run)
    started = time.monotonic()
    with engine.connect() as conn:
        report.run_id = start_run(engine, kind=kind, source=src, file_name=path.name,
                                  checksum=checksum, dry_run=dry_run)
        try:
            with conn.begin():
                _run(conn, settings, spec, inp, report, started, progress=progress,
                     dry_run=dry_run, strict=strict, check_nul=has_nul)
        except LoadRunFailed:
            raise
        except (BorderwatchError, psycopg.Error, SQLAlchemyError, OSError, ValueError,
                KeyboardInterrupt) as exc:
            _failed(engine, report, started, exc)
        if strict and report.rejected:
            msg = (f"strict mode: {report.rejected:,} row(s) rejected, nothing was loaded "
                   f"(see: borderwatch rejects --run {report.run_id})")
            fail_run(engine, report, started=started, message=msg)
            report.inserted = report.updated = report.unchanged = 0
            raise LoadRunFailed(msg, report)
    return report


def _scan(path: Path) -> tuple[str, bool]:
    """sha256 of the file and whether it holds a NUL byte (then every value is checked)."""
    digest = hashlib.sha256()
    nul = False
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
            nul = nul or b"\x00" in block
    return digest.hexdigest(), nul


def _failed(engine: Engine, report: LoadReport, started: float, exc: BaseException) -> None:
    if isinstance(exc, BorderwatchError):
        message = exc.user_message
    elif isinstance(exc, KeyboardInterrupt):
        message = "interrupted"
    elif isinstance(exc, (psycopg.Error, SQLAlchemyError)):
        message = "database error during the load (check logs)"
    else:
        message = f"the load failed: {exc}"
    log.error("load run %s failed: %r", report.run_id, exc)
    try:
        fail_run(engine, report, started=started, message=message)
    except SQLAlchemyError as inner:  # the database went away: the run row stays 'running'
        log.error("could not mark run %s failed: %s", report.run_id, inner)
    if isinstance(exc, KeyboardInterrupt):
        raise exc
    raise LoadRunFailed(f"{message}; nothing was written", report, detail=repr(exc)) from exc


def _run(
    conn: Connection, settings: Settings, spec: SourceSpec, inp: Any, report: LoadReport,
    started: float, *, progress: Progress, dry_run: bool, strict: bool, check_nul: bool,
) -> None:
    raw: psycopg.Connection = conn.connection.driver_connection  # type: ignore[assignment]
    with raw.cursor() as cur:
        cur.execute("SET LOCAL client_connection_check_interval = '2s'")
        cur.execute("SELECT pg_advisory_xact_lock(%s, %s)", (RUN_LOCK_NS, report.run_id))
        if not dry_run:
            _lock(cur, settings, progress)
            _close_dead_runs(cur, report.run_id)
    refs, geo = _references(raw, spec)
    validator = Validator(spec, refs, default_context(check_nul=check_nul), extras=inp.extras)
    plan = _plan(spec, inp.extras)
    _create_stage(raw, plan)
    staging = True
    for chunk in inp.chunks():
        result = validator.validate(chunk.frame, inp.raw_names)
        report.read += result.n_read
        report.unchanged += result.duplicates
        if result.rejects:
            report.rejected += len(result.rejects)
            count_reasons(report, result.rejects)
            _copy_rejects(raw, report.run_id, result.rejects)
            if strict:
                staging = False
        if staging and len(result.accepted_rows):
            accepted = result.accepted
            if geo is not None:
                accepted.update(enrich.enrich_points(
                    geo, accepted["lon"], accepted["lat"],
                    bcp_radius_m=settings.bcp_radius_km * 1000.0))
            _copy_stage(raw, plan, _stage_values(spec, plan, accepted, inp.extras))
        progress.update(chunk.done, chunk.total, report.read)
    if strict and report.rejected:
        return  # committed: the rejects are kept; load_file marks the run failed
    staged = _count(raw, f"SELECT count(*) FROM {STAGE}")
    params = {"source": report.source, "run_id": report.run_id,
              "attr_keys": list(inp.extras)}
    if dry_run:
        ins, upd = _would_write(raw, spec, plan, params)
    else:
        progress.message(f"writing {staged:,} rows to {spec.table}…")
        ins, upd = _upsert(raw, spec, plan, params)
    report.inserted, report.updated = ins, upd
    report.unchanged += staged - ins - upd
    finish_run(conn, report, started=started)


def _count(raw: psycopg.Connection, query: str) -> int:
    row = raw.execute(query).fetchone()  # type: ignore[arg-type]
    return int(row[0]) if row else 0


def _lock(cur: psycopg.Cursor, settings: Settings, progress: Progress) -> None:
    """Take the load lock, waiting at most ``lock_timeout_s`` for another load to finish."""
    got = cur.execute("SELECT pg_try_advisory_xact_lock(%s)", (LOAD_LOCK_KEY,)).fetchone()
    if got and got[0]:
        return
    timeout = settings.lock_timeout_s
    if timeout <= 0:
        raise LoadBusy("another load is running; try again when it has finished")
    progress.message(f"waiting for another load to finish (at most {timeout} s)…")
    cur.execute("SELECT set_config('lock_timeout', %s, true)", (f"{timeout}s",))
    try:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (LOAD_LOCK_KEY,))
    except psycopg.errors.LockNotAvailable as exc:
        raise LoadBusy(
            f"another load was still running after {timeout} s; nothing was written, "
            "try again later"
        ) from exc
    cur.execute("SELECT set_config('lock_timeout', '0', true)")


def _close_dead_runs(cur: psycopg.Cursor, run_id: int | None) -> None:
    """Mark 'running' runs whose process is gone (its run lock is free) as failed."""
    rows = cur.execute(
        "SELECT run_id FROM load_run WHERE status = 'running' AND run_id <> %s", (run_id,)
    ).fetchall()
    for (other,) in rows:
        free = cur.execute(
            "SELECT pg_try_advisory_xact_lock(%s, %s)", (RUN_LOCK_NS, other)
        ).fetchone()
        if free and free[0]:
            cur.execute(
                "UPDATE load_run SET status = 'failed', finished_at = now(), message = %s "
                "WHERE run_id = %s AND status = 'running'",
                ("interrupted: the loading process ended before finishing; nothing was written",
                 other),
            )


def _references(raw: psycopg.Connection, spec: SourceSpec
                ) -> tuple[References, enrich.Geography | None]:
    needed = {c.ref for c in spec.columns if c.ref}
    refs = References()
    queries = {
        "bcp": "SELECT code FROM bcp",
        "country": "SELECT iso2 FROM country",
        "component": "SELECT component_id FROM ibm_component",
        "level": "SELECT level FROM ibm_level",
    }
    for name in needed:
        refs.codes[name] = {r[0] for r in raw.execute(queries[name]).fetchall()}  # type: ignore[arg-type]
    required = {"flows": "bcp", "benchmarks": "component"}.get(spec.kind, "country")
    if not refs.codes.get(required):
        raise LoadError(
            f"the warehouse has no reference data ({required} table is empty): "
            "load it first with `borderwatch load geodata`"
        )
    if not spec.located:
        return refs, None
    bcps = raw.execute(
        "SELECT code, ST_X(geom), ST_Y(geom) FROM bcp ORDER BY code"
    ).fetchall()
    refs.bcp_lonlat = {c: (float(x), float(y)) for c, x, y in bcps}
    countries = raw.execute(
        "SELECT iso2, ST_AsBinary(geom) FROM country ORDER BY is_target DESC, iso2"
    ).fetchall()
    sections = raw.execute(
        "SELECT section_id, ST_AsBinary(geom) FROM border_section ORDER BY section_id"
    ).fetchall()
    geo = enrich.build_geography(
        [(c, bytes(g)) for c, g in countries], [(s, bytes(g)) for s, g in sections],
        [(c, float(x), float(y)) for c, x, y in bcps],
    )
    return refs, geo


def _create_stage(raw: psycopg.Connection, plan: list[_Stage]) -> None:
    cols = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(st.name), sql.SQL(st.pgtype))
        for st in plan if st.pgtype
    )
    raw.execute(sql.SQL("CREATE TEMP TABLE {} ({}) ON COMMIT DROP").format(
        sql.Identifier(STAGE), cols))


def _copy_stage(raw: psycopg.Connection, plan: list[_Stage], cols: list[list[Any]]) -> None:
    staged = [st for st in plan if st.pgtype]
    stmt = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
        sql.Identifier(STAGE), sql.SQL(", ").join(sql.Identifier(st.name) for st in staged))
    with raw.cursor() as cur, cur.copy(stmt) as copy:
        copy.set_types([st.pgtype for st in staged])
        for row in zip(*cols, strict=True):
            copy.write_row(row)


def _copy_rejects(raw: psycopg.Connection, run_id: int | None, rejects: list[Reject]) -> None:
    with raw.cursor() as cur, cur.copy(
        "COPY rejected_row (run_id, row_number, raw, reasons) FROM STDIN (FORMAT BINARY)"
    ) as copy:
        copy.set_types(["int4", "int4", "jsonb", "jsonb"])
        for r in rejects:
            copy.write_row((run_id, r.row_number, Jsonb(r.raw),
                            Jsonb([asdict(reason) for reason in r.reasons])))


def _targets(plan: list[_Stage]) -> list[_Stage]:
    return [st for st in plan if st.target is not None and st.expr is not None]


#: A load whose new rows reach this many, and half the table, rebuilds secondary indexes.
BULK_MIN_ROWS = 100_000


def _upsert(raw: psycopg.Connection, spec: SourceSpec, plan: list[_Stage],
            params: dict[str, Any]) -> tuple[int, int]:
    """Update the rows whose content changed, then insert the new ones; (inserted, updated).

    Under the load lock nothing else writes these tables, so three set-based steps count
    exactly and avoid ON CONFLICT's per-row speculative insertion: UPDATE the changed rows
    (joined on the natural key), DELETE every already-present key from the staging table,
    INSERT the rest. A large load into a comparatively small table drops the secondary
    (non-unique) indexes and recreates them from their own definitions afterwards, in the
    same transaction.
    """
    ident = sql.Identifier
    targets = _targets(plan)
    by_target = {st.target: st.expr for st in targets}
    keys = _key_targets(spec)
    table = ident(spec.table)
    join = sql.SQL(" AND ").join(
        sql.SQL("t.{} = {}").format(ident(k), by_target[k]) for k in keys)
    raw.execute(sql.SQL("ANALYZE {}").format(ident(STAGE)))
    assignments: list[sql.Composable] = [
        sql.SQL("{} = {}").format(ident(st.target), st.expr)  # type: ignore[arg-type]
        for st in targets if st.target not in keys
    ]
    sets = sql.SQL(", ").join([*assignments, sql.SQL("updated_at = now()")])
    updated = raw.execute(sql.SQL(
        "UPDATE {table} AS t SET {sets} FROM {stage} s WHERE {join}"
        " AND t.content_hash IS DISTINCT FROM {hash}"
    ).format(table=table, sets=sets, stage=ident(STAGE), join=join,
             hash=by_target["content_hash"]), params).rowcount
    raw.execute(sql.SQL("DELETE FROM {stage} s USING {table} t WHERE {join}").format(
        stage=ident(STAGE), table=table, join=join), params)
    new = _count(raw, f"SELECT count(*) FROM {STAGE}")
    rebuild = _drop_secondary_indexes(raw, spec.table) if _bulk(raw, spec.table, new) else []
    inserted = raw.execute(sql.SQL("INSERT INTO {table} ({names}) SELECT {exprs} FROM {stage} s"
                                   ).format(
        table=table, stage=ident(STAGE),
        names=sql.SQL(", ").join(ident(st.target) for st in targets),  # type: ignore[arg-type,misc]
        exprs=sql.SQL(", ").join(st.expr for st in targets),  # type: ignore[misc]
    ), params).rowcount
    for definition in rebuild:
        raw.execute(definition)  # type: ignore[arg-type]  # pg_get_indexdef output
    return int(inserted), int(updated)


def _bulk(raw: psycopg.Connection, table: str, new: int) -> bool:
    if new < BULK_MIN_ROWS:
        return False
    row = raw.execute(
        "SELECT greatest(reltuples, 0) FROM pg_class WHERE oid = %s::regclass", (table,)
    ).fetchone()
    return row is not None and new >= 0.5 * float(row[0])


def _drop_secondary_indexes(raw: psycopg.Connection, table: str) -> list[str]:
    """Drop the table's non-unique indexes; return their CREATE statements."""
    rows = raw.execute(
        "SELECT n.nspname, c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i"
        " JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE i.indrelid = %s::regclass AND NOT i.indisunique AND NOT i.indisprimary",
        (table,),
    ).fetchall()
    for schema, name, _ in rows:
        raw.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(schema, name)))
    return [definition for _, _, definition in rows]


def _would_write(raw: psycopg.Connection, spec: SourceSpec, plan: list[_Stage],
                 params: dict[str, Any]) -> tuple[int, int]:
    """Dry run: how many staged rows would be inserted and updated."""
    by_target = {st.target: st.expr for st in _targets(plan)}
    keys = _key_targets(spec)
    join = sql.SQL(" AND ").join(
        sql.SQL("t.{} = {}").format(sql.Identifier(k), by_target[k]) for k in keys)
    stmt = sql.SQL(
        "SELECT count(*) FILTER (WHERE t.content_hash IS NULL),"
        " count(*) FILTER (WHERE t.content_hash IS DISTINCT FROM {hash}"
        "  AND t.content_hash IS NOT NULL)"
        " FROM {stage} s LEFT JOIN {table} t ON {join}"
    ).format(hash=by_target["content_hash"], stage=sql.Identifier(STAGE),
             table=sql.Identifier(spec.table), join=join)
    row = raw.execute(stmt, params).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


# ---------------------------------------------------------------------------- rejects listing


@dataclass
class RunInfo:
    """A load run as listed by ``borderwatch rejects``."""

    run_id: int
    kind: str
    source: str
    file_name: str
    status: str
    rows_rejected: int


def run_info(engine: Engine, run_id: int | None = None) -> RunInfo | None:
    """The given run, or the latest one; None when there is none."""
    q = select(load_run.c.run_id, load_run.c.kind, load_run.c.source, load_run.c.file_name,
               load_run.c.status, load_run.c.rows_rejected)
    q = (q.where(load_run.c.run_id == run_id) if run_id is not None
         else q.order_by(load_run.c.run_id.desc()).limit(1))
    with engine.connect() as conn:
        row = conn.execute(q).first()
    return RunInfo(*row) if row else None


def iter_rejects(engine: Engine, run_id: int) -> Iterator[tuple[int, dict[str, Any], list[dict]]]:
    """(row_number, raw, reasons) of a run's rejected rows in file order, streamed."""
    q = (select(rejected_row.c.row_number, rejected_row.c.raw, rejected_row.c.reasons)
         .where(rejected_row.c.run_id == run_id)
         .order_by(rejected_row.c.row_number, rejected_row.c.reject_id))
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=2000).execute(q)
        for number, raw_row, reasons in result:
            yield int(number), dict(raw_row), list(reasons)
