"""Where a load keeps the older keys of its file: a TEMP table on a connection of its own.

``etl.validate.SeenKeys`` holds the newest keys of the file being loaded in memory and hands
the older ones to a ``TempKeyStore`` (an ``etl.validate.KeyStore``): they go by binary COPY
into a TEMP table indexed on (k1, k2), and a chunk's keys are looked up with one query. The
hashes are unsigned 64-bit numbers, stored as ``int8`` with the same bits.

The store talks over a second connection that belongs to the load: the load's own connection
is used by its writer thread and cannot be shared across threads. It is opened on the first
spill (most files never need one), runs in autocommit, and is closed by ``close`` (the load
closes it on every path); the TEMP table goes with it, also when the process dies. Nothing
is written to the warehouse, so dry runs use it too.
"""

from __future__ import annotations

import logging
from types import TracebackType

import numpy as np
import psycopg
from sqlalchemy import Engine
from sqlalchemy.pool import PoolProxiedConnection

from etl import pgcopy
from etl.errors import LoadError

log = logging.getLogger(__name__)

#: ``application_name`` of the store's connection (visible in ``pg_stat_activity``).
APPLICATION_NAME = "borderwatch-seen-keys"
#: Keys encoded at a time for COPY (about 2.5 MB of COPY data).
COPY_BATCH = 50_000
_CREATE = (
    "CREATE TEMP TABLE bw_seen_keys (k1 int8 NOT NULL, k2 int8 NOT NULL, c1 int8 NOT NULL,"
    " row_number int8 NOT NULL)",
    "CREATE INDEX ON bw_seen_keys (k1, k2)",
)
_COPY = "COPY bw_seen_keys (k1, k2, c1, row_number) FROM STDIN (FORMAT BINARY)"
_LOOKUP = (
    "SELECT k.ord, s.row_number, s.c1 FROM unnest(%s::int8[], %s::int8[]) WITH ORDINALITY"
    " AS k(k1, k2, ord) JOIN bw_seen_keys s ON s.k1 = k.k1 AND s.k2 = k.k2"
)


class TempKeyStore:
    """Keys of one load's file in a TEMP table (``etl.validate.KeyStore``).

    Parameters
    ----------
    engine
        The warehouse; the store's connection is taken from it and detached from its pool
        (so that ``close`` really closes it).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.keys = 0
        self.backend_pid: int | None = None
        self._pooled: PoolProxiedConnection | None = None
        self._raw: psycopg.Connection | None = None

    def __enter__(self) -> TempKeyStore:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _connection(self) -> psycopg.Connection:
        if self._raw is not None:
            return self._raw
        self._pooled = self.engine.raw_connection()
        try:
            raw: psycopg.Connection = self._pooled.driver_connection  # type: ignore[assignment]
            self._pooled.detach()  # never handed back to the pool: close() closes it
            raw.rollback()
            raw.autocommit = True
            raw.execute("SELECT set_config('application_name', %s, false)", (APPLICATION_NAME,))
            raw.execute("SET jit = off")  # a big lookup would spend longer compiling than running
            for statement in _CREATE:
                raw.execute(statement)
        except psycopg.errors.InsufficientPrivilege as exc:
            self.close()
            raise LoadError(
                "this file has more distinct keys than the loader keeps in memory, and the "
                "database user may not create temporary tables to keep the rest: grant it "
                "(GRANT TEMPORARY ON DATABASE <name> TO <user>) or split the file",
                detail=repr(exc),
            ) from exc
        except BaseException:
            self.close()
            raise
        self._raw = raw
        self.backend_pid = raw.info.backend_pid
        log.info("in-file keys beyond the memory limit go to a TEMP table (backend %s)",
                 self.backend_pid)
        return raw

    def add(self, k1: np.ndarray, k2: np.ndarray, c1: np.ndarray, rows: np.ndarray) -> None:
        """Store the keys (uint64 hashes and content hashes, int64 row numbers)."""
        n = len(k1)
        if not n:
            return
        with self._connection().cursor() as cur, cur.copy(_COPY) as copy:
            copy.write(pgcopy.HEADER)
            for a in range(0, n, COPY_BATCH):  # encoded a slice at a time: little memory
                part = slice(a, a + COPY_BATCH)
                fields = [pgcopy.Field("int8", _signed(h[part])) for h in (k1, k2, c1)]
                fields.append(pgcopy.Field("int8", np.asarray(rows[part], dtype=np.int64)))
                copy.write(pgcopy.encode(fields, len(fields[0].values)))
            copy.write(pgcopy.TRAILER)
        self.keys += n

    def lookup(self, k1: np.ndarray, k2: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(found mask, row number, content hash) of each key; one query for all."""
        n = len(k1)
        found = np.zeros(n, dtype=bool)
        rows = np.zeros(n, dtype=np.int64)
        content = np.zeros(n, dtype=np.uint64)
        if not n or not self.keys:
            return found, rows, content
        hits = self._connection().execute(
            _LOOKUP, (_signed(k1).tolist(), _signed(k2).tolist())
        ).fetchall()
        if hits:
            pos = np.array([h[0] for h in hits], dtype=np.int64) - 1
            found[pos] = True
            rows[pos] = np.array([h[1] for h in hits], dtype=np.int64)
            content[pos] = np.array([h[2] for h in hits], dtype=np.int64).view(np.uint64)
        return found, rows, content

    def close(self) -> None:
        """Close the connection (and so drop the TEMP table); safe to call more than once."""
        pooled, self._pooled, self._raw = self._pooled, None, None
        if pooled is not None:
            pooled.close()


def _signed(h: np.ndarray) -> np.ndarray:
    """uint64 hashes as int64 with the same bits (PostgreSQL has no unsigned type)."""
    return np.ascontiguousarray(h, dtype=np.uint64).view(np.int64)
