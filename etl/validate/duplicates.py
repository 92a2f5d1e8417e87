"""Duplicates inside one file, tracked across its chunks by hashes.

Per row: two independent 64-bit hashes of its natural key (``k1``, ``k2``) and one of its
content (``c1``, also the warehouse's ``content_hash``). The first occurrence of a key wins; a
later row with the same key and the same content is an *exact duplicate* (counted
``unchanged``, nothing written); a later row with the same key and other content is rejected
as ``duplicate_conflict``, naming the row it repeats.

Memory: an accepted key costs 32 bytes (k1, k2, c1, row number). ``SeenKeys`` keeps the newest
``memory_keys`` of them in memory (``MEMORY_KEYS``, 32 MB) and hands the older ones to a
``KeyStore`` (during a load a TEMP table on a second connection, see
``etl.warehouse.seen_keys``), so the memory of a load does not grow with the file. A
fixed-size bit filter over the stored keys (``FILTER_BITS``, 8 MiB, two bits a key) rules out
nearly every key of a chunk at once; only the keys it cannot rule out are looked up in the
store. Without a store, every key stays in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

import numpy as np
import pandas as pd
from pandas.core.util.hashing import combine_hash_arrays

from etl.validate.spec import Problems

#: Hash keys of k1 (and of the content hash c1) and of k2; changing them changes every
#: ``content_hash`` in the warehouse (every row would count as updated once).
HASH_KEYS = ("borderwatch-k1-0", "borderwatch-k2-0")
#: Keys of a file kept in memory before the oldest go to the store (32 bytes each: 32 MB).
#: At 2,000,000 a 3M-row load peaked at 472 MiB against a 500 MB (476.8 MiB) bound.
MEMORY_KEYS = 1_000_000
#: Size of the filter over the stored keys, in bits (a power of two): 8 MiB.
FILTER_BITS = 1 << 26

#: Keys with their content hash and row number: (k1, k2, c1, rows).
Keys = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


class KeyStore(Protocol):
    """Where ``SeenKeys`` keeps the keys it does not hold in memory."""

    def add(self, k1: np.ndarray, k2: np.ndarray, c1: np.ndarray, rows: np.ndarray) -> None:
        """Keep these keys (uint64 hashes, int64 row numbers); none of them is there yet."""
        ...

    def lookup(self, k1: np.ndarray, k2: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(found mask, row number, content hash) of each key, like ``SeenKeys.lookup``."""
        ...


