"""The load runner: one input file of a registered kind -> validated rows in the warehouse.

``load_file`` finds the kind (``etl.sources.KINDS``), refuses a file it cannot read
(``etl.reader.open_input``), then runs the load as a recorded run (``etl.runs.recorded_run``:
run row, load lock, one transaction, finish or fail) whose work is ``etl.pipeline.load_into``
(read, validate, enrich, store, in chunks, in that one transaction).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from etl.errors import InputFileError
from etl.pipeline import load_into
from etl.reader import open_input
from etl.report import LoadReport
from etl.runs import LoadRunFailed, Progress, recorded_run
from etl.settings import Settings
from etl.sources import KINDS
from etl.validate import MEMORY_KEYS
from etl.warehouse.engine import connect, driver_connection
from etl.warehouse.locks import LOAD_LOCK_KEY
from etl.warehouse.rejects import rejected_rows
from etl.warehouse.runs import set_header

#: Names tests and other modules take from the runner (each defined where its name says).
__all__ = ["LOAD_LOCK_KEY", "LoadRunFailed", "iter_rejects", "load_file", "load_impact_levels"]


def load_file(
    engine: Any,
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
    """Load one file of an input kind; return what happened.

    Parameters
    ----------
    engine
        The warehouse.
    settings
        ``load_chunk_rows``, ``lock_timeout_s``, ``bcp_radius_km`` and the kinds' limits.
    kind
        A registered kind (``etl.sources.KINDS``): ``incidents``, ``flows``, ``benchmarks``,
        ``impact_levels``, ``bcps``...
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
    spec = KINDS.get(kind)
    if spec is None:
        raise InputFileError(f"unknown kind '{kind}' (use one of: {', '.join(KINDS)})")
    path = Path(path)
    inp = open_input(path, spec, settings.load_chunk_rows)
    src = (source if source is not None else path.stem).strip()
    if not src:
        raise InputFileError("the source name must not be empty")
    with recorded_run(engine, settings, kind=spec.kind, source=src, file_name=path.name,
                      checksum=inp.checksum, dry_run=dry_run, exclusive=not dry_run,
                      progress=progress) as run:
        set_header(run.db, run.run_id, inp.headers)
        # a NUL may also hide in GeoJSON escapes or GeoPackage text: check every value
        load_into(run, spec, inp, strict=strict, check_nul=inp.has_nul or inp.fmt != "csv",
                  memory_keys=memory_keys)
        if inp.notes:
            run.report.message = "; ".join(inp.notes)
    return run.report


def load_impact_levels(engine: Any, settings: Settings, path: Path, **options: Any
                       ) -> LoadReport:
    """``load_file`` of the impact levels of border sections (``borderwatch load
    impact-levels``); ``options`` as for ``load_file``."""
    return load_file(engine, settings, "impact_levels", path, **options)


def iter_rejects(engine: Any, run_id: int) -> Iterator[tuple[int, dict[str, Any], list[dict]]]:
    """(row_number, raw, reasons) of a run's rejected rows in file order, streamed."""
    with connect(engine) as conn:
        yield from rejected_rows(driver_connection(conn), run_id)
