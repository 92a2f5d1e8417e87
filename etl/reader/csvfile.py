"""CSV input: the header (within the limits of ``etl.reader.files``), then the rows in chunks.

Three readers, fastest first, each taking over where the one before cannot go on:

1. **Arrow** (``pyarrow.csv``) reads and parses in C++ outside the GIL, so the file is parsed
   while the loader validates the rows before (the Python strings of a chunk are still made
   under the GIL, in the reader's thread). It reads only well-formed rows: at the first row
   with another number of fields than the header, a blank-looking line or a row longer than
   its block, it stops and pandas goes on after the rows already given. pandas reads the file
   from its start to get there (discarding those rows): one ragged line at the end of a big
   file costs a second parse, as long as the whole read was before Arrow.
2. **pandas' C reader**: a row with more fields than the header keeps its surplus values in
   ``__overflow`` (the row is then rejected as ``malformed_row``), a short row is filled with
   empty values; should a row carry so many that it gives up, the next reader goes on.
3. **Python's ``csv`` module**, which reads anything; a file holding a NUL byte is read with it
   from the start (the others would cut the value short at the NUL).

A row reads the same whichever reader reads it (``tests/etl/test_reader_engines.py`` checks it
on generated files); only the time differs.
"""

from __future__ import annotations

import csv
import io
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from etl.errors import InputFileError
from etl.reader.digests import row_digests
from etl.reader.files import MAX_HEADER_BYTES, Chunk, InputFile
from etl.validate import OVERFLOW, ROW, SourceSpec

_PAD = 8  # spare columns for rows longer than the header
#: Largest field the ``csv`` module reads (its default, 128 KiB, would fail a long text that
#: pandas reads; the validator rejects text beyond its column's limit).
FIELD_LIMIT = 1 << 30
#: Bytes Arrow parses at a time (its blocks are then cut into chunks of ``chunk_rows``). Arrow
#: reads up to 32 blocks ahead, so this bounds the memory of its read-ahead (16 MiB). Reading a
#: 1M-row file alone: 342-353 MiB at the peak against 372-381 MiB with 1 MiB blocks, in the same
#: time (4.5-4.8 s against 4.4-4.9 s); a row longer than a block goes to pandas.
ARROW_BLOCK = 1 << 19


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
    """The rows of ``inp`` by the fastest reader that can read them (see the module doc)."""
    if inp.has_nul:
        yield from _csv_module_chunks(inp, skip=0)
        return
    yielded = 0
    if _arrow_can_read(inp):
        try:
            for chunk in _arrow_chunks(inp):
                yielded += len(chunk.frame)
                yield chunk
            if yielded:
                return
            # no row at all: pandas gives such a file as one empty chunk
        except pa.ArrowInvalid:
            pass  # a row Arrow does not read as pandas would: pandas from here
    yield from _pandas_chunks(inp, skip=yielded)


def _arrow_can_read(inp: InputFile) -> bool:
    """Arrow skips the header by lines and cannot tell a blank-looking line from a value in a
    file of one column; such files go to pandas."""
    return inp.header_lines == 1 and len(inp.columns) >= 2


def _arrow_chunks(inp: InputFile) -> Iterator[Chunk]:
    """Well-formed rows parsed by Arrow, cut into chunks of ``chunk_rows``; raises
    ``pyarrow.ArrowInvalid`` at the first row it cannot read as pandas would."""
    rows = 0
    with inp.path.open("rb") as fh:
        done = len(fh.readline())  # the header's line (header_lines is 1)
    for table, last in _arrow_tables(inp.path, len(inp.columns), inp.chunk_rows):
        done += _text_bytes(table)
        yield Chunk(_arrow_frame(inp, table, rows), inp.total if last else min(done, inp.total),
                    inp.total, row_digests(table))
        rows += table.num_rows


def _arrow_tables(path: Path, ncol: int, size: int) -> Iterator[tuple[pa.Table, bool]]:
    """Tables of ``size`` rows (the last may be shorter), each with whether it is the last."""
    names = [f"__c{i}" for i in range(ncol)]
    read = pacsv.ReadOptions(skip_rows=1, column_names=names, block_size=ARROW_BLOCK)
    parse = pacsv.ParseOptions(newlines_in_values=True, ignore_empty_lines=True)
    convert = pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()),
                                   strings_can_be_null=False, quoted_strings_can_be_null=False)
    pending: list[pa.RecordBatch] = []
    count = 0
    held: pa.Table | None = None  # a full table, given once it is known whether more follow
    with pacsv.open_csv(str(path), read_options=read, parse_options=parse,
                        convert_options=convert) as reader:  # Arrow's own file reads, no GIL
        for batch in reader:
            pending.append(batch)
            count += batch.num_rows
            while count >= size:
                table = pa.Table.from_batches(pending)
                pending = table.slice(size).to_batches()
                count -= size
                if held is not None:
                    yield held, False
                held = table.slice(0, size)
    if count:
        if held is not None:
            yield held, False
        yield pa.Table.from_batches(pending), True
    elif held is not None:
        yield held, True


def _text_bytes(table: pa.Table) -> int:
    """About the bytes of the file the rows of ``table`` took (their values, delimiters and
    line ends; not their quotes, nor the CR of a CRLF): the progress of the read. Arrow reads
    ahead of the rows it gives, so the file's position would overstate it (and the load's
    estimate of the file's rows, which decides how it writes, would fall short); this
    understates it by the quotes and CRs, about 10 % for a fully quoted CRLF export, which
    makes that estimate as much too high."""
    values = sum(pc.sum(pc.binary_length(col)).as_py() or 0 for col in table.columns)
    return int(values) + table.num_rows * table.num_columns


def _arrow_frame(inp: InputFile, table: pa.Table, offset: int) -> pd.DataFrame:
    frame = table.to_pandas(types_mapper=pd.ArrowDtype) if inp.lazy_text else table.to_pandas()
    frame.columns = inp.columns
    frame[ROW] = np.arange(offset + 1, offset + len(frame) + 1)
    return frame


def _pandas_chunks(inp: InputFile, skip: int) -> Iterator[Chunk]:
    """pandas from the first row (the first ``skip`` rows are read but not given); on a row
    pandas cannot take, continue with the csv module."""
    ncol = len(inp.columns)
    pads = [f"__pad{i}" for i in range(_PAD)]
    names = [f"__c{i}" for i in range(ncol)] + pads
    seen = 0
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
                    cut = min(len(part), max(0, skip - seen))
                    seen += len(part)
                    if cut < len(part) or not skip:  # (a file of no rows: one empty chunk)
                        frame = _finish_csv_frame(inp, part.iloc[cut:], pads,
                                                  seen - len(part) + cut)
                        yield Chunk(frame, raw.tell(), inp.total)
        return
    except (pd.errors.ParserError, pd.errors.ParserWarning):
        pass  # a row longer than the header and its spare columns: slow path from here
    except UnicodeDecodeError as exc:
        raise InputFileError(f"{inp.path.name}: not UTF-8 text ({exc.reason})") from exc
    yield from _csv_module_chunks(inp, skip=max(skip, seen))


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
