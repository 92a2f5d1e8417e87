"""The keys a fact table already holds, read once, for classifying a big load's rows.

A load into a table that holds rows of its source sorts each row into new, changed or
unchanged (``etl.stores.FactStore.classify``). For a small file one query per chunk does it;
for a big file that query joins every chunk with the whole table (0.4 to 1.2 s per
50,000-row chunk at 1M stored rows, by the plan). ``StoredKeys`` holds instead, for every
stored row, a 64-bit digest of its key and its content hash (16 bytes per row, 96 MB at 6M
rows), read once (``facts.stored_key_texts``: the server prints each row's key text and
content hash as CSV, in at most 64 pieces) and classifies a chunk in memory by a sorted
search.

The digest is pandas' SipHash (``DIGEST_KEY``) of the same text on both sides: the key's
text as PostgreSQL prints it (dates as ``YYYY-MM-DD``, other types by ``::text``; several
key columns: per column its length, a colon and its text), which :func:`key_texts` and
:func:`key_digest` make of the validated values in the same way. Both digests are made here,
in C over whole columns (an md5 per row in Python and one per row on the server, aggregated
there, took 1.3 s and 4.4 s of a 1M-row reload on a busy machine; now 0.2 s and 1.9 to 2.6 s,
the reading included). A row whose key is found with the same content hash is
unchanged (a false match needs two 64-bit hashes to collide at once); found with another
content hash, it is changed. Two different keys with one digest would make a new row look
changed: ``FactStore.finish`` inserts every changed row whose key the table does not hold, so
nothing is lost even then.

``HeldRows`` holds, for a table with a raw digest column (``etl.validate.fingerprint``), the
rows' raw digests with their content hashes (16 bytes per row, read by
``facts.stored_raw_digests``): ``HeldRows.known`` finds the rows of a chunk that the table
holds exactly as they are read, before they are validated.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

#: Key column types whose printed text :func:`key_texts` reproduces exactly.
TEXT_TYPES = frozenset({"text", "varchar", "bpchar", "int2", "int4", "int8", "date"})
#: Largest table (planner's estimate of its rows) whose keys are read into memory: about
#: 120 MB at the peak of building the index.
MAX_ROWS = 3_000_000


def key_texts(values: np.ndarray, typname: str) -> list[str]:
    """Key values as PostgreSQL prints them (dates come as days since 1970; whole numbers may
    come as floats, as the validator gives them: 7.0 is printed 7)."""
    if typname == "date":
        return np.asarray(values, dtype="int64").astype("datetime64[D]").astype(str).tolist()
    if typname in ("int2", "int4", "int8"):
        return [str(int(v)) for v in values.tolist()]
    return [str(v) for v in values.tolist()]


#: Hash key of the key digests (made afresh on both sides by every load: never stored).
DIGEST_KEY = "borderwatch-sk-0"
_HEX = np.full(256, 255, dtype=np.uint8)
_HEX[np.frombuffer(b"0123456789abcdef", dtype=np.uint8)] = np.arange(16, dtype=np.uint8)
_NIBBLES = np.arange(60, -1, -4, dtype=np.uint64)


def key_digest(texts: Sequence[list[str]]) -> np.ndarray:
    """The digest of each row's key (one list of texts per key column), as
    :func:`digest_pieces` makes them of the server's texts."""
    if len(texts) == 1:
        return _digest(texts[0])
    return _digest(["".join(f"{len(t)}:{t}" for t in row) for row in zip(*texts, strict=True)])


def _digest(texts: list[str] | np.ndarray) -> np.ndarray:
    return pd.util.hash_array(np.asarray(texts, dtype=object), hash_key=DIGEST_KEY,
                              categorize=False)


def digest_pieces(tables: Iterable[pa.Table]) -> Iterator[bytes]:
    """The rows of ``facts.stored_key_texts`` as ``StoredKeys`` reads them: 16 bytes a row,
    the key's digest and the content hash (0 when it is not 16 lower-case hex digits: such a
    row is then seen as changed, and updated), both big-endian."""
    for table in tables:
        rows = np.empty((table.num_rows, 2), dtype=">u8")
        rows[:, 0] = _digest(table.column("key").to_numpy(zero_copy_only=False))
        rows[:, 1] = _hex64(table.column("content_hash").combine_chunks())
        yield rows.tobytes()


