"""Where a load's accepted rows go: a store per input kind (``SourceSpec.store``).

A store gets the accepted rows of each chunk (``write``, on the load's writer thread) and ends
with ``finish``, which returns ``(inserted, updated, unchanged)``. Two stores serve most kinds:

- :class:`FactStore` (the default) for fact tables (incidents, flows, benchmarks...): rows
  whose key is new go by binary COPY straight into the table, rows whose content hash changed
  into a TEMP table for one UPDATE at the end, unchanged rows nowhere. The table needs the
  natural-key columns, ``source``, ``run_id``, ``content_hash``, ``attrs`` (jsonb),
  ``created_at`` and ``updated_at``; with a ``raw_digest`` column, each row's raw digest is
  kept too, and a reload recognises the rows held exactly as read before validating them
  (``FactStore.known``).
- ``etl.upsert_store.UpsertStore`` for small reference tables (a BCP registry): the rows are
  kept until the end and upserted on the primary key.

Values come as the validator gives them (``etl.validate``): text as objects (None when empty),
numbers, instants and dates as float64 (NaN for none; microseconds / days since 1970), extra
columns under ``attr:<header>``, the content hash under ``__h1``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import psycopg

from etl import enrich, pgcopy
from etl.validate import References, SourceSpec
from etl.warehouse import facts
from etl.warehouse.engine import side_connection
from etl.warehouse.facts import TableColumn
from etl.warehouse.stored_keys import (
    MAX_ROWS,
    TEXT_TYPES,
    HeldRows,
    StoredKeys,
    digest_pieces,
    held_pieces,
    key_digest,
    key_texts,
)

#: A load whose new rows reach this many, into a table holding fewer than
#: ``BULK_MAX_EXISTING`` rows (a first backfill: nobody watches an empty map), rebuilds the
#: secondary indexes at the end instead of maintaining them row by row.
BULK_MIN_ROWS = 100_000
BULK_MAX_EXISTING = 10_000
#: Rows assembled at a time for COPY (the encoder's index arrays stay small).
COPY_BATCH = 5_000
#: The column of a fact table holding each row's raw digest, if it has one (``known``).
RAW_DIGEST = "raw_digest"
#: Where rows validated again under another fingerprint and found unchanged are confirmed.
CONFIRMED = "raw_digest_confirmed"
#: With raw digests held, the table's keys are read into memory only once the rows to
#: classify pass this share of the rows read (below it, each chunk's few are looked up).
KEYS_AFTER = 0.1


@dataclass
class Target:
    """What a store writes to: the load's connection and run, the kind, the file's extras."""

    db: psycopg.Connection
    spec: SourceSpec
    source: str
    run_id: int
    extras: tuple[str, ...]
    refs: References
    dry_run: bool = False
    strict: bool = False
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))


class Store(Protocol):
    """Where accepted rows go (see the module doc)."""

    def write(self, acc: dict[str, Any], estimated_rows: int,
              classes: Classes | None = None) -> None: ...

    def finish(self) -> tuple[int, int, int]: ...


@dataclass
class Classes:
    """Accepted rows of a chunk split by what the table holds: ``new`` (key not there),
    ``changed`` (key there, other content); the others are unchanged."""

    new: np.ndarray
    changed: np.ndarray
    #: Unchanged rows not held as read (validated under another fingerprint, or written
    #: from other text): their digest and content hash are confirmed (``_confirm``).
    stale: np.ndarray | None = None

    @property
    def written(self) -> np.ndarray:
        return self.new | self.changed


def attrs_json(acc: dict[str, Any], names: list[tuple[str, str]], n: int) -> np.ndarray:
    """``attrs`` JSON text per row: ``names`` are (key in the JSON, key in ``acc``); values
    that are None are left out."""
    if not names:
        return np.full(n, "{}", dtype=object)
    cols = [(k, acc[a]) for k, a in names]
    return np.array([json.dumps({k: v[i] for k, v in cols if v[i] is not None},
                                ensure_ascii=False) for i in range(n)], dtype=object)


def attr_names(spec: SourceSpec, extras: tuple[str, ...]) -> list[tuple[str, str]]:
    """Keys of ``attrs``: declared columns kept there (``target='attrs'``), then the extras."""
    declared = [(c.name, c.name) for c in spec.columns if c.target == "attrs"]
    return declared + [(k, f"attr:{k}") for k in extras]


# ------------------------------------------------------------------------------ fact tables


@dataclass(frozen=True)
class _Out:
    """One written column: its target and where its values come from."""

    col: TableColumn
    values: Callable[[dict[str, Any], int], Any]
    few: bool = False  # few distinct values (vocabularies, codes): encoded once per value


def _hex16(h: np.ndarray) -> np.ndarray:
    """uint64 hashes as 16 lower-case hex digits (fixed-width bytes)."""
    digits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    b = np.ascontiguousarray(h, dtype=">u8").view(np.uint8).reshape(-1, 8)
    out = np.empty((len(h), 16), dtype=np.uint8)
    out[:, 0::2] = digits[b >> 4]
    out[:, 1::2] = digits[b & 15]
    return out.view("S16").ravel()


def _plan(t: Target, columns: dict[str, TableColumn]) -> list[_Out]:
    """What is written, in COPY order: fixed-size columns first (see ``etl.pgcopy``)."""

    def take(name: str) -> Callable[[dict[str, Any], int], Any]:
        return lambda acc, n: acc[name]

    def const(value: Any) -> Callable[[dict[str, Any], int], Any]:
        return lambda acc, n: np.full(n, value)

    names = attr_names(t.spec, t.extras)
    out: list[_Out] = [
        _Out(columns["source"], const(np.bytes_(t.source.encode("utf-8")))),
        _Out(columns["run_id"], const(float(t.run_id))),
        _Out(columns["content_hash"], lambda acc, n: _hex16(acc["__h1"])),
        _Out(columns["attrs"], lambda acc, n: attrs_json(acc, names, n), few=not names),
    ]
    for col in t.spec.columns:
        target = col.target_name
        if target is None or target == "attrs":
            continue
        out.append(_Out(columns[target], take(col.name), few=col.kind in ("enum", "ref")))
        if col.kind == "round":
            out.append(_Out(columns[f"{target}_date"], take(f"{col.name}_date")))
    if RAW_DIGEST in columns:  # 0 (none) for rows read without one
        out.append(_Out(columns[RAW_DIGEST],
                        lambda acc, n: acc.get("__raw", np.zeros(n, dtype=np.uint64))))
    if t.spec.located:
        out += [_Out(columns[name], take(name), few=name in enrich.FEW_VALUES)
                for name in enrich.COLUMNS]
        out.append(_Out(columns["geom"], lambda acc, n: (acc["lon"], acc["lat"])))
    fixed = ("int2", "int4", "int8", "float8", "timestamptz", "date", "geometry")
    return sorted(out, key=lambda o: (o.col.name not in ("source", "content_hash")
                                      and o.col.typname not in fixed))


def _select(acc: dict[str, Any], mask: np.ndarray) -> dict[str, Any]:
    return {k: v[mask] for k, v in acc.items()}


class FactStore:
    """A fact table (see the module doc).

    A row whose key is not in the table is *new* and goes by binary COPY straight into the
    table (``strict``: into a TEMP table, moved at the end if nothing was rejected); a row
    whose key is there with another content hash is *changed* and goes into a TEMP table for
    one UPDATE at the end; the rest is *unchanged* and is not sent at all. Keys are looked up
    per chunk only when the table already holds rows (of this source, when ``source`` is
    part of the key).
    """

    def __init__(self, t: Target) -> None:
        self.t, self.db, self.spec = t, t.db, t.spec
        columns = facts.table_columns(t.db, t.spec.table)
        self.plan = _plan(t, columns)
        self.has_raw = RAW_DIGEST in columns
        self.names = [o.col.name for o in self.plan]
        self.new = self.changed = self.unchanged = 0
        self.staged: set[str] = set()
        self.dropped: list[str] = []
        self.prepared = False
        keys = [self.spec.column(k) for k in self.spec.natural_key]
        by_target = {o.col.name: o for o in self.plan}
        self.keys = [c.target_name or c.name for c in keys]
        self.key_cols = [by_target[k].col for k in self.keys]
        self.key_names = [c.name for c in keys]
        scope = t.source if self.spec.source_in_key else None
        self.scope = scope
        self.lookup = facts.has_rows(self.db, self.spec.table, scope)
        self.side: tuple[Any, psycopg.Connection] | None = None
        self.index: StoredKeys | None = None
        self.keys_read = self.held_read = False
        self.held: HeldRows | None = None
        self.rows_read = self.asked = 0  # rows given to known, and to classify
        self.confirm_plan: list[_Out] | None = None  # set by the first confirmation

    def classify(self, acc: dict[str, Any], engine: Any, file_rows: int = 0) -> Classes:
        """Which accepted rows are new, changed, unchanged, asked on a connection of its own
        (from any thread, before the rows are enriched: unchanged rows need no enrichment).
        ``file_rows``: the rows the file is estimated to hold.

        The table as committed is what counts: writers are locked out during the load, and a
        key of this file cannot come back in a later chunk (the validator's duplicates), so
        the rows this load wrote earlier do not matter. A file of at least a tenth of the
        table's size reads the table's keys once (``StoredKeys``, for a table of at most
        ``MAX_ROWS`` rows: memory); otherwise its keys are looked up chunk by chunk. When the
        table's raw digests are held (``known``), most rows of a reload never come here: the
        keys are then read only once the rows asked about pass ``KEYS_AFTER`` of those read."""
        n = len(acc["__h1"])
        if not self.lookup:
            return Classes(np.ones(n, dtype=bool), np.zeros(n, dtype=bool))
        side = self._side(engine)
        self.asked += n
        if self.index is None and not self.keys_read and (
                self.held is None or self.asked > KEYS_AFTER * self.rows_read):
            self.keys_read = True
            stored = facts.estimated_rows(side, self.spec.table)
            if ({c.typname for c in self.key_cols} <= TEXT_TYPES and stored <= MAX_ROWS
                    and file_rows * 10 >= stored):
                self.index = StoredKeys(digest_pieces(facts.stored_key_texts(
                    side, self.spec.table, self.key_cols, self.scope)))
        if self.index is not None:
            digests = key_digest([key_texts(acc[name], col.typname) for name, col
                                  in zip(self.key_names, self.key_cols, strict=True)])
            new, changed = self.index.classify(digests, acc["__h1"])
        else:
            new, changed = self._classify(acc, n, side)
        stale = None
        if self.held is not None and "__raw" in acc:  # rows held as read never come here
            stale = ~new & ~changed & (acc["__raw"] != 0)
        return Classes(new, changed, stale)

    def known(self, digests: np.ndarray, engine: Any, file_rows: int = 0,
              fingerprint: int | None = None) -> tuple[np.ndarray, np.ndarray] | None:
        """(mask, content hash) of the rows of a chunk that the table holds exactly as they are
        read, by their raw digests (``etl.validate.fingerprint``): these need no validation.
        The table's raw digests are read at the first call (``HeldRows``), for a file of at
        least a tenth of the table's size (and a table of at most ``MAX_ROWS`` rows). None
        when the table keeps no raw digests, or they are not read."""
        if not self.lookup or not self.has_raw or fingerprint is None:
            return None
        if not self.held_read:
            self.held_read = True
            side = self._side(engine)
            stored = facts.estimated_rows(side, self.spec.table)
            if stored <= MAX_ROWS and file_rows * 10 >= stored:
                self.held = HeldRows(held_pieces(facts.stored_raw_digests(
                    side, self.spec.table, RAW_DIGEST, self.spec.kind, self.scope,
                    fingerprint)))
        if self.held is None:
            return None
        self.rows_read += len(digests)
        return self.held.known(digests)

    def _side(self, engine: Any) -> psycopg.Connection:
        """The side connection (opened on the first call)."""
        if self.side is None:
            self.side = side_connection(engine, "borderwatch-key-lookup")
        return self.side[1]

    def close(self) -> None:
        """Close the side connection, if one was opened."""
        side, self.side = self.side, None
        if side is not None:
            side[0].close()

    def write(self, acc: dict[str, Any], estimated_rows: int,
              classes: Classes | None = None) -> None:
        """Classify (unless ``classes`` says) and send one chunk of accepted rows."""
        n = len(acc["__h1"])
        new = np.ones(n, dtype=bool)
        changed = np.zeros(n, dtype=bool)
        if classes is not None:
            new, changed = classes.new, classes.changed
        elif self.lookup:
            new, changed = self._classify(acc, n, self.db)
        self.new += int(new.sum())
        self.changed += int(changed.sum())
        self.unchanged += n - int(new.sum()) - int(changed.sum())
        if self.t.dry_run:
            return
        if not self.prepared:
            self._prepare(estimated_rows * (new.sum() / n if n else 1.0))
        if new.any():
            self._copy(self._new_table(), _select(acc, new))
        if changed.any():
            self._copy(self._stage("bw_changed"), _select(acc, changed))
        if (classes is not None and classes.stale is not None and classes.stale.any()
                and not self.t.strict):  # (a strict load that fails must leave nothing)
            self._confirm(_select(acc, classes.stale))

    def _classify(self, acc: dict[str, Any], n: int, db: psycopg.Connection
                  ) -> tuple[np.ndarray, np.ndarray]:
        """(new, changed) masks: look the chunk's keys up in the table."""
        texts = [key_texts(acc[name], col.typname)
                 for name, col in zip(self.key_names, self.key_cols, strict=True)]
        found = facts.stored_hashes(db, self.spec.table, self.key_cols, texts, self.scope)
        new = np.ones(n, dtype=bool)
        changed = np.zeros(n, dtype=bool)
        if found:
            pos = np.array([p for p, _ in found], dtype=np.int64)
            stored = np.array([h.encode() for _, h in found], dtype="S16")
            new[pos] = False
            changed[pos] = stored != _hex16(acc["__h1"][pos])
        return new, changed

    def _prepare(self, estimated_new: float) -> None:
        """Before the first rows: a big first load into a (nearly) empty table drops the
        secondary indexes (rebuilt at the end, in the same transaction).

        Dropping an index locks the whole table until the commit, so the map's readers would
        wait for the load; a table already holding data keeps its indexes and stays readable.
        Nor are they dropped when the keys of the rows are looked up on another connection
        (``classify``) in a table holding some already: the lock would block that connection
        and the load would wait for itself.
        """
        self.prepared = True
        keys_elsewhere = self.lookup and self.side is not None
        if self.t.strict or keys_elsewhere or estimated_new < BULK_MIN_ROWS:
            return
        if facts.estimated_rows(self.db, self.spec.table) < BULK_MAX_EXISTING:
            self.dropped = facts.drop_secondary_indexes(self.db, self.spec.table)

    def _new_table(self) -> str:
        return self._stage("bw_new") if self.t.strict else self.spec.table

    def _stage(self, name: str) -> str:
        if name not in self.staged:
            facts.create_stage(self.db, name, self.spec.table, self.names)
            self.staged.add(name)
        return name

    def _confirm(self, acc: dict[str, Any]) -> None:
        """Append rows validated again and found unchanged to ``raw_digest_confirmed``."""
        if self.confirm_plan is None:
            columns = facts.table_columns(self.db, CONFIRMED)
            self.confirm_plan = [
                _Out(columns["run_id"], lambda acc, n: np.full(n, float(self.t.run_id))),
                _Out(columns["raw_digest"], lambda acc, n: acc["__raw"]),
                _Out(columns["content_hash"], lambda acc, n: _hex16(acc["__h1"]))]
        self._copy(CONFIRMED, acc, self.confirm_plan)

    def _copy(self, table: str, acc: dict[str, Any], plan: list[_Out] | None = None) -> None:
        """One COPY of the rows (of the columns of ``plan``, by default all), assembled
        ``COPY_BATCH`` rows at a time."""
        n = len(acc["__h1"])
        plan = self.plan if plan is None else plan
        fields = [pgcopy.Field(o.col.typname, o.values(acc, n), elem_oid=o.col.elem_oid,
                               few=o.few) for o in plan]
        facts.copy_rows(self.db, table, [o.col.name for o in plan],
                        pgcopy.encode_batches(fields, n, COPY_BATCH))

    def finish(self) -> tuple[int, int, int]:
        """Move strict-mode rows, apply the updates, rebuild dropped indexes."""
        if self.t.dry_run:
            return self.new, self.changed, self.unchanged
        if "bw_new" in self.staged:
            facts.insert_from(self.db, self.spec.table, "bw_new", self.names)
        updated = added = 0
        if self.confirm_plan is not None:
            facts.drop_other_confirmations(self.db, self.t.run_id)
        if "bw_changed" in self.staged:
            keys = (["source"] if self.spec.source_in_key else []) + self.keys
            updated = facts.update_from(self.db, self.spec.table, "bw_changed", self.names, keys)
            if self.index is not None:  # a key taken for another by its digest (see StoredKeys)
                added = facts.insert_missing_from(self.db, self.spec.table, "bw_changed",
                                                  self.names, keys)
        facts.create_indexes(self.db, self.dropped)
        return self.new + added, updated, self.unchanged + self.changed - updated - added