class SeenKeys:
    """Natural keys already accepted in this file, as 2 x 64-bit hashes (32 bytes a key).

    In memory the keys are kept in sorted runs: new keys form a run, runs of similar size are
    merged up to ``block`` keys and then left alone, so adding a chunk never copies the whole
    set and a lookup searches a few runs. Beyond ``memory_keys`` keys the oldest runs go to
    ``store`` (when there is one).

    Parameters
    ----------
    memory_keys
        Most keys held in memory when there is a store.
    store
        Where older keys go; ``None``: all keys stay in memory.
    filter_bits
        Size of the bit filter over the stored keys (a power of two).
    """

    BLOCK = 1 << 18

    def __init__(self, memory_keys: int = MEMORY_KEYS, store: KeyStore | None = None, *,
                 filter_bits: int = FILTER_BITS) -> None:
        if memory_keys < 1:
            raise ValueError("memory_keys must be at least 1")
        self.memory_keys, self.store, self.filter_bits = memory_keys, store, filter_bits
        self.block = max(1, min(self.BLOCK, memory_keys // 8))
        #: runs of (k1, k2, c1, rows), each sorted by k1, oldest first
        self.runs: list[Keys] = []
        self.in_memory = 0
        self.stored = 0
        self.store_lookups = 0  # keys the filter could not rule out (asked of the store)
        self._filter: _BitFilter | None = None

    def lookup(self, k1: np.ndarray, k2: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(found mask, row number, content hash of the earlier row) for each key."""
        found = np.zeros(len(k1), dtype=bool)
        rows = np.zeros(len(k1), dtype=np.int64)
        content = np.zeros(len(k1), dtype=np.uint64)
        if self.runs:  # sorted needles search each run in step through memory: 2x faster
            order = np.argsort(k1)
            s1, s2 = k1[order], k2[order]
            for rk1, rk2, rc1, rrows in self.runs:
                pos = np.minimum(np.searchsorted(rk1, s1), len(rk1) - 1)
                hit = (rk1[pos] == s1) & (rk2[pos] == s2)
                at = order[hit]
                new = ~found[at]
                at, pos = at[new], pos[hit][new]
                found[at] = True
                rows[at] = rrows[pos]
                content[at] = rc1[pos]
        if self.store is not None and self._filter is not None:
            ask = np.flatnonzero(~found & self._filter.may_hold(k1, k2))
            if len(ask):
                self.store_lookups += len(ask)
                hit, srows, scontent = self.store.lookup(k1[ask], k2[ask])
                found[ask[hit]] = True
                rows[ask[hit]] = srows[hit]
                content[ask[hit]] = scontent[hit]
        return found, rows, content

    def add(self, k1: np.ndarray, k2: np.ndarray, c1: np.ndarray, rows: np.ndarray) -> None:
        """Remember keys not seen before (none of them may be in the set already)."""
        order = np.argsort(k1, kind="stable")
        run: Keys = (k1[order], k2[order], c1[order], rows[order])
        while self.runs and len(self.runs[-1][0]) <= len(run[0]) < self.block:
            last = self.runs.pop()
            keys = np.concatenate([last[0], run[0]])
            order = np.argsort(keys, kind="stable")
            run = tuple(np.concatenate([a, b])[order]  # type: ignore[assignment]
                        for a, b in zip(last, run, strict=True))
        self.runs.append(run)
        self.in_memory += len(k1)
        if self.store is not None and self.in_memory > self.memory_keys:
            self._spill(self.store)

    def _spill(self, store: KeyStore) -> None:
        """Hand the oldest runs to the store until at most ``memory_keys`` stay in memory."""
        if self._filter is None:
            self._filter = _BitFilter(self.filter_bits)
        while self.in_memory > self.memory_keys and self.runs:
            k1, k2, c1, rows = self.runs.pop(0)
            store.add(k1, k2, c1, rows)
            self._filter.add(k1, k2)
            self.in_memory -= len(k1)
            self.stored += len(k1)


class _BitFilter:
    """A Bloom filter with two probes, the top bits of k1 and of k2 (independent hashes).

    No false negatives; with ``n`` keys in ``m`` bits about ``(1 - exp(-2n/m))**2`` of the
    other keys pass anyway (8 MiB: 0.09 % at 1 million keys, 1.3 % at 4 million, 6.7 % at 10
    million): they are looked up in the store for nothing.
    """

    def __init__(self, bits: int) -> None:
        if bits < 64 or bits & (bits - 1):
            raise ValueError("the filter size must be a power of two of at least 64 bits")
        self.shift = np.uint64(64 - (bits.bit_length() - 1))
        self.words = np.zeros(bits // 64, dtype=np.uint64)

    def _probe(self, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pos = np.asarray(h, dtype=np.uint64) >> self.shift
        return (pos >> np.uint64(6)).astype(np.intp), np.uint64(1) << (pos & np.uint64(63))

    def add(self, k1: np.ndarray, k2: np.ndarray) -> None:
        for h in (k1, k2):
            word, bit = self._probe(h)
            np.bitwise_or.at(self.words, word, bit)

    def may_hold(self, k1: np.ndarray, k2: np.ndarray) -> np.ndarray:
        out = np.ones(len(k1), dtype=bool)
        for h in (k1, k2):
            word, bit = self._probe(h)
            out &= (self.words[word] & bit) != 0
        return out


def hash_frame(columns: Mapping[str, np.ndarray], key: str,
               dense: frozenset[str] = frozenset()) -> np.ndarray:
    """64-bit hash of each row of the columns (``pd.util.hash_pandas_object`` of their frame,
    ``index=False``); text columns in ``dense`` (mostly distinct values) are hashed directly
    rather than through their distinct values (same result, faster for them)."""
    if not columns:
        return np.zeros(0, dtype=np.uint64)
    n = len(next(iter(columns.values())))
    hashes = (pd.util.hash_array(np.asarray(v), hash_key=key, categorize=k not in dense)
              for k, v in columns.items())
    return combine_hash_arrays(hashes, len(columns)) if n else np.zeros(0, dtype=np.uint64)


def first_of_key(k1: np.ndarray, k2: np.ndarray) -> np.ndarray:
    """For each row, the position of the first row with its key (``k1``, ``k2``)."""
    m = len(k1)
    if not m:
        return np.zeros(0, dtype=np.intp)
    order = np.lexsort((k2, k1))  # stable: the rows of one key stay in their order
    s1, s2 = k1[order], k2[order]
    start = np.ones(m, dtype=bool)
    start[1:] = (s1[1:] != s1[:-1]) | (s2[1:] != s2[:-1])
    out = np.empty(m, dtype=np.intp)
    out[order] = order[np.flatnonzero(start)][np.cumsum(start) - 1]
    return out


def mark_duplicates(
    seen: SeenKeys, natural_key: tuple[str, ...], values: dict[str, np.ndarray],
    c1: np.ndarray, bad: np.ndarray, rows: np.ndarray, p: Problems,
    dense: frozenset[str] = frozenset(), code: str = "duplicate_conflict",
) -> np.ndarray:
    """Exact in-file duplicates of a chunk (mask); conflicting ones are added to ``p`` (as
    ``code``).

    Parameters
    ----------
    seen
        The keys accepted in the earlier chunks; this chunk's new keys are added to it.
    natural_key
        Columns of ``values`` forming the key (a row missing one of them has no key).
    values
        The chunk's parsed columns.
    c1
        Content hash of each row.
    bad
        Rows already rejected for other problems (never accepted, but a rejected row that
        repeats an accepted key also gets the ``duplicate_conflict`` reason).
    rows
        Row numbers in the file.
    p
        The chunk's problems.
    dense
        Text columns hashed value by value (see ``hash_frame``).
    """
    n = len(rows)
    key_cols = {k: values[k] for k in natural_key}
    keyed = np.ones(n, dtype=bool)
    for k in natural_key:
        keyed &= ~pd.isna(pd.Series(values[k])).to_numpy()
    k1 = hash_frame(key_cols, HASH_KEYS[0], dense)
    k2 = hash_frame(key_cols, HASH_KEYS[1], dense)
    found = np.zeros(n, dtype=bool)
    seen_row = np.zeros(n, dtype=np.int64)
    seen_c = np.zeros(n, dtype=np.uint64)
    at = np.flatnonzero(keyed)
    found[at], seen_row[at], seen_c[at] = seen.lookup(k1[at], k2[at])
    prior_row = np.where(found, seen_row, 0)
    prior_c = np.where(found, seen_c, np.uint64(0))
    # first occurrence inside this chunk among valid, not-yet-seen keyed rows
    cand = keyed & ~found & ~bad
    idx = np.flatnonzero(cand)
    head = idx[first_of_key(k1[idx], k2[idx])]
    within = np.zeros(n, dtype=bool)
    within[idx] = head != idx
    first_row = np.zeros(n, dtype=np.int64)
    first_c = np.zeros(n, dtype=np.uint64)
    first_row[idx], first_c[idx] = rows[head], c1[head]
    valid = ~bad
    exact = (valid & found & (c1 == prior_c)) | (within & (c1 == first_c))
    conflict_prior = valid & found & (c1 != prior_c)
    conflict_within = within & (c1 != first_c)
    # a rejected row repeating an accepted key also gets the duplicate reason
    new = cand & ~within
    invalid = np.flatnonzero(keyed & bad)
    if len(invalid) and new.any():
        # the new keys first: a key's first row is its new row, when it has one (at most one)
        both = np.concatenate([np.flatnonzero(new), invalid])
        head = both[first_of_key(k1[both], k2[both])[-len(invalid):]]
        hit = new[head] & (rows[head] < rows[invalid])
        conflict_within[invalid[hit]] = True
        first_row[invalid[hit]] = rows[head[hit]]
    conflict_prior |= keyed & bad & found
    key_text = ", ".join(natural_key)

    def msg(ref: np.ndarray) -> Callable[[int], str]:
        return lambda i: f"same {key_text} as row {int(ref[i])} of this file, with different content"

    p.add(conflict_prior, code, natural_key[-1], msg(prior_row))
    p.add(conflict_within, code, natural_key[-1], msg(first_row))
    if new.any():
        seen.add(k1[new], k2[new], c1[new], rows[new])
    return exact


def mark_conflicting_keys(
    spec: Any, values: dict[str, np.ndarray], c1: np.ndarray, bad: np.ndarray,
    rows: np.ndarray, texts: np.ndarray, p: Problems, dense: frozenset[str] = frozenset(),
) -> np.ndarray:
    """Duplicates of a whole file where a conflict rejects every row of the key
    (``SourceSpec.duplicates == 'reject_all'``); returns the exact duplicates (mask).

    Rows of one key conflict when valid rows differ in content, when a valid and an invalid
    row share the key (their text differs), or when invalid rows differ in text (``texts``:
    a hash of each row as written). Then every row of the key gets ``spec.duplicate_code``,
    naming the others. Otherwise the first valid row is the one taken and its repeats are
    exact duplicates.
    """
    n = len(rows)
    key = spec.natural_key
    keyed = np.ones(n, dtype=bool)
    for k in key:
        keyed &= ~pd.isna(pd.Series(values[k])).to_numpy()
    exact = np.zeros(n, dtype=bool)
    if not keyed.any():
        return exact
    k1 = hash_frame({k: values[k] for k in key}, HASH_KEYS[0], dense)
    k2 = hash_frame({k: values[k] for k in key}, HASH_KEYS[1], dense)
    frame = pd.DataFrame({"k1": k1, "k2": k2})[keyed]
    groups = frame.groupby(["k1", "k2"], sort=False).indices
    conflict = np.zeros(n, dtype=bool)
    others: dict[int, str] = {}
    for members in groups.values():
        if len(members) < 2:
            continue
        at = np.flatnonzero(keyed)[members]
        at = at[np.argsort(rows[at], kind="stable")]
        valid, invalid = at[~bad[at]], at[bad[at]]
        differ = ((len(valid) and len(invalid)) or len(set(c1[valid].tolist())) > 1
                  or (not len(valid) and len(set(texts[invalid].tolist())) > 1))
        if differ:
            conflict[at] = True
            for i in at:
                others[int(i)] = ", ".join(str(int(rows[j])) for j in at if j != i)
        elif len(valid) > 1:
            exact[valid[1:]] = True
    if conflict.any():
        shown = {k: values[k] for k in key}

        def message(i: int) -> str:
            what = ", ".join(f"{k} {shown[k][i]}" for k in key)
            return (f"{what} is also in row(s) {others[i]} of this file with different "
                    "content; none of its rows is loaded")

        p.add(conflict, spec.duplicate_code, key[-1], message)
    return exact