def _hex64(texts: pa.Array) -> np.ndarray:
    """16 lower-case hex digits as an unsigned 64-bit number; 0 for any other text."""
    ok = pc.fill_null(pc.match_substring_regex(texts, "^[0-9a-f]{16}$"), False)
    fixed = pc.if_else(ok, texts, "0" * 16).cast(pa.binary(16))
    digits = np.frombuffer(fixed.buffers()[1], dtype=np.uint8, count=16 * len(fixed),
                           offset=16 * fixed.offset)
    nibbles = _HEX[digits].reshape(-1, 16).astype(np.uint64)
    return np.bitwise_or.reduce(nibbles << _NIBBLES, axis=1, initial=np.uint64(0))


def _positions(sorted_values: np.ndarray, needles: np.ndarray) -> np.ndarray:
    """Where each needle is, or would be, in ``sorted_values`` (not empty), clamped to its
    last position; the needles are searched sorted, in step through memory (5x faster)."""
    order = np.argsort(needles)
    at = np.empty(len(needles), dtype=np.intp)
    at[order] = np.searchsorted(sorted_values, needles[order])
    return np.minimum(at, len(sorted_values) - 1)


class StoredKeys:
    """Sorted key digests of a table's rows, with their content hashes."""

    def __init__(self, pieces: Iterable[bytes]) -> None:
        keys, contents = [], []
        for piece in pieces:  # 16 bytes a row: key digest, content hash (big-endian)
            if len(piece) % 16:
                raise ValueError("stored key digests are not 16 bytes per row")
            rows = np.frombuffer(piece, dtype=">u8").reshape(-1, 2)
            keys.append(rows[:, 0].astype(np.uint64))
            contents.append(rows[:, 1].astype(np.uint64))
        key = np.concatenate(keys) if keys else np.zeros(0, dtype=np.uint64)
        content = np.concatenate(contents) if contents else np.zeros(0, dtype=np.uint64)
        del keys, contents
        order = np.argsort(key)
        self.keys = key[order]
        del key
        self.contents = content[order]
        #: Positions whose digest the next position shares (collisions: almost never any).
        self.shared = np.flatnonzero(self.keys[1:] == self.keys[:-1])

    def __len__(self) -> int:
        return len(self.keys)

    def classify(self, keys: np.ndarray, contents: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(new, changed) masks of rows with key digests ``keys`` and content ``contents``.

        Several stored rows may share a digest (a collision): a row matching any of them
        with its content is unchanged."""
        if not len(self.keys):
            return np.ones(len(keys), dtype=bool), np.zeros(len(keys), dtype=bool)
        at = _positions(self.keys, keys)
        found = self.keys[at] == keys
        same = found & (self.contents[at] == contents)
        if len(self.shared):  # a shared digest: compare with every row holding it
            for i in np.flatnonzero(found & ~same & np.isin(at, self.shared)):
                hi = np.searchsorted(self.keys, keys[i], side="right")
                same[i] = bool((self.contents[at[i]:hi] == contents[i]).any())
        return ~found, found & ~same


def held_pieces(tables: Iterable[pa.Table]) -> Iterator[bytes]:
    """The rows of ``facts.stored_raw_digests`` as ``HeldRows`` reads them: 16 bytes a row,
    the raw digest and the content hash, big-endian. A row whose content hash is not 16
    lower-case hex digits (edited outside borderwatch) is left out: it is validated, seen as
    changed and updated, as a reload validating every row does."""
    for table in tables:
        rows = np.empty((table.num_rows, 2), dtype=">u8")
        rows[:, 0] = table.column("raw").to_numpy().astype(np.int64).view(np.uint64)
        rows[:, 1] = _hex64(table.column("content_hash").combine_chunks())
        yield rows[rows[:, 1] != 0].tobytes()


class HeldRows:
    """Sorted raw digests of a table's rows, with their content hashes."""

    def __init__(self, pieces: Iterable[bytes]) -> None:
        parts = []
        for piece in pieces:
            if len(piece) % 16:
                raise ValueError("stored raw digests are not 16 bytes per row")
            parts.append(np.frombuffer(piece, dtype=">u8").reshape(-1, 2).astype(np.uint64))
        rows = np.concatenate(parts) if parts else np.zeros((0, 2), dtype=np.uint64)
        del parts
        order = np.argsort(rows[:, 0])
        self.raws, self.contents = rows[order, 0], rows[order, 1]

    def __len__(self) -> int:
        return len(self.raws)

    def known(self, digests: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(mask, content hash) of the rows whose raw digest (0: none, never held) a stored
        row holds: the rows the table holds exactly as they are read."""
        hit = np.zeros(len(digests), dtype=bool)
        content = np.zeros(len(digests), dtype=np.uint64)
        if not len(self.raws) or not len(digests):
            return hit, content
        at = _positions(self.raws, digests)
        hit = (self.raws[at] == digests) & (digests != 0)
        content[hit] = self.contents[at[hit]]
        return hit, content
