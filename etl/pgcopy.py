"""PostgreSQL binary COPY rows built from whole columns with numpy (no Python loop per row).

``encode(fields, n)`` returns the body of a ``COPY ... FROM STDIN (FORMAT BINARY)`` stream for
``n`` rows: per row a 16-bit field count, then per field a 32-bit length (-1 for NULL) and the
value in PostgreSQL's binary send format (big-endian numbers, UTF-8 text, EWKB geometries).
``HEADER`` and ``TRAILER`` frame the stream.

How: every field of every row is one or two contiguous byte *segments* of a per-column source
buffer (length and value together, or the length from one buffer and the text from another),
and each row starts with a block of its leading fixed-size fields. The output is those
segments in row order, gathered through one index made by a cumulative sum. Columns with few
distinct values (``Field.few``: vocabularies, codes) are encoded once per distinct value.

Values use the validator's conventions: numbers and dates as float64 with NaN for NULL
(timestamps in microseconds since 1970-01-01 UTC, dates in days since 1970-01-01), text as
object arrays of ``str`` with ``None`` for NULL (or fixed-width ``bytes`` arrays, never NULL).
Text values never hold a NUL character (the validator rejects them, PostgreSQL text cannot
hold one either).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

#: Start of every binary COPY stream: signature, flags, header extension length.
HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
#: End of the stream: a field count of -1.
TRAILER = struct.pack("!h", -1)

_PG_EPOCH_DAYS = 10957  # 2000-01-01 - 1970-01-01
_PG_EPOCH_US = _PG_EPOCH_DAYS * 86400 * 1_000_000
_NULL = struct.pack("!i", -1)
_INT_TYPES = {"int2": ">i2", "int4": ">i4", "int8": ">i8"}

#: Binary types ``encode`` knows (PostgreSQL ``typname``; arrays are ``_`` + element type).
SUPPORTED = frozenset({"int2", "int4", "int8", "float8", "bool", "text", "varchar", "bpchar",
                       "timestamptz", "date", "jsonb", "_varchar", "_text", "geometry"})


@dataclass(frozen=True)
class Field:
    """One column to encode.

    Parameters
    ----------
    pgtype
        PostgreSQL type name (``pg_type.typname``), one of ``SUPPORTED``.
    values
        The column (see the module doc); for ``geometry`` a pair ``(lon, lat)`` of float
        arrays (NaN: NULL), written as EWKB points; for ``jsonb`` JSON text.
    elem_oid
        For arrays: the OID of the element type (``pg_type.typelem``), which the server checks.
    few
        Text with few distinct values: encoded once per value.
    srid
        For ``geometry``: the SRID written into the EWKB.
    """

    pgtype: str
    values: Any
    elem_oid: int = 0
    few: bool = False
    srid: int = 4326


@dataclass
class _Seg:
    """One segment per row: bytes ``buf[start[i]:start[i] + length[i]]`` (length may be 0)."""

    buf: np.ndarray  # uint8
    start: np.ndarray  # int64 (n,)
    length: np.ndarray  # int64 (n,)


@dataclass
class _Fixed:
    """A field of the same size in every row: length header and value, (n, 4 + width)."""

    block: np.ndarray  # uint8 (n, 4 + width)


def encode(fields: Sequence[Field], n: int) -> bytes:
    """The binary COPY rows (without HEADER/TRAILER) of ``n`` rows of ``fields``."""
    return b"".join(encode_batches(fields, n))


def encode_batches(fields: Sequence[Field], n: int, batch: int = 5000) -> Iterator[bytes]:
    """``encode`` in pieces of ``batch`` rows: each column is encoded once for all ``n`` rows,
    the rows are assembled a batch at a time (small index arrays: faster, less memory)."""
    if n == 0:
        return
    encoded = [_encode_field(f, n) for f in fields]
    block = [np.broadcast_to(np.frombuffer(struct.pack("!h", len(fields)), np.uint8), (n, 2))]
    segs: list[_Seg] = []
    for enc in encoded:
        if isinstance(enc, _Fixed) and not segs:
            block.append(enc.block)
        elif isinstance(enc, _Fixed):
            w = enc.block.shape[1]
            segs.append(_Seg(enc.block.ravel(), np.arange(n, dtype=np.int64) * w,
                             np.full(n, w, dtype=np.int64)))
        else:
            segs.extend(enc)
    fixed = np.ascontiguousarray(np.hstack(block))
    for a in range(0, n, batch):
        yield _assemble(fixed[a:a + batch], [_Seg(s.buf, s.start[a:a + batch],
                                                  s.length[a:a + batch]) for s in segs])


def _assemble(fixed: np.ndarray, segs: list[_Seg]) -> bytes:
    """Rows: the fixed block of each row, then its segments, gathered in order."""
    n, width = fixed.shape
    if not segs:
        return fixed.tobytes()
    rows = np.arange(n, dtype=np.int64)
    parts = [fixed.ravel()]
    starts = [rows * width]
    lengths = [np.full(n, width, dtype=np.int64)]
    offset = n * width
    for s in segs:
        lo = int(s.start.min())
        hi = int((s.start + s.length).max())
        parts.append(s.buf[lo:hi])
        starts.append(s.start + (offset - lo))
        lengths.append(s.length)
        offset += hi - lo
    source = np.concatenate(parts)
    src = np.stack(starts, axis=1).ravel()
    length = np.stack(lengths, axis=1).ravel()
    keep = length > 0
    src, length = src[keep], length[keep]
    index = np.ones(int(length.sum()), dtype=np.int32 if len(source) < 2**31 else np.int64)
    first = np.zeros(len(length), dtype=np.int64)
    np.cumsum(length[:-1], out=first[1:])
    step = np.empty(len(length), dtype=np.int64)
    step[0] = src[0]
    step[1:] = src[1:] - (src[:-1] + length[:-1] - 1)
    index[first] = step
    np.cumsum(index, out=index)
    return source[index].tobytes()


def _encode_field(f: Field, n: int) -> _Fixed | list[_Seg]:
    t = f.pgtype
    if t in _INT_TYPES:
        return _numbers(np.asarray(f.values), n, _INT_TYPES[t], integer=True)
    if t == "float8":
        return _numbers(np.asarray(f.values), n, ">f8", integer=False)
    if t == "bool":
        v = np.asarray(f.values, dtype=object)
        null = pd.isna(v)
        return _sized(np.where(null, 0, v).astype(bool).astype(np.uint8), null, 1)
    if t == "timestamptz":
        v = np.asarray(f.values, dtype=float)
        null = np.isnan(v)
        us = np.rint(np.where(null, 0.0, v)).astype(np.int64) - _PG_EPOCH_US
        return _sized(us.astype(">i8"), null, 8)
    if t == "date":
        v = np.asarray(f.values, dtype=float)
        null = np.isnan(v)
        days = np.rint(np.where(null, 0.0, v)).astype(np.int64) - _PG_EPOCH_DAYS
        return _sized(days.astype(">i4"), null, 4)
    if t in ("text", "varchar", "bpchar", "jsonb"):
        prefix = b"\x01" if t == "jsonb" else b""  # jsonb's binary format: version 1, text
        v = np.asarray(f.values)
        if v.dtype.kind == "S":  # fixed-width bytes, never NULL
            return _sized(v, np.zeros(n, dtype=bool), v.dtype.itemsize)
        if f.few:
            return [_by_value(v.astype(object), lambda s: prefix + s.encode("utf-8"))]
        return _texts(v.astype(object), n, prefix)
    if t in ("_varchar", "_text"):
        return [_by_value(np.asarray(f.values, dtype=object),
                          lambda s: _array_bytes(s.split(";"), f.elem_oid))]
    if t == "geometry":
        lon, lat = (np.asarray(a, dtype=float) for a in f.values)
        return _points(lon, lat, f.srid)
    raise ValueError(f"binary COPY of type {t!r} is not supported")


def _sized(values: np.ndarray, null: np.ndarray, width: int) -> _Fixed | list[_Seg]:
    """A fixed-size type: one block when nothing is NULL, else one segment per row."""
    n = len(null)
    data = np.ascontiguousarray(values).view(np.uint8).reshape(n, width)
    header = np.frombuffer(struct.pack("!i", width), dtype=np.uint8)
    block = np.empty((n, 4 + width), dtype=np.uint8)
    block[:, :4] = header
    block[:, 4:] = data
    if not null.any():
        return _Fixed(block)
    block[null, :4] = np.frombuffer(_NULL, dtype=np.uint8)
    return [_Seg(block.ravel(), np.arange(n, dtype=np.int64) * (4 + width),
                 np.where(null, 4, 4 + width).astype(np.int64))]


def _numbers(v: np.ndarray, n: int, dtype: str, *, integer: bool) -> _Fixed | list[_Seg]:
    if v.dtype.kind == "f":
        null = np.isnan(v)
        clean = np.where(null, 0, v)
        vals = np.rint(clean).astype(np.int64) if integer else clean
    elif v.dtype == object:
        null = pd.isna(v)
        vals = np.where(null, 0, v).astype(np.int64 if integer else float)
    else:
        null = np.zeros(n, dtype=bool)
        vals = v
    return _sized(np.asarray(vals).astype(dtype), null, np.dtype(dtype).itemsize)


def _texts(v: np.ndarray, n: int, prefix: bytes) -> list[_Seg]:
    """Length headers and UTF-8 text (two segments per row), found by joining the values
    with NUL and splitting the bytes."""
    null = pd.isna(v)
    present = v[~null]
    lengths = np.full(n, -1, dtype=np.int64)
    starts = np.zeros(n, dtype=np.int64)
    if len(present):
        pre = prefix.decode("ascii")
        text = pre + ("\x00" + pre).join(present.tolist()) + "\x00"
        joined = np.frombuffer(text.encode("utf-8"), np.uint8)
        ends = np.flatnonzero(joined == 0)
        begin = np.concatenate(([0], ends[:-1] + 1))
        lengths[~null] = ends - begin
        starts[~null] = begin
    else:
        joined = np.empty(0, dtype=np.uint8)
    headers = lengths.astype(">i4").view(np.uint8)
    return [_Seg(headers, np.arange(n, dtype=np.int64) * 4, np.full(n, 4, dtype=np.int64)),
            _Seg(joined, starts, np.maximum(lengths, 0))]


def _by_value(v: np.ndarray, to_bytes: Any) -> _Seg:
    """A column with few distinct values: each value's field (length + bytes) built once."""
    codes, uniques = pd.factorize(pd.Series(v, dtype=object), sort=False)
    pieces = [_NULL] + [struct.pack("!i", len(b)) + b for b in map(to_bytes, uniques)]
    sizes = np.array([len(p) for p in pieces], dtype=np.int64)
    offsets = np.zeros(len(pieces), dtype=np.int64)
    np.cumsum(sizes[:-1], out=offsets[1:])
    which = codes + 1  # -1 (NULL) -> 0
    return _Seg(np.frombuffer(b"".join(pieces), dtype=np.uint8), offsets[which], sizes[which])


def _array_bytes(items: list[str], elem_oid: int) -> bytes:
    """A one-dimensional text array in binary format."""
    parts = [struct.pack("!iiIii", 1, 0, elem_oid, len(items), 1)]
    for item in items:
        b = item.encode("utf-8")
        parts.append(struct.pack("!i", len(b)) + b)
    return b"".join(parts)


def _points(lon: np.ndarray, lat: np.ndarray, srid: int) -> _Fixed | list[_Seg]:
    """EWKB points (little-endian, with SRID); NULL where a coordinate is NaN."""
    null = np.isnan(lon) | np.isnan(lat)
    rec = np.empty(len(lon), dtype=[("bo", "u1"), ("type", "<u4"), ("srid", "<u4"),
                                    ("x", "<f8"), ("y", "<f8")])
    rec["bo"] = 1
    rec["type"] = 0x20000001
    rec["srid"] = srid
    rec["x"] = np.where(null, 0.0, lon)
    rec["y"] = np.where(null, 0.0, lat)
    return _sized(rec.view(np.uint8).reshape(len(lon), 25), null, 25)
