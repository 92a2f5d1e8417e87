"""The load runner: one input file -> validated, enriched rows in the warehouse, atomically.

``load_file`` streams the file in chunks (``etl.reader``), validates each chunk
(``etl.validate``) and enriches its located rows (``etl.enrich``) in the calling thread, while
a writer thread sends the previous chunk to PostgreSQL: rows whose key is new go by binary COPY
(built column-wise by ``etl.pgcopy``) straight into the table, rows whose content changed into
a TEMP table for one ``UPDATE`` at the end, unchanged rows nowhere; rejects go by COPY into
``rejected_row``. Everything, including the rejects and the final counts, happens in ONE
transaction: a failure or a kill leaves the warehouse as it was. Loads are serialised by a
transaction-level advisory lock (``hold_load_lock``, shared with the reference-data loaders).

Memory stays bounded whatever the file size: a few chunks are in flight at a time, and the
validator's in-file duplicate check keeps the newest ``memory_keys`` keys of the file in memory
and the older ones in a TEMP table on a second connection owned by the load
(``etl.warehouse.seen_keys``; the main connection belongs to the writer thread).
"""

from __future__ import annotations

import hashlib
import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb
from sqlalchemy import Connection, Engine, Table, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import SQLAlchemyError

from etl import enrich, pgcopy
from etl.analytics import rollup
from etl.errors import BorderwatchError, InputFileError, LoadBusy, LoadError
from etl.reader import open_input, prefetched
from etl.runs import LoadReport, Reject, count_reasons, fail_run, finish_run, start_run
from etl.settings import Settings
from etl.sources import benchmarks, flows, incidents, strategies, trainings
from etl.validate import MEMORY_KEYS, References, SeenKeys, SourceSpec, Validator, default_context
from etl.warehouse.schema import load_run, rejected_row
from etl.warehouse.seen_keys import TempKeyStore

log = logging.getLogger(__name__)

#: Key of the advisory lock every data load holds for its whole transaction.
LOAD_LOCK_KEY = 7_236_286_020_411_265_892
#: Namespace of the per-run advisory locks (pg_advisory_xact_lock(RUN_LOCK_NS, run_id)).
RUN_LOCK_NS = 0x62770001

#: Kinds of ``load_run`` rows written by maintenance jobs (``etl.maintenance``), not file loads.
MAINTENANCE_KINDS = ("delete", "rollup")

SPECS: dict[str, SourceSpec] = {
    s.kind: s for s in (incidents.SPEC, flows.SPEC, benchmarks.SPEC, strategies.SPEC,
                        trainings.SPEC)
}


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


# --------------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class _Col:
    """One column of the target table as the catalogue describes it."""

    name: str
    typname: str  # pg_type.typname, e.g. varchar, int4, _varchar, geometry
    elem_oid: int  # element type of an array type (0 otherwise)
    sqltype: str  # format_type(), e.g. character varying(32)


@dataclass(frozen=True)
class _Out:
    """One written column: its target and where its values come from."""

    col: _Col
    values: Callable[[dict[str, Any], int], Any]
    few: bool = False  # few distinct values (vocabularies, codes): encoded once per value


def _table_columns(raw: psycopg.Connection, table: str) -> dict[str, _Col]:
    rows = raw.execute(
        "SELECT a.attname, t.typname, t.typelem, format_type(a.atttypid, a.atttypmod)"
        " FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid"
        " WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped",
        (table,),
    ).fetchall()
    return {str(n): _Col(str(n), str(t), int(e), str(f)) for n, t, e, f in rows}


def _plan(spec: SourceSpec, columns: dict[str, _Col], extras: tuple[str, ...], source: str,
          run_id: int) -> list[_Out]:
    """What is written, in COPY order: fixed-size columns first (see ``etl.pgcopy``)."""

    def take(name: str) -> Callable[[dict[str, Any], int], Any]:
        return lambda acc, n: acc[name]

    def const(value: Any) -> Callable[[dict[str, Any], int], Any]:
        return lambda acc, n: np.full(n, value)

    src = source.encode("utf-8")
    out: list[_Out] = [
        _Out(columns["source"], const(np.bytes_(src))),
        _Out(columns["run_id"], const(float(run_id))),
        _Out(columns["content_hash"], lambda acc, n: _hex16(acc["__h1"])),
    ]
    for col in spec.columns:
        target = col.target_name
        if target is None:
            continue
        out.append(_Out(columns[target], take(col.name), few=col.kind in ("enum", "ref")))
        if col.kind == "round":
            out.append(_Out(columns[f"{target}_date"], take(f"{col.name}_date")))
    if spec.located:
        out += [_Out(columns[name], take(name), few=name in enrich.FEW_VALUES)
                for name in enrich.COLUMNS]
        out.append(_Out(columns["geom"], lambda acc, n: (acc["lon"], acc["lat"])))
    out.append(_Out(columns["attrs"], _attrs(extras), few=not extras))
    fixed = ("int2", "int4", "int8", "float8", "timestamptz", "date", "geometry")
    return sorted(out, key=lambda o: (o.col.name not in ("source", "content_hash")
                                      and o.col.typname not in fixed))


