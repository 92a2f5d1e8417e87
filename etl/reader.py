"""Stream an input file (CSV, GeoJSON, GeoPackage) as chunks of text columns.

Every value comes out as the text it had in the file (GeoJSON/GeoPackage numbers and dates
are turned back into text), so that validation sees what the sender wrote and a reject keeps
it. Header names are matched case-insensitively (``Incident ID`` = ``incident_id``); columns
that the source does not declare are kept under their original header and end up in ``attrs``.

CSV is parsed by pandas' C reader. A row with more fields than the header keeps its surplus
values in ``__overflow`` (the row is then rejected as ``malformed_row``); should a row carry so
many that the fast reader gives up, the rest of the file is read with Python's ``csv`` module.
"""

from __future__ import annotations

import csv
import io
import queue
import re
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

from etl.errors import InputFileError
from etl.validate import GEOM_LAT, GEOM_LON, GEOM_TYPE, GEOM_WKT, OVERFLOW, ROW, SourceSpec

CSV_SUFFIXES = (".csv", ".txt")
OGR_SUFFIXES = (".geojson", ".json", ".gpkg")
_PAD = 8  # spare columns for rows longer than the header


@dataclass
class Chunk:
    """Rows of one chunk: ``frame`` of strings (see module doc), position for progress."""

    frame: pd.DataFrame
    done: int  # bytes (CSV) or features (others) consumed so far
    total: int


@dataclass
class InputFile:
    """An opened input: its header mapping, then ``chunks()`` to stream the rows."""

    path: Path
    spec: SourceSpec
    chunk_rows: int
    fmt: str
    headers: list[str]  # as written
    columns: list[str]  # names used in the frames (declared name, or the original header)
    extras: tuple[str, ...] = ()
    raw_names: dict[str, str] = field(default_factory=dict)
    total: int = 0

    def chunks(self) -> Iterator[Chunk]:
        """Yield the rows in chunks of at most ``chunk_rows``."""
        if self.fmt == "csv":
            yield from _csv_chunks(self)
        else:
            yield from _ogr_chunks(self)


