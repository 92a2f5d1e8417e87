"""PostgreSQL binary COPY rows built from whole columns with numpy (no Python loop per row).

``encode(fields, n)`` returns the body of a ``COPY ... FROM STDIN (FORMAT BINARY)`` stream for
``n`` rows: per row a 16-bit field count, then per field a 32-bit length (-1 for NULL) and the
value in PostgreSQL's binary send format (big-endian numbers, UTF-8 text, EWKB geometries).
``HEADER`` and ``TRAILER`` frame the stream.

How: every column is encoded once for all rows into an Arrow binary array holding, per row,
that field as it goes on the wire (length and value); the rows are then assembled a batch at a
time by Arrow's element-wise join of those arrays (C++, outside the GIL: the load's other
threads go on meanwhile), whose data buffer is the COPY body. Columns with few distinct values
(``Field.few``: vocabularies, codes) are encoded once per distinct value.

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
import pyarrow as pa
import pyarrow.compute as pc

#: Start of every binary COPY stream: signature, flags, header extension length.
HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
#: End of the stream: a field count of -1.
TRAILER = struct.pack("!h", -1)

_PG_EPOCH_DAYS = 10957  # 2000-01-01 - 1970-01-01
_PG_EPOCH_US = _PG_EPOCH_DAYS * 86400 * 1_000_000
_NULL = struct.pack("!i", -1)
_INT_TYPES = {"int2": ">i2", "int4": ">i4", "int8": ">i8"}
_NOTHING = pa.scalar(b"", type=pa.large_binary())  # what the joins put between pieces

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


def encode(fields: Sequence[Field], n: int) -> bytes:
    """The binary COPY rows (without HEADER/TRAILER) of ``n`` rows of ``fields``."""
    return b"".join(bytes(b) for b in encode_batches(fields, n))


def encode_batches(fields: Sequence[Field], n: int, batch: int = 5000) -> Iterator[memoryview]:
    """``encode`` in pieces of ``batch`` rows: each column is encoded once for all ``n`` rows,
    the rows are assembled a batch at a time (the pieces stay small)."""
    if n == 0:
        return
    count = _constant(struct.pack("!h", len(fields)), n)
    columns = [count] + [_encode_field(f, n) for f in fields]
    for a in range(0, n, batch):
        rows = pc.binary_join_element_wise(*[c.slice(a, batch) for c in columns], _NOTHING)
        yield _data(rows)


def _data(rows: pa.Array) -> memoryview:
    """The bytes of a binary array's values, one after the other (no copy)."""
    _, offsets, data = rows.buffers()
    ends = np.frombuffer(offsets, dtype=np.int64, count=len(rows) + 1, offset=rows.offset * 8)
    return memoryview(data)[int(ends[0]):int(ends[-1])]


def _binary(data: np.ndarray, lengths: np.ndarray) -> pa.Array:
    """A binary array of consecutive pieces of ``data`` (uint8) of ``lengths`` bytes."""
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return pa.Array.from_buffers(pa.large_binary(), len(lengths),
                                 [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def _constant(value: bytes, n: int) -> pa.Array:
    block = np.broadcast_to(np.frombuffer(value, dtype=np.uint8), (n, len(value)))
    return _binary(np.ascontiguousarray(block).ravel(), np.full(n, len(value), dtype=np.int64))


def _encode_field(f: Field, n: int) -> pa.Array:
    """The column as a binary array of its fields as sent: length (-1: NULL) and value."""
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
            return _by_value(v.astype(object), lambda s: prefix + s.encode("utf-8"))
        return _texts(v.astype(object), prefix)
    if t in ("_varchar", "_text"):
        return _by_value(np.asarray(f.values, dtype=object),
                         lambda s: _array_bytes(s.split(";"), f.elem_oid))
    if t == "geometry":
        lon, lat = (np.asarray(a, dtype=float) for a in f.values)
        return _points(lon, lat, f.srid)
    raise ValueError(f"binary COPY of type {t!r} is not supported")


def _sized(values: np.ndarray, null: np.ndarray, width: int) -> pa.Array:
    """A fixed-size type: length and value per row, the length alone (-1) for NULL."""
    n = len(null)
    data = np.ascontiguousarray(values).view(np.uint8).reshape(n, width)
    block = np.empty((n, 4 + width), dtype=np.uint8)
    block[:, :4] = np.frombuffer(struct.pack("!i", width), dtype=np.uint8)
    block[:, 4:] = data
    lengths = np.full(n, 4 + width, dtype=np.int64)
    if null.any():
        block[null, :4] = np.frombuffer(_NULL, dtype=np.uint8)
        lengths[null] = 4
        keep = np.ones((n, 4 + width), dtype=bool)
        keep[null, 4:] = False
        return _binary(block[keep], lengths)
    return _binary(block.ravel(), lengths)


def _numbers(v: np.ndarray, n: int, dtype: str, *, integer: bool) -> pa.Array:
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


def _texts(v: np.ndarray, prefix: bytes) -> pa.Array:
    """UTF-8 text (``None``: NULL) after its length."""
    text = pa.array(v, type=pa.large_string(), from_pandas=True)
    null = text.is_null().to_numpy(zero_copy_only=False)
    size = pc.binary_length(text).to_numpy(zero_copy_only=False)
    size = np.where(null, -1, np.nan_to_num(size, nan=0).astype(np.int64) + len(prefix))
    headers = _binary(size.astype(">i4").view(np.uint8), np.full(len(v), 4, dtype=np.int64))
    body = pc.fill_null(text.cast(pa.large_binary()), _NOTHING)
    if prefix:
        body = pc.if_else(null, _NOTHING, pc.binary_join_element_wise(
            pa.scalar(prefix, pa.large_binary()), body, _NOTHING))
    return pc.binary_join_element_wise(headers, body, _NOTHING)


def _by_value(v: np.ndarray, to_bytes: Any) -> pa.Array:
    """A column with few distinct values: each value's field (length + bytes) built once."""
    codes, uniques = pd.factorize(pd.Series(v, dtype=object), sort=False)
    pieces = [_NULL] + [struct.pack("!i", len(b)) + b for b in map(to_bytes, uniques)]
    return pa.array(pieces, type=pa.large_binary()).take(pa.array(codes + 1))


def _array_bytes(items: list[str], elem_oid: int) -> bytes:
    """A one-dimensional text array in binary format."""
    parts = [struct.pack("!iiIii", 1, 0, elem_oid, len(items), 1)]
    for item in items:
        b = item.encode("utf-8")
        parts.append(struct.pack("!i", len(b)) + b)
    return b"".join(parts)


def _points(lon: np.ndarray, lat: np.ndarray, srid: int) -> pa.Array:
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