def _hex16(h: np.ndarray) -> np.ndarray:
    """uint64 hashes as 16 lower-case hex digits (fixed-width bytes)."""
    digits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    b = np.ascontiguousarray(h, dtype=">u8").view(np.uint8).reshape(-1, 8)
    out = np.empty((len(h), 16), dtype=np.uint8)
    out[:, 0::2] = digits[b >> 4]
    out[:, 1::2] = digits[b & 15]
    return out.view("S16").ravel()


def _attrs(extras: tuple[str, ...]) -> Callable[[dict[str, Any], int], Any]:
    """``attrs`` JSON: the extra columns of the file that have a value."""
    if not extras:
        return lambda acc, n: np.full(n, "{}", dtype=object)

    def build(acc: dict[str, Any], n: int) -> np.ndarray:
        cols = [(k, acc[f"attr:{k}"]) for k in extras]
        return np.array(
            [json.dumps({k: v[i] for k, v in cols if v[i] is not None}, ensure_ascii=False)
             for i in range(n)], dtype=object)

    return build


def _fields(plan: list[_Out], acc: dict[str, Any], n: int) -> list[pgcopy.Field]:
    return [pgcopy.Field(o.col.typname, o.values(acc, n), elem_oid=o.col.elem_oid, few=o.few)
            for o in plan]


def _key_targets(spec: SourceSpec) -> list[str]:
    keys = [spec.column(k).target_name or k for k in spec.natural_key]
    return (["source"] if spec.source_in_key else []) + keys


def _key_text(values: np.ndarray, kind: str) -> list[str]:
    """Key values as text for the lookup query (dates from days since 1970)."""
    if kind == "date":
        return np.asarray(values, dtype="int64").astype("datetime64[D]").astype(str).tolist()
    return [str(v) for v in values.tolist()]


# ------------------------------------------------------------------------------- the sink


@dataclass
class _Counts:
    new: int = 0
    changed: int = 0
    unchanged: int = 0


