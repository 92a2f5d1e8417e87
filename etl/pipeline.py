"""What a load does inside its run: read, validate, enrich and store a file's rows.

``load_into`` streams the file in chunks (``etl.reader``), validates each chunk
(``etl.validate``) and enriches its located rows (``etl.enrich``) in the calling thread, while
a writer thread sends the previous chunk to PostgreSQL through the kind's store
(``etl.stores``; a fact table by default) and its rejects into ``rejected_row``. Everything
happens in the run's ONE transaction: a failure or a kill leaves the warehouse as it was.

Memory stays bounded whatever the file size: a few chunks are in flight at a time, and the
validator's in-file duplicate check keeps the newest ``memory_keys`` keys of the file in memory
and the older ones in a TEMP table on a second connection owned by the load
(``etl.warehouse.seen_keys``; the main connection belongs to the writer thread). Kinds whose
duplicates reject every row of a key (``SourceSpec.whole_file``) are validated in one piece.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from etl import enrich, memory
from etl.errors import InputFileError, LoadError
from etl.reader import Chunk, InputFile, prefetched
from etl.runs import Run
from etl.stores import FactStore, Store, Target
from etl.validate import MEMORY_KEYS, References, SeenKeys, SourceSpec, Validator, default_context
from etl.validate.fingerprint import fingerprint, layout, mixed
from etl.warehouse import references
from etl.warehouse.facts import set_fingerprint
from etl.warehouse.rejects import copy_rejects
from etl.warehouse.seen_keys import TempKeyStore


def load_into(run: Run, spec: SourceSpec, inp: InputFile, *, strict: bool = False,
              check_nul: bool = True, memory_keys: int = MEMORY_KEYS) -> int:
    """Read, validate, enrich and store the rows of ``inp`` inside ``run``; its counts are
    added to ``run.report``. ``strict``: any reject fails the run, keeping only the rejects.
    Returns the number of rows accepted (neither rejected nor a repeat of an earlier row)."""
    memory.bound_the_heap()
    report, db, settings = run.report, run.db, run.settings
    refs, geo = read_references(db, spec)
    ctx = default_context(check_nul=check_nul, settings=settings)
    store: Store = (spec.store or FactStore)(Target(
        db, spec, report.source, run.run_id, inp.extras, refs, dry_run=report.dry_run,
        strict=strict, now=ctx.now))
    keys = TempKeyStore(run.conn.engine)  # its connection opens on the first spill, if any
    writer = _Writer()
    validator = Validator(spec, refs, ctx, extras=inp.extras, seen=SeenKeys(memory_keys, keys),
                          database=partial(writer.call, db) if spec.lookups else None)
    radius_m = settings.bcp_radius_km * 1000.0
    staging = True
    accepted_rows = 0
    clock = _Clock(report.stages)
    classify = getattr(store, "classify", None) if geo is not None else None
    store_known = getattr(store, "known", None)
    raw_print = valid_print = None
    if store_known is not None and getattr(store, "has_raw", False) and spec.skip_known:
        valid_print = fingerprint(spec, report.source, list(inp.columns), refs, ctx)
        if valid_print is not None:  # (None: a reference without canonical text)
            raw_print = layout(spec.kind, report.source, list(inp.columns))
            inp.lazy_text = bool(getattr(store, "lookup", False))  # a reload: most rows held
    chunks = _whole(inp, spec) if spec.whole_file else prefetched(inp.chunks())
    try:
        if valid_print is not None and not report.dry_run:
            writer.call(db, partial(set_fingerprint, run_id=run.run_id,
                                    fingerprint=valid_print))
        while True:
            with clock("read"):
                chunk = next(chunks, None)
            if chunk is None:
                break
            digests, known = None, None
            if raw_print is not None and store_known is not None and chunk.digests is not None:
                digests = mixed(chunk.digests, raw_print)
                with clock("recognise rows held as read"):
                    known = store_known(digests, run.conn.engine,
                                        _file_rows(chunk, report.read + len(chunk.frame)),
                                        valid_print)
            with clock("validate"):
                result = validator.validate(chunk.frame, inp.raw_names, digests=digests,
                                            known=known)
            report.read += result.n_read
            report.unchanged += result.duplicates + result.known
            accepted_rows += result.known
            if result.rejects:
                report.rejected += len(result.rejects)
                report.count_reasons(result.rejects)
                with clock("wait for the writer"):
                    writer.submit(partial(copy_rejects, db, run.run_id, result.rejects))
                staging = staging and not strict
            accepted_rows += len(result.accepted_rows)
            if staging and len(result.accepted_rows):
                accepted = result.accepted
                classes = None
                estimate = _file_rows(chunk, report.read)
                if classify is not None:  # unchanged rows are not enriched, nor written
                    with clock("classify keys"):
                        classes = classify(accepted, run.conn.engine, estimate)
                if geo is not None:
                    with clock("enrich"):
                        _enrich(geo, accepted, None if classes is None else classes.written,
                                radius_m)
                with clock("wait for the writer"):
                    writer.submit(partial(store.write, accepted, estimate, classes))
            run.progress.update(chunk.done, chunk.total, report.read)
        with clock("wait for the writer"):
            writer.finish()
    except BaseException:
        writer.abort()
        raise
    finally:
        keys.close()
        getattr(store, "close", lambda: None)()
        report.stages["write (writer thread)"] = round(writer.busy, 3)
    if strict and report.rejected:
        run.fail(f"strict mode: {report.rejected:,} row(s) rejected, nothing was loaded "
                 f"(see: borderwatch rejects --run {run.run_id})")
        return accepted_rows  # the rejects are kept with the failed run
    if not report.dry_run:
        run.progress.message(f"writing the rows of {spec.label} to {spec.table}…")
    with clock("finish the table (updates, indexes)"):
        inserted, updated, unchanged = store.finish()
    report.inserted += inserted
    report.updated += updated
    report.unchanged += unchanged
    if not report.dry_run and spec.after_load is not None:
        with clock("after the load (rollup)"):
            spec.after_load(run)
    return accepted_rows


def _file_rows(chunk: Chunk, rows: int) -> int:
    """The rows the file is estimated to hold: ``rows`` read up to the end of ``chunk``, in
    proportion to the bytes (or features) read."""
    return int(rows * chunk.total / chunk.done) if chunk.done else 0


class _Clock:
    """Seconds spent per stage, added up into ``stages`` (the report's)."""

    def __init__(self, stages: dict[str, float]) -> None:
        self.stages = stages

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        began = time.perf_counter()
        try:
            yield
        finally:
            spent = time.perf_counter() - began
            self.stages[stage] = round(self.stages.get(stage, 0.0) + spent, 3)


def _enrich(geo: enrich.Geography, acc: dict[str, Any], rows: np.ndarray | None,
            radius_m: float) -> None:
    """Add the enrichment columns to the accepted rows (only to ``rows``, when given: the
    others get empty values, never written)."""
    if rows is not None and not rows.all():
        sub = {k: acc[k][rows] if acc.get(k) is not None else None
               for k in ("reporting_country", "bcp_code")}
        part = enrich.enrich_points(geo, acc["lon"][rows], acc["lat"][rows],
                                    bcp_radius_m=radius_m, reporting=sub["reporting_country"],
                                    bcp_code=sub["bcp_code"])
        n = len(rows)
        for name, values in part.items():
            full = (np.full(n, None, dtype=object) if values.dtype == object
                    else np.zeros(n, dtype=values.dtype))
            if values.dtype.kind == "f":
                full[:] = np.nan
            full[rows] = values
            acc[name] = full
        return
    acc.update(enrich.enrich_points(geo, acc["lon"], acc["lat"], bcp_radius_m=radius_m,
                                    reporting=acc.get("reporting_country"),
                                    bcp_code=acc.get("bcp_code")))


def _whole(inp: InputFile, spec: SourceSpec) -> Iterator[Chunk]:
    """The whole file as one chunk (kinds validated in one piece), at most ``max_rows``."""
    frames, done, total = [], 0, 0
    rows = 0
    for chunk in inp.chunks():
        frames.append(chunk.frame)
        rows += len(chunk.frame)
        done, total = chunk.done, chunk.total
        if rows > spec.max_rows:
            raise InputFileError(f"{inp.path.name}: more than {spec.max_rows:,} rows; a file "
                                 f"of {spec.label} is read in one piece and may not hold more")
    if frames:
        yield Chunk(pd.concat(frames, ignore_index=True), done, total)


def read_references(db: Any, spec: SourceSpec) -> tuple[References, enrich.Geography | None]:
    """What the rows of ``spec`` are checked against (and, for located kinds, enriched with).

    Raises
    ------
    LoadError
        The reference set the kind ``requires`` is empty: the geodata is not loaded.
    """
    refs = References()
    needed = {c.ref for c in spec.columns if c.ref} | {spec.requires}
    needed |= {r for r in spec.references if isinstance(r, str)}
    for name in sorted(needed):
        refs.codes[name] = references.codes(db, name)
    if not refs.codes[spec.requires]:
        label, table = references.describe(spec.requires)
        raise LoadError(f"the warehouse has no {label} (the {table} table is empty): "
                        "load it first with `borderwatch load geodata`")
    for entry in spec.references:
        if not isinstance(entry, str):
            name, reader = entry
            refs.tables[name] = reader(db)
    if not spec.located:
        return refs, None
    rows = references.geography(db)
    refs.bcp_lonlat = {c: (x, y) for c, x, y, _, _ in rows.bcps}
    return refs, enrich.build_geography(rows.countries, rows.sections, rows.bcps)


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
        self.busy = 0.0  # seconds spent running jobs
        self._thread = threading.Thread(target=self._loop, name="bw-load-writer", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            if self._error is not None or self._stop.is_set():
                continue
            began = time.perf_counter()
            try:
                job()
            except BaseException as exc:  # handed to the caller's thread, raised there
                self._error = exc
            finally:
                self.busy += time.perf_counter() - began

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def submit(self, job: Callable[[], None]) -> None:
        self._raise()
        self._jobs.put(job)

    def call(self, db: Any, f: Callable[[Any], Any]) -> Any:
        """``f(db)`` run in the thread after the jobs before it; its result (the validator's
        lookups reach the database this way)."""
        done = threading.Event()
        out: list[Any] = []

        def job() -> None:
            try:
                out.append(f(db))
            finally:
                done.set()

        self.submit(job)
        while not done.wait(0.1):
            self._raise()
        self._raise()
        return out[0]

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
