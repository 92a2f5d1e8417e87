"""CSV input: the header (within the limits of ``etl.reader.files``), then the rows in chunks.

Rows are parsed by pandas' C reader. A row with more fields than the header keeps its surplus
values in ``__overflow`` (the row is then rejected as ``malformed_row``); should a row carry so
many that the fast reader gives up, the rest of the file is read with Python's ``csv`` module.
A file holding a NUL byte is read with the ``csv`` module from the start: pandas would cut the
value short at the NUL.
"""

from __future__ import annotations

import csv
import io
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from etl.errors import InputFileError
from etl.reader.files import MAX_HEADER_BYTES, Chunk, InputFile
from etl.validate import OVERFLOW, ROW, SourceSpec

_PAD = 8  # spare columns for rows longer than the header
#: Largest field the ``csv`` module reads (its default, 128 KiB, would fail a long text that
#: pandas reads; the validator rejects text beyond its column's limit).
FIELD_LIMIT = 1 << 30


def open_csv(path: Path, spec: SourceSpec, chunk_rows: int) -> InputFile:
    """The header of a CSV file (refused when unreadable, empty or too long)."""
    with path.open("rb") as fh:
        head = fh.read(MAX_HEADER_BYTES + 1)
    text = head.decode("utf-8-sig", errors="replace")  # the scan refuses bad bytes later
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise InputFileError(f"{path.name}: unreadable CSV header ({exc})") from exc
    lines = reader.line_num
    complete = _ends_within(text, lines) or len(head) <= MAX_HEADER_BYTES
    if not complete:
        raise InputFileError(f"{path.name}: the header line is longer than "
                             f"{MAX_HEADER_BYTES // 1024} KiB; is this the right file?")
    if not header or not any(h.strip() for h in header):
        raise InputFileError(f"{path.name}: empty file or no header line")
    return InputFile(path, spec, chunk_rows, "csv", header, [], total=path.stat().st_size,
                     header_lines=lines, reader=csv_chunks)


def _ends_within(text: str, lines: int) -> bool:
    """Whether the first ``lines`` physical lines of ``text`` end inside it."""
    at = -1
    for _ in range(lines):
        at = text.find("\n", at + 1)
        if at < 0:
            return False
    return True


def csv_chunks(inp: InputFile) -> Iterator[Chunk]:
    """Fast path with pandas; on a row pandas cannot take, continue with the csv module."""
    if inp.has_nul:
        yield from _csv_module_chunks(inp, skip=0)
        return
    ncol = len(inp.columns)
    pads = [f"__pad{i}" for i in range(_PAD)]
    names = [f"__c{i}" for i in range(ncol)] + pads
    yielded = 0
    try:
        with inp.path.open("rb") as raw:
            reader = pd.read_csv(
                raw, header=None, skiprows=inp.header_lines, names=names, dtype=str,
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
    csv.field_size_limit(FIELD_LIMIT)
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