class _Sink:
    """The database side of a load: classifies accepted rows and COPYs them (writer thread).

    A row whose key is not in the table is *new* and goes by binary COPY straight into the
    table (``strict``: into a TEMP table, moved at the end if nothing was rejected); a row
    whose key is there with another content hash is *changed* and goes into a TEMP table for
    one UPDATE at the end; the rest is *unchanged* and is not sent at all. Keys are looked up
    per chunk only when the table already holds rows of this source (flows and benchmarks:
    any row).
    """

    def __init__(self, raw: psycopg.Connection, spec: SourceSpec, plan: list[_Out],
                 source: str, *, dry_run: bool, strict: bool) -> None:
        self.raw, self.spec, self.plan, self.source = raw, spec, plan, source
        self.dry_run, self.strict = dry_run, strict
        self.counts = _Counts()
        self.staged: set[str] = set()
        self.dropped: list[str] = []
        self.prepared = False
        keys = _key_targets(spec)
        self.keys = [k for k in keys if k != "source"]
        by_target = {o.col.name: o for o in plan}
        self.key_cols = [by_target[k].col for k in self.keys]
        self.key_names = [next(c.name for c in spec.columns if (c.target_name or c.name) == k)
                          for k in self.keys]
        self.lookup = self._has_rows()

    def _has_rows(self) -> bool:
        table = sql.Identifier(self.spec.table)
        if self.spec.source_in_key:
            q = sql.SQL("SELECT EXISTS (SELECT 1 FROM {} WHERE source = %s)").format(table)
            row = self.raw.execute(q, (self.source,)).fetchone()
        else:
            row = self.raw.execute(sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(table)
                                   ).fetchone()
        return bool(row and row[0])

    def write(self, acc: dict[str, Any], estimated_rows: int) -> None:
        """Classify and send one chunk of accepted rows."""
        n = len(acc["__h1"])
        new = np.ones(n, dtype=bool)
        changed = np.zeros(n, dtype=bool)
        if self.lookup:
            new, changed = self._classify(acc, n)
        self.counts.new += int(new.sum())
        self.counts.changed += int(changed.sum())
        self.counts.unchanged += n - int(new.sum()) - int(changed.sum())
        if self.dry_run:
            return
        if not self.prepared:
            self._prepare(estimated_rows * (new.sum() / n if n else 1.0))
        if new.any():
            self._copy(self._new_table(), _select(acc, new))
        if changed.any():
            self._copy(self._stage("bw_changed"), _select(acc, changed))

    def _classify(self, acc: dict[str, Any], n: int) -> tuple[np.ndarray, np.ndarray]:
        """(new, changed) masks: look the chunk's keys up in the table."""
        ident = sql.Identifier
        arrays = [_key_text(acc[name], col.typname) for name, col in
                  zip(self.key_names, self.key_cols, strict=True)]
        cols = [sql.Identifier(f"k{i}") for i in range(len(arrays))]
        on: list[sql.Composable] = [
            sql.SQL("t.{} = k.{}::{}").format(ident(c.name), cols[i], sql.SQL(c.sqltype))
            for i, c in enumerate(self.key_cols)]
        params: list[Any] = list(arrays)
        if self.spec.source_in_key:
            on.append(sql.SQL("t.source = %s"))
            params.append(self.source)
        q = sql.SQL(
            "SELECT k.ord, t.content_hash FROM unnest({arrays}) WITH ORDINALITY"
            " AS k({cols}, ord) JOIN {table} t ON {on}"
        ).format(arrays=sql.SQL(", ").join(sql.SQL("%s::text[]") for _ in arrays),
                 cols=sql.SQL(", ").join(cols), table=ident(self.spec.table),
                 on=sql.SQL(" AND ").join(on))
        found = self.raw.execute(q, params).fetchall()
        new = np.ones(n, dtype=bool)
        changed = np.zeros(n, dtype=bool)
        if found:
            pos = np.array([r[0] for r in found], dtype=np.int64) - 1
            stored = np.array([str(r[1]).encode() for r in found], dtype="S16")
            new[pos] = False
            changed[pos] = stored != _hex16(acc["__h1"][pos])
        return new, changed

    def _prepare(self, estimated_new: float) -> None:
        """Before the first rows: a big first load into a (nearly) empty table drops the
        secondary indexes (rebuilt at the end, in the same transaction).

        Dropping an index locks the whole table until the commit, so the map's readers would
        wait for the load; a table already holding data keeps its indexes and stays readable.
        """
        self.prepared = True
        if self.strict or estimated_new < BULK_MIN_ROWS:
            return
        row = self.raw.execute(
            "SELECT greatest(reltuples, 0) FROM pg_class WHERE oid = %s::regclass",
            (self.spec.table,)).fetchone()
        if row is not None and float(row[0]) < BULK_MAX_EXISTING:
            self.dropped = _drop_secondary_indexes(self.raw, self.spec.table)

    def _new_table(self) -> str:
        return self._stage("bw_new") if self.strict else self.spec.table

    def _stage(self, name: str) -> str:
        if name not in self.staged:
            self.raw.execute(sql.SQL(
                "CREATE TEMP TABLE {} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA"
            ).format(sql.Identifier(name), self._names(), sql.Identifier(self.spec.table)))
            self.staged.add(name)
        return name

    def _names(self) -> sql.Composable:
        return sql.SQL(", ").join(sql.Identifier(o.col.name) for o in self.plan)

    def _copy(self, table: str, acc: dict[str, Any]) -> None:
        """One COPY of the rows, assembled ``COPY_BATCH`` rows at a time."""
        n = len(acc["__h1"])
        stmt = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
            sql.Identifier(table), self._names())
        with self.raw.cursor() as cur, cur.copy(stmt) as copy:
            copy.write(pgcopy.HEADER)
            for body in pgcopy.encode_batches(_fields(self.plan, acc, n), n, COPY_BATCH):
                copy.write(body)
            copy.write(pgcopy.TRAILER)

    def finish(self) -> tuple[int, int]:
        """Move strict-mode rows, apply the updates, rebuild dropped indexes; (ins, upd)."""
        if self.dry_run:
            return self.counts.new, self.counts.changed
        ident = sql.Identifier
        table = ident(self.spec.table)
        if "bw_new" in self.staged:
            self.raw.execute(sql.SQL("INSERT INTO {} ({}) SELECT {} FROM bw_new").format(
                table, self._names(), self._names()))
        updated = 0
        if "bw_changed" in self.staged:
            keys = _key_targets(self.spec)
            sets = [sql.SQL("{} = s.{}").format(ident(o.col.name), ident(o.col.name))
                    for o in self.plan if o.col.name not in keys]
            join = sql.SQL(" AND ").join(sql.SQL("t.{} = s.{}").format(ident(k), ident(k))
                                         for k in keys)
            updated = self.raw.execute(sql.SQL(
                "UPDATE {} AS t SET {}, updated_at = now() FROM bw_changed s WHERE {}"
                " AND t.content_hash IS DISTINCT FROM s.content_hash"
            ).format(table, sql.SQL(", ").join(sets), join)).rowcount
        for definition in self.dropped:
            self.raw.execute(definition)  # type: ignore[arg-type]  # pg_get_indexdef output
        return self.counts.new, int(updated)


