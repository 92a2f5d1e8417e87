"""Stream an input file (CSV, GeoJSON, GeoPackage) as chunks of text columns.

Every value comes out as the text it had in the file (GeoJSON/GeoPackage numbers and dates
are turned back into text), so that validation sees what the sender wrote and a reject keeps
it. Header names are matched case-insensitively (``Incident ID`` = ``incident_id``); columns
that the source does not declare are kept under their original header and end up in ``attrs``.

``open_input`` checks a file before anything is recorded or locked: its format, its header
(at most ``MAX_COLUMNS`` columns and ``MAX_HEADER_BYTES`` bytes, no NUL, no column twice, the
required columns present) and, for CSV, that every byte of it is UTF-8 text; it also takes the
file's checksum. A NUL character in a value is kept, so that the validator rejects the row
(``bad_text``) rather than let a truncated value through: a CSV file holding a NUL byte is
read with Python's ``csv`` module, and GeoJSON ``\\u0000`` escapes and GeoPackage text with a
NUL (both cut short by GDAL) are read again from the file itself.

Modules: ``files`` (``InputFile``, ``Chunk``, the limits), ``csvfile`` (CSV), ``ogrfile``
(GeoJSON, GeoPackage through pyogrio).
"""

from __future__ import annotations

import codecs
import hashlib
import queue
import re
import threading
from collections.abc import Iterator
from pathlib import Path

from etl.errors import InputFileError
from etl.reader import csvfile, ogrfile
from etl.reader.files import MAX_COLUMNS, MAX_HEADER_BYTES, Chunk, InputFile
from etl.validate import GEOM_LON, SourceSpec

CSV_SUFFIXES = (".csv", ".txt")
OGR_SUFFIXES = (".geojson", ".json", ".gpkg")
_NUL_ESCAPE = re.compile(rb"\\u0000", re.I)

__all__ = ["CSV_SUFFIXES", "MAX_COLUMNS", "MAX_HEADER_BYTES", "OGR_SUFFIXES", "Chunk",
           "InputFile", "normalise_header", "open_input", "prefetched"]


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
        Missing file, unknown format, unreadable or oversized header, a CSV file that is not
        UTF-8 text, duplicate or missing columns.
    """
    if not path.is_file():
        raise InputFileError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        inp = csvfile.open_csv(path, spec, chunk_rows)
    elif suffix in OGR_SUFFIXES:
        inp = ogrfile.open_ogr(path, spec, chunk_rows)
    else:
        raise InputFileError(
            f"{path.name}: unknown format '{suffix or '(none)'}'; "
            "use .csv, .geojson (or .json) or .gpkg"
        )
    if len(inp.headers) > MAX_COLUMNS:
        raise InputFileError(f"{path.name}: {len(inp.headers):,} columns; a file may have at "
                             f"most {MAX_COLUMNS:,}")
    if any("\x00" in h for h in inp.headers):
        raise InputFileError(f"{path.name}: a column name in the header holds a NUL character")
    _map_headers(inp)
    found = set(inp.columns) | ({GEOM_LON} if inp.fmt == "ogr" and inp.has_geometry else set())
    missing = [
        " or ".join(g for g in group if not g.startswith("__"))
        for group in spec.required_headers()
        if not found.intersection(group)
    ]
    if missing:
        raise InputFileError(
            f"{path.name}: missing required column(s) for {spec.kind}: {', '.join(missing)} "
            f"(found: {', '.join(inp.headers) or 'no header'}); nothing is read from a file "
            "with required column(s) missing"
        )
    _scan(inp)
    return inp


def _map_headers(inp: InputFile) -> None:
    declared = set(inp.spec.names)
    aliases = inp.spec.aliases()
    inp.columns, inp.raw_names = [], {}
    extras: list[str] = []
    for i, header in enumerate(inp.headers):
        norm = normalise_header(header)
        name = aliases.get(norm, norm)
        if name in declared:
            col = name
        else:
            col = header.strip() or f"column_{i + 1}"
            if col.startswith("__") or col in declared:
                col = f"x_{col}"
            extras.append(col)
        if col in inp.raw_names:
            raise InputFileError(f"{inp.path.name}: column '{header}' appears twice in the header")
        inp.columns.append(col)
        inp.raw_names[col] = header if header.strip() else col
    inp.extras = tuple(extras)


def _scan(inp: InputFile) -> None:
    """The file's checksum, whether it holds a NUL (CSV: a byte; GeoJSON: an escape), and for
    CSV that it is UTF-8 text throughout (else refused, with the line of the first bad byte)."""
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")() if inp.fmt == "csv" else None
    offset, lines, tail = 0, 1, b""
    with inp.path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
            inp.has_nul = inp.has_nul or b"\x00" in block or bool(_NUL_ESCAPE.search(tail + block))
            tail = block[-5:]
            if decoder is not None:
                try:
                    decoder.decode(block)
                except UnicodeDecodeError as exc:
                    _not_utf8(inp.path, offset + exc.start, lines + block.count(b"\n", 0, exc.start))
                lines += block.count(b"\n")
            offset += len(block)
    if decoder is not None:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            _not_utf8(inp.path, offset, lines)
    inp.checksum = digest.hexdigest()


def _not_utf8(path: Path, at: int, line: int) -> None:
    raise InputFileError(f"{path.name}: not UTF-8 text (a byte that is not UTF-8 at line "
                         f"{line:,}, byte {at:,}); save it as UTF-8, nothing was read")