def prefetched(items: Iterator[Chunk], depth: int = 1) -> Iterator[Chunk]:
    """``items``, read ahead by a thread (``depth`` chunks): the file is parsed while the
    caller works on the previous chunk. Errors of the reading are raised in the caller."""
    slots: queue.Queue[tuple[str, object]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        slots.put(("item", item), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            slots.put(("end", None))
        except BaseException as exc:  # handed to the caller's thread, raised there
            slots.put(("error", exc))

    thread = threading.Thread(target=produce, name="bw-load-reader", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = slots.get()
            if kind == "end":
                return
            if kind == "error":
                raise value  # type: ignore[misc]
            yield value  # type: ignore[misc]
    finally:
        stop.set()
        while thread.is_alive():
            try:
                slots.get_nowait()
            except queue.Empty:
                thread.join(0.05)


def normalise_header(name: str) -> str:
    """``' Incident ID '`` -> ``'incident_id'``."""
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def open_input(path: Path, spec: SourceSpec, chunk_rows: int) -> InputFile:
    """Check that ``path`` is a readable file of a known format with the needed columns.

    Raises
    ------
    InputFileError
        Missing file, unknown format, unreadable header, duplicate or missing columns.
    """
    if not path.is_file():
        raise InputFileError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        fmt = "csv"
        headers = _csv_header(path)
        total = path.stat().st_size
    elif suffix in OGR_SUFFIXES:
        fmt = "ogr"
        headers, total, has_geom = _ogr_header(path)
    else:
        raise InputFileError(
            f"{path.name}: unknown format '{suffix or '(none)'}'; "
            "use .csv, .geojson (or .json) or .gpkg"
        )
    columns, raw_names, extras = _map_headers(headers, spec, path)
    if fmt == "ogr" and has_geom:
        columns_for_check = set(columns) | {GEOM_LON}
    else:
        columns_for_check = set(columns)
    missing = [
        " or ".join(g for g in group if not g.startswith("__"))
        for group in spec.required_headers()
        if not columns_for_check.intersection(group)
    ]
    if missing:
        raise InputFileError(
            f"{path.name}: missing required column(s) for {spec.kind}: {', '.join(missing)} "
            f"(found: {', '.join(headers) or 'no header'}); nothing is read from a file with "
            "required column(s) missing"
        )
    return InputFile(path, spec, chunk_rows, fmt, headers, columns, tuple(extras), raw_names,
                     total)


def _map_headers(
    headers: list[str], spec: SourceSpec, path: Path
) -> tuple[list[str], dict[str, str], list[str]]:
    declared = set(spec.names)
    aliases = spec.aliases()
    columns: list[str] = []
    raw_names: dict[str, str] = {}
    extras: list[str] = []
    for i, header in enumerate(headers):
        norm = normalise_header(header)
        name = aliases.get(norm, norm)
        if name in declared:
            col = name
        else:
            col = header.strip() or f"column_{i + 1}"
            if col.startswith("__") or col in declared:
                col = f"x_{col}"
            extras.append(col)
        if col in raw_names:
            raise InputFileError(f"{path.name}: column '{header}' appears twice in the header")
        columns.append(col)
        raw_names[col] = header if header.strip() else col
    return columns, raw_names, extras


# ------------------------------------------------------------------------------------- CSV


def _open_text(path: Path) -> IO[str]:
    return path.open("r", encoding="utf-8-sig", newline="")


def _csv_header(path: Path) -> list[str]:
    try:
        with _open_text(path) as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
    except UnicodeDecodeError as exc:
        raise InputFileError(f"{path.name}: not UTF-8 text ({exc.reason})") from exc
    except csv.Error as exc:
        raise InputFileError(f"{path.name}: unreadable CSV header ({exc})") from exc
    if not header or not any(h.strip() for h in header):
        raise InputFileError(f"{path.name}: empty file or no header line")
    return header


def _header_lines(path: Path) -> int:
    with _open_text(path) as fh:
        reader = csv.reader(fh)
        next(reader, None)
        return reader.line_num


def _csv_chunks(inp: InputFile) -> Iterator[Chunk]:
    """Fast path with pandas; on a row pandas cannot take, continue with the csv module."""
    ncol = len(inp.columns)
    pads = [f"__pad{i}" for i in range(_PAD)]
    names = [f"__c{i}" for i in range(ncol)] + pads
    yielded = 0
    try:
        with inp.path.open("rb") as raw:
            reader = pd.read_csv(
                raw, header=None, skiprows=_header_lines(inp.path), names=names, dtype=str,
                keep_default_na=False, na_filter=False, index_col=False, chunksize=inp.chunk_rows,
                encoding="utf-8-sig", engine="c", skip_blank_lines=True,
            )
            with reader:
                while True:
                    with warnings.catch_warnings():
                        # pandas only warns when it drops the surplus fields of a first row
                        warnings.simplefilter("error", pd.errors.ParserWarning)
                        part = next(reader, None)
                    if part is None:
                        break
                    frame = _finish_csv_frame(inp, part, pads, yielded)
                    yielded += len(frame)
                    yield Chunk(frame, raw.tell(), inp.total)
        return
    except (pd.errors.ParserError, pd.errors.ParserWarning):
        pass  # a row longer than the header and its spare columns: slow path from here
    except UnicodeDecodeError as exc:
        raise InputFileError(f"{inp.path.name}: not UTF-8 text ({exc.reason})") from exc
    yield from _csv_module_chunks(inp, skip=yielded)


def _finish_csv_frame(
    inp: InputFile, part: pd.DataFrame, pads: list[str], offset: int
) -> pd.DataFrame:
    values = part.iloc[:, : len(inp.columns)]
    values.columns = inp.columns
    frame = values.copy()
    pad_values = part[pads].to_numpy(dtype=object)
    has_pad = (pad_values != "").any(axis=1)
    if has_pad.any():
        over = np.full(len(part), "", dtype=object)
        over[has_pad] = [",".join(v for v in r if v != "") for r in pad_values[has_pad]]
        frame[OVERFLOW] = over
    frame[ROW] = np.arange(offset + 1, offset + len(frame) + 1)
    frame.index = pd.RangeIndex(len(frame))
    return frame


def _blank(row: list[str]) -> bool:
    return not row or (len(row) == 1 and row[0] != "" and not row[0].strip())


def _csv_module_chunks(inp: InputFile, skip: int) -> Iterator[Chunk]:
    ncol = len(inp.columns)
    seen = 0
    try:
        with inp.path.open("rb") as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
            reader = csv.reader(text)
            next(reader, None)
            rows: list[list[str]] = []
            for row in reader:
                if _blank(row):
                    continue
                seen += 1
                if seen <= skip:
                    continue
                rows.append(row)
                if len(rows) >= inp.chunk_rows:
                    yield Chunk(_rows_frame(inp, rows, seen - len(rows), ncol), raw.tell(),
                                inp.total)
                    rows = []
            if rows:
                yield Chunk(_rows_frame(inp, rows, seen - len(rows), ncol), raw.tell(), inp.total)
    except UnicodeDecodeError as exc:
        raise InputFileError(f"{inp.path.name}: not UTF-8 text ({exc.reason})") from exc
    except csv.Error as exc:
        raise InputFileError(f"{inp.path.name}: unreadable CSV near row {seen} ({exc})") from exc


def _rows_frame(inp: InputFile, rows: list[list[str]], offset: int, ncol: int) -> pd.DataFrame:
    fixed = [(r + [""] * (ncol - len(r)))[:ncol] for r in rows]
    frame = pd.DataFrame(fixed, columns=inp.columns, dtype=object)
    frame[OVERFLOW] = [",".join(v for v in r[ncol:] if v != "") for r in rows]
    frame[ROW] = np.arange(offset + 1, offset + len(rows) + 1)
    return frame


# ----------------------------------------------------------------------- GeoJSON, GeoPackage


def _ogr_header(path: Path) -> tuple[list[str], int, bool]:
    import pyogrio
    from pyogrio.errors import DataLayerError, DataSourceError

    try:
        info = pyogrio.read_info(path)
    except (DataSourceError, DataLayerError, OSError) as exc:
        raise InputFileError(f"{path.name}: cannot be read as GeoJSON/GeoPackage") from exc
    headers = [str(f) for f in info["fields"]]
    has_geom = bool(info.get("geometry_type"))
    return headers, int(info.get("features") or 0), has_geom


def _text_column(s: pd.Series) -> pd.Series:
    """Values of a typed column back to text ('' for missing)."""
    if s.dtype == object:
        return s.map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v))
                     else str(v))
    if pd.api.types.is_bool_dtype(s):
        return s.map(lambda v: "true" if v else "false")
    if pd.api.types.is_float_dtype(s):
        return s.map(lambda v: "" if np.isnan(v) else np.format_float_positional(v, trim="-"))
    if pd.api.types.is_datetime64_any_dtype(s):
        return s.map(lambda v: "" if pd.isna(v) else v.isoformat())
    return s.astype(str)