def _select(acc: dict[str, Any], mask: np.ndarray) -> dict[str, Any]:
    return {k: v[mask] for k, v in acc.items()}


# ---------------------------------------------------------------------------- writer thread


class _Writer:
    """Runs jobs in order in one thread (the database side), at most ``depth`` waiting.

    The caller goes on reading, validating and enriching the next chunk while the previous
    one is being sent; a failure in the thread is raised again at the next ``submit`` or at
    ``finish``. Holding few chunks bounds the memory.
    """

    def __init__(self, depth: int = 1) -> None:
        self._jobs: queue.Queue[Callable[[], None] | None] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="bw-load-writer", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            if self._error is not None or self._stop.is_set():
                continue
            try:
                job()
            except BaseException as exc:  # handed to the caller's thread, raised there
                self._error = exc

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def submit(self, job: Callable[[], None]) -> None:
        self._raise()
        self._jobs.put(job)

    def finish(self) -> None:
        """Wait for every job; raise the thread's failure, if any."""
        self._jobs.put(None)
        self._thread.join()
        self._raise()

    def abort(self) -> None:
        """Skip the jobs not started yet, wait for the running one."""
        self._stop.set()
        while True:
            try:
                self._jobs.get_nowait()
            except queue.Empty:
                break
        self._jobs.put(None)
        self._thread.join()


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
    memory_keys: int = MEMORY_KEYS,
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
    memory_keys
        Most natural keys of the file held in memory to find in-file duplicates (32 bytes
        each); the older ones go to a TEMP table on a second connection, opened only then
        and closed when the load ends (``etl.warehouse.seen_keys``).

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
                # a NUL may also hide in GeoJSON escapes or GeoPackage text: check every value
                _run(conn, settings, spec, inp, report, started, progress=progress,
                     dry_run=dry_run, strict=strict, check_nul=has_nul or inp.fmt != "csv",
                     memory_keys=memory_keys)
        except LoadRunFailed:
            raise
        except (BorderwatchError, psycopg.Error, SQLAlchemyError, OSError, ValueError,
                KeyboardInterrupt) as exc:
            fail_load(engine, report, started, exc)
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


