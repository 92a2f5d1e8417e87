"""The keys a fact table already holds, read once, for classifying a big load's rows.

A load into a table that holds rows of its source sorts each row into new, changed or
unchanged (``etl.stores.FactStore.classify``). For a small file one query per chunk does it;
for a big file that query joins every chunk with the whole table (0.4 to 1.2 s per
50,000-row chunk at 1M stored rows, by the plan). ``StoredKeys`` holds instead, for every
stored row, 64 bits of the md5 of its key and its content hash (16 bytes per row, 96 MB at
6M rows), read once by one aggregate query (``facts.stored_key_digests``), and classifies a
chunk in memory by a sorted search.

The key is hashed from the same text on both sides: per key column its length, a colon and
its text as PostgreSQL prints it (dates as ``YYYY-MM-DD``, other types by ``::text``), which
:func:`key_digest` makes of the validated values in the same way. A row whose key is found
with the same content hash is unchanged (a false match needs two 64-bit hashes to collide at
once); found with another content hash, it is changed. Two different keys with one digest
would make a new row look changed: ``FactStore.finish`` inserts every changed row whose key
the table does not hold, so nothing is lost even then.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

import numpy as np

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


def key_digest(texts: Sequence[list[str]]) -> np.ndarray:
    """The first 64 bits of the md5 of each row's key (one list of texts per key column), as
    ``facts.stored_key_digests`` computes them on the server."""
    md5 = hashlib.md5
    if len(texts) == 1:
        parts = (f"{len(t)}:{t}" for t in texts[0])
    else:
        parts = ("".join(f"{len(t)}:{t}" for t in row) for row in zip(*texts, strict=True))
    digests = b"".join([md5(p.encode()).digest()[:8] for p in parts])
    return np.frombuffer(digests, dtype=">u8").astype(np.uint64)


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
        order = np.argsort(keys)  # sorted needles search in step through memory: 5x faster
        at = np.empty(len(keys), dtype=np.intp)
        at[order] = np.searchsorted(self.keys, keys[order])
        at = np.minimum(at, len(self.keys) - 1)
        found = self.keys[at] == keys
        same = found & (self.contents[at] == contents)
        if len(self.shared):  # a shared digest: compare with every row holding it
            for i in np.flatnonzero(found & ~same & np.isin(at, self.shared)):
                hi = np.searchsorted(self.keys, keys[i], side="right")
                same[i] = bool((self.contents[at[i]:hi] == contents[i]).any())
        return ~found, found & ~same