def _ogr_chunks(inp: InputFile) -> Iterator[Chunk]:
    import pyogrio
    import shapely

    done = 0
    while done < inp.total or (inp.total == 0 and done == 0):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            part = pyogrio.read_dataframe(
                inp.path, skip_features=done, max_features=inp.chunk_rows,
                datetime_as_string=True, on_invalid="ignore",
            )
        if not len(part):
            break
        if part.crs is not None and part.crs.to_epsg() != 4326:
            part = part.to_crs(4326)
        frame = pd.DataFrame(
            {col: _text_column(part[h]).to_numpy(dtype=object)
             for col, h in zip(inp.columns, inp.headers, strict=True)}
        )
        geoms = part.geometry.to_numpy() if "geometry" in part.columns else None
        if geoms is not None:
            types = shapely.get_type_id(geoms)
            is_point = types == 0
            xs = np.where(is_point, shapely.get_x(geoms), np.nan)
            ys = np.where(is_point, shapely.get_y(geoms), np.nan)
            names = np.array([""] * len(geoms), dtype=object)
            present = ~shapely.is_missing(geoms)
            names[present] = [g.geom_type for g in geoms[present]]
            frame[GEOM_LON] = xs
            frame[GEOM_LAT] = ys
            frame[GEOM_TYPE] = names
            wkt = np.array([""] * len(geoms), dtype=object)
            wkt[present] = shapely.to_wkt(geoms[present], rounding_precision=7)
            frame[GEOM_WKT] = wkt
        frame[ROW] = np.arange(done + 1, done + len(frame) + 1)
        done += len(frame)
        yield Chunk(frame, done, inp.total)
        if inp.total == 0:
            break