def fail_load(engine: Engine, report: LoadReport, started: float, exc: BaseException) -> None:
    """Record the run as failed (its data transaction was rolled back) and raise
    ``LoadRunFailed`` with a safe message; a ``KeyboardInterrupt`` is raised again as such."""
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
    memory_keys: int = MEMORY_KEYS,
) -> None:
    raw: psycopg.Connection = conn.connection.driver_connection  # type: ignore[assignment]
    assert report.run_id is not None
    raw.execute("SET LOCAL client_connection_check_interval = '2s'")
    hold_load_lock(raw, report.run_id, settings, progress, wait=not dry_run)
    refs, geo = _references(raw, spec)
    store = TempKeyStore(conn.engine)  # its connection opens on the first spill, if any
    validator = Validator(spec, refs, default_context(check_nul=check_nul), extras=inp.extras,
                          seen=SeenKeys(memory_keys, store))
    plan = _plan(spec, _table_columns(raw, spec.table), inp.extras, report.source,
                 report.run_id)
    sink = _Sink(raw, spec, plan, report.source, dry_run=dry_run, strict=strict)
    radius_m = settings.bcp_radius_km * 1000.0
    writer = _Writer()
    staging = True
    try:
        for chunk in prefetched(inp.chunks()):
            result = validator.validate(chunk.frame, inp.raw_names)
            report.read += result.n_read
            report.unchanged += result.duplicates
            if result.rejects:
                report.rejected += len(result.rejects)
                count_reasons(report, result.rejects)
                writer.submit(partial(_copy_rejects, raw, report.run_id, result.rejects))
                staging = staging and not strict
            if staging and len(result.accepted_rows):
                accepted = result.accepted
                if geo is not None:
                    accepted.update(enrich.enrich_points(
                        geo, accepted["lon"], accepted["lat"], bcp_radius_m=radius_m,
                        reporting=accepted.get("reporting_country"),
                        bcp_code=accepted.get("bcp_code")))
                estimate = int(report.read * chunk.total / chunk.done) if chunk.done else 0
                writer.submit(partial(sink.write, accepted, estimate))
            progress.update(chunk.done, chunk.total, report.read)
        writer.finish()
    except BaseException:
        writer.abort()
        raise
    finally:
        store.close()
    if strict and report.rejected:
        return  # committed: the rejects are kept; load_file marks the run failed
    if not dry_run:
        progress.message(f"writing {sink.counts.new + sink.counts.changed:,} rows "
                         f"to {spec.table}…")
    ins, upd = sink.finish()
    report.inserted, report.updated = ins, upd
    report.unchanged += sink.counts.unchanged + sink.counts.changed - upd
    if not dry_run and spec.kind == "incidents":
        rollup.refresh_after_load(conn, report.run_id)
    finish_run(conn, report, started=started)


# --------------------------------------------------------------------------------- the locks


def hold_load_lock(raw: psycopg.Connection, run_id: int, settings: Settings,
                   progress: Progress | None = None, *, wait: bool = True) -> None:
    """Take the locks every load holds for its transaction (all loaders call this).

    The run lock ``(RUN_LOCK_NS, run_id)`` tells other loads that this run is alive. The
    load lock serialises the loads that write (``wait``; a dry run does not take it): a busy
    lock is waited for at most ``settings.lock_timeout_s`` seconds, then ``LoadBusy``. Runs
    left 'running' by a process that died are then marked failed.
    """
    raw.execute("SELECT pg_advisory_xact_lock(%s, %s)", (RUN_LOCK_NS, run_id))
    if not wait:
        return
    got = raw.execute("SELECT pg_try_advisory_xact_lock(%s)", (LOAD_LOCK_KEY,)).fetchone()
    if not (got and got[0]):
        timeout = settings.lock_timeout_s
        if timeout <= 0:
            raise LoadBusy("another load is running; try again when it has finished")
        (progress or SilentProgress()).message(
            f"waiting for another load to finish (at most {timeout} s)…")
        raw.execute("SELECT set_config('lock_timeout', %s, true)", (f"{timeout}s",))
        try:
            raw.execute("SELECT pg_advisory_xact_lock(%s)", (LOAD_LOCK_KEY,))
        except psycopg.errors.LockNotAvailable as exc:
            raise LoadBusy(
                f"another load was still running after {timeout} s; nothing was written, "
                "try again later"
            ) from exc
        raw.execute("SELECT set_config('lock_timeout', '0', true)")
    _close_dead_runs(raw, run_id)


def lock_loads(conn: Connection, run_id: int, settings: Settings) -> None:
    """``hold_load_lock`` for a SQLAlchemy connection (the reference-data loaders)."""
    raw: psycopg.Connection = conn.connection.driver_connection  # type: ignore[assignment]
    hold_load_lock(raw, run_id, settings)


def _close_dead_runs(raw: psycopg.Connection, run_id: int | None) -> None:
    """Mark 'running' runs whose process is gone (its run lock is free) as failed."""
    rows = raw.execute(
        "SELECT run_id FROM load_run WHERE status = 'running' AND run_id <> %s", (run_id,)
    ).fetchall()
    for (other,) in rows:
        free = raw.execute(
            "SELECT pg_try_advisory_xact_lock(%s, %s)", (RUN_LOCK_NS, other)
        ).fetchone()
        if free and free[0]:
            raw.execute(
                "UPDATE load_run SET status = 'failed', finished_at = now(), message = %s "
                "WHERE run_id = %s AND status = 'running'",
                ("interrupted: the loading process ended before finishing; nothing was written",
                 other),
            )


# ------------------------------------------------------------------------- reference data


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
        "SELECT code, ST_X(geom), ST_Y(geom), country_a, country_b FROM bcp ORDER BY code"
    ).fetchall()
    refs.bcp_lonlat = {c: (float(x), float(y)) for c, x, y, _, _ in bcps}
    countries = raw.execute(
        "SELECT iso2, ST_AsBinary(geom) FROM country ORDER BY is_target DESC, iso2"
    ).fetchall()
    sections = raw.execute(
        "SELECT s.section_id, ST_AsBinary(s.geom), l.country_a, l.country_b"
        " FROM border_section s JOIN border_line l ON l.pair_id = s.pair_id"
        " ORDER BY s.section_id"
    ).fetchall()
    geo = enrich.build_geography(
        [(c, bytes(g)) for c, g in countries],
        [(s, bytes(g), a, b) for s, g, a, b in sections],
        [(c, float(x), float(y), a, b) for c, x, y, a, b in bcps],
    )
    return refs, geo


def _copy_rejects(raw: psycopg.Connection, run_id: int | None, rejects: list[Reject]) -> None:
    with raw.cursor() as cur, cur.copy(
        "COPY rejected_row (run_id, row_number, raw, reasons) FROM STDIN (FORMAT BINARY)"
    ) as copy:
        copy.set_types(["int4", "int4", "jsonb", "jsonb"])
        for r in rejects:
            copy.write_row((run_id, r.row_number, Jsonb(r.raw),
                            Jsonb([asdict(reason) for reason in r.reasons])))


#: A load whose new rows reach this many, into a table holding fewer than
#: ``BULK_MAX_EXISTING`` rows (a first backfill: nobody watches an empty map), rebuilds the
#: secondary indexes at the end instead of maintaining them row by row.
BULK_MIN_ROWS = 100_000
BULK_MAX_EXISTING = 10_000
#: Rows assembled at a time for COPY (the encoder's index arrays stay small).
COPY_BATCH = 5_000


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


# --------------------------------------------------------------------- reference-data upserts


def upsert_rows(conn: Connection, table: Table, rows: Sequence[dict[str, Any]],
                keep: Iterable[str] = ()) -> tuple[int, int, int]:
    """Insert new rows, update changed ones, leave equal ones untouched (reference data).

    Rows are matched on the table's primary key; a row is updated only when some column
    differs (geometries compared as EWKB). Columns in ``keep`` are never overwritten. Used by
    the geodata and BCP-registry loaders (small tables, one statement).

    Returns
    -------
    tuple
        ``(inserted, updated, unchanged)``.
    """
    if not rows:
        return 0, 0, 0
    key = [c.name for c in table.primary_key.columns]
    key_cols = [table.c[k] for k in key]
    existing = {tuple(r) for r in conn.execute(select(*key_cols))}
    stmt = pg_insert(table).values(list(rows))
    columns = [c for c in rows[0] if c not in key and c not in set(keep)]
    changed = or_(*[_differs(table.c[c], stmt.excluded[c]) for c in columns])
    set_: dict[str, Any] = {c: stmt.excluded[c] for c in columns}
    if "updated_at" in table.c:
        set_["updated_at"] = func.now()
    stmt = stmt.on_conflict_do_update(index_elements=key_cols, set_=set_, where=changed)
    touched = {tuple(r) for r in conn.execute(stmt.returning(*key_cols))}
    inserted = len(touched - existing)
    updated = len(touched & existing)
    return inserted, updated, len(rows) - inserted - updated


def _differs(current: Any, new: Any) -> Any:
    if current.type.__class__.__name__ in ("Geometry", "Geography"):
        return func.ST_AsEWKB(current).is_distinct_from(func.ST_AsEWKB(new))
    return current.is_distinct_from(new)


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
    """The given run, or the latest file load (not a delete or rollup job); None if none."""
    q = select(load_run.c.run_id, load_run.c.kind, load_run.c.source, load_run.c.file_name,
               load_run.c.status, load_run.c.rows_rejected)
    q = (q.where(load_run.c.run_id == run_id) if run_id is not None
         else q.where(load_run.c.kind.notin_(MAINTENANCE_KINDS))
         .order_by(load_run.c.run_id.desc()).limit(1))
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
