"""Statements on fact tables (incidents, flows, benchmark assessments, and any input kind
declared like them): the catalogue's view of a table, key lookups, staging tables, binary
COPY, the final insert and update, secondary indexes; and deleting one source's incidents.

A fact table has its natural-key columns, ``source``, ``run_id``, ``content_hash`` (16 hex
digits of the row's content), ``attrs`` (jsonb) and ``created_at``/``updated_at`` (see
``etl.stores.FactStore``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
from psycopg import sql

from etl import pgcopy

_COLUMNS = (
    "SELECT a.attname, t.typname, t.typelem, format_type(a.atttypid, a.atttypmod)"
    " FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid"
    " WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped"
)
_ESTIMATE = "SELECT greatest(reltuples, 0) FROM pg_class WHERE oid = %s::regclass"
_SECONDARY_INDEXES = (
    "SELECT n.nspname, c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i"
    " JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE i.indrelid = %s::regclass AND NOT i.indisunique AND NOT i.indisprimary"
)
_PARALLEL_BUILD = "SET LOCAL max_parallel_maintenance_workers = 2"
_SOURCES = "SELECT source, count(*) FROM incident GROUP BY source ORDER BY 2 DESC, 1"
_SET_PRINT = "UPDATE load_run SET fingerprint = %s WHERE run_id = %s"
_DROP_CONFIRMED = (
    "DELETE FROM raw_digest_confirmed c USING load_run r, load_run me"
    " WHERE me.run_id = %(run)s AND r.run_id = c.run_id AND r.kind = me.kind"
    " AND r.source = me.source AND r.header IS NOT DISTINCT FROM me.header"
    " AND r.fingerprint IS DISTINCT FROM me.fingerprint")
_DELETE_SOURCE = "DELETE FROM incident WHERE source = %s"


@dataclass(frozen=True)
class TableColumn:
    """One column of a table as the catalogue describes it."""

    name: str
    typname: str  # pg_type.typname, e.g. varchar, int4, _varchar, geometry
    elem_oid: int  # element type of an array type (0 otherwise)
    sqltype: str  # format_type(), e.g. character varying(32)


def table_columns(db: psycopg.Connection, table: str) -> dict[str, TableColumn]:
    """The columns of ``table`` by name."""
    rows = db.execute(_COLUMNS, (table,)).fetchall()
    return {str(n): TableColumn(str(n), str(t), int(e), str(f)) for n, t, e, f in rows}


def has_rows(db: psycopg.Connection, table: str, source: str | None = None) -> bool:
    """Whether ``table`` holds any row (of ``source``, when given)."""
    if source is None:
        q = sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(sql.Identifier(table))
        row = db.execute(q).fetchone()
    else:
        q = sql.SQL("SELECT EXISTS (SELECT 1 FROM {} WHERE source = %s)").format(
            sql.Identifier(table))
        row = db.execute(q, (source,)).fetchone()
    return bool(row and row[0])


def stored_hashes(db: psycopg.Connection, table: str, keys: Sequence[TableColumn],
                  values: Sequence[list[str]], source: str | None) -> list[tuple[int, str]]:
    """(position, content_hash) of the keys found in ``table``: ``values`` holds one list of
    key texts per key column (cast to the column's type), ``source`` is part of the key when
    given. Positions count from 0."""
    ident = sql.Identifier
    cols = [ident(f"k{i}") for i in range(len(keys))]
    on: list[sql.Composable] = [
        sql.SQL("t.{} = k.{}::{}").format(ident(c.name), cols[i], sql.SQL(c.sqltype))
        for i, c in enumerate(keys)]
    params: list[Any] = list(values)
    if source is not None:
        on.append(sql.SQL("t.source = %s"))
        params.append(source)
    q = sql.SQL(
        "SELECT k.ord, t.content_hash FROM unnest({arrays}) WITH ORDINALITY"
        " AS k({cols}, ord) JOIN {table} t ON {on}"
    ).format(arrays=sql.SQL(", ").join(sql.SQL("%s::text[]") for _ in values),
             cols=sql.SQL(", ").join(cols), table=ident(table), on=sql.SQL(" AND ").join(on))
    return [(int(o) - 1, str(h)) for o, h in db.execute(q, params).fetchall()]


def stored_key_texts(db: psycopg.Connection, table: str, keys: Sequence[TableColumn],
                     source: str | None) -> Iterator[pa.Table]:
    """Every row of ``table`` (of ``source``, when given) as its key's text and its
    ``content_hash`` (``""`` when NULL). One key column: its text (dates as ``YYYY-MM-DD``);
    several: per column its length, a colon and its text, one after the other. The server
    only prints the rows, as CSV lines aggregated into at most 64 pieces handed over one at a
    time (so the client never holds more than one); ``etl.warehouse.stored_keys`` digests
    them. (A COPY of the rows would hand them over one message per row: 2 s of Python at 1M.)"""
    ident = sql.Identifier
    texts = [sql.SQL("to_char({}, 'YYYY-MM-DD')" if c.typname == "date" else "{}::text").format(
        ident(c.name)) for c in keys]
    key = texts[0] if len(texts) == 1 else sql.SQL(" || ").join(
        sql.SQL("length({t})::text || ':' || {t}").format(t=t) for t in texts)
    where = sql.SQL(" WHERE source = %s") if source is not None else sql.SQL("")
    q = sql.SQL(
        "SELECT convert_to(string_agg('\"' || replace({key}, '\"', '\"\"') || '\",\"'"
        " || replace(coalesce(content_hash, ''), '\"', '\"\"') || '\"', E'\\n'), 'UTF8')"
        " FROM {table}{where}"
        " GROUP BY hashtext({first}) & 63").format(
        key=key, table=ident(table), where=where, first=texts[0])
    with db.cursor(binary=True) as cur:
        for (piece,) in cur.stream(q, (source,) if source is not None else ()):
            if piece:
                yield _csv_rows(bytes(piece), {"key": pa.string(), "content_hash": pa.string()})


def _csv_rows(csv_text: bytes, columns: dict[str, pa.DataType]) -> pa.Table:
    """One piece of CSV lines printed by the server (quoted values may hold line ends)."""
    return pacsv.read_csv(
        pa.py_buffer(csv_text),
        read_options=pacsv.ReadOptions(column_names=list(columns), use_threads=False),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            column_types=columns, strings_can_be_null=False, quoted_strings_can_be_null=False))


def stored_raw_digests(db: psycopg.Connection, table: str, column: str, kind: str,
                       source: str | None, fingerprint: int) -> Iterator[pa.Table]:
    """Raw digests (``column``) and content hashes held as read under ``fingerprint``, for
    the rows of ``table`` (of ``source``, when given): each row's own digest (not NULL, not 0)
    when a load of that fingerprint wrote it, and the confirmations of loads of ``kind`` under
    it (``raw_digest_confirmed``) whose content hash a row still has (it covers the key and
    every value: that row is the one confirmed, unchanged since). Handed over like
    ``stored_key_texts``: CSV lines aggregated into at most 64 pieces."""
    ident = sql.Identifier
    own = sql.SQL(" AND t.source = %(source)s") if source is not None else sql.SQL("")
    runs = sql.SQL(" AND r.source = %(source)s") if source is not None else sql.SQL("")
    q = sql.SQL(
        "SELECT convert_to(string_agg(h.raw::text || ',\"'"
        " || replace(coalesce(h.content_hash, ''), '\"', '\"\"') || '\"', E'\\n'), 'UTF8')"
        " FROM (SELECT t.{col} AS raw, t.content_hash FROM {table} t"
        " JOIN load_run r ON r.run_id = t.run_id"
        " WHERE r.fingerprint = %(print)s AND t.{col} IS NOT NULL AND t.{col} <> 0{own}"
        " UNION ALL SELECT c.raw_digest, c.content_hash FROM raw_digest_confirmed c"
        " JOIN load_run r ON r.run_id = c.run_id"
        " WHERE r.fingerprint = %(print)s AND r.kind = %(kind)s{runs}"
        " AND c.content_hash IN (SELECT t.content_hash FROM {table} t WHERE true{own})) h"
        " GROUP BY h.raw & 63").format(col=ident(column), table=ident(table), own=own,
                                        runs=runs)
    with db.cursor(binary=True) as cur:
        for (piece,) in cur.stream(q, {"source": source, "print": fingerprint, "kind": kind}):
            if piece:
                yield _csv_rows(bytes(piece), {"raw": pa.int64(), "content_hash": pa.string()})


def set_fingerprint(db: psycopg.Connection, run_id: int, fingerprint: int) -> None:
    """Record what validated the rows a load writes (``load_run.fingerprint``)."""
    db.execute(_SET_PRINT, (fingerprint, run_id))


def drop_other_confirmations(db: psycopg.Connection, run_id: int) -> None:
    """Forget the confirmations of the loads of the same kind, source and file header as
    ``run_id`` under other fingerprints (``run_id`` has just confirmed the rows it found
    unchanged under its own)."""
    db.execute(_DROP_CONFIRMED, {"run": run_id})


def estimated_rows(db: psycopg.Connection, table: str) -> float:
    """The planner's estimate of the rows in ``table``."""
    row = db.execute(_ESTIMATE, (table,)).fetchone()
    return float(row[0]) if row else 0.0


def create_stage(db: psycopg.Connection, stage: str, table: str, columns: Sequence[str]) -> None:
    """A TEMP table (dropped at commit) with ``columns`` of ``table``, empty."""
    db.execute(sql.SQL(
        "CREATE TEMP TABLE {} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA"
    ).format(sql.Identifier(stage), _names(columns), sql.Identifier(table)))


def copy_rows(db: psycopg.Connection, table: str, columns: Sequence[str],
              bodies: Iterable[bytes | memoryview]) -> None:
    """One binary COPY into ``table`` (``bodies``: encoded rows, see ``etl.pgcopy``)."""
    stmt = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
        sql.Identifier(table), _names(columns))
    with db.cursor() as cur, cur.copy(stmt) as copy:
        copy.write(pgcopy.HEADER)
        for body in bodies:
            copy.write(body)
        copy.write(pgcopy.TRAILER)


def insert_from(db: psycopg.Connection, table: str, stage: str, columns: Sequence[str]) -> None:
    """Move the rows of a stage into ``table``."""
    db.execute(sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {}").format(
        sql.Identifier(table), _names(columns), _names(columns), sql.Identifier(stage)))


def update_from(db: psycopg.Connection, table: str, stage: str, columns: Sequence[str],
                keys: Sequence[str]) -> int:
    """Update the rows of ``table`` whose key is in the stage and whose content hash differs;
    the number updated."""
    ident = sql.Identifier
    sets = [sql.SQL("{} = s.{}").format(ident(c), ident(c)) for c in columns if c not in keys]
    join = sql.SQL(" AND ").join(sql.SQL("t.{} = s.{}").format(ident(k), ident(k))
                                 for k in keys)
    return int(db.execute(sql.SQL(
        "UPDATE {} AS t SET {}, updated_at = now() FROM {} s WHERE {}"
        " AND t.content_hash IS DISTINCT FROM s.content_hash"
    ).format(ident(table), sql.SQL(", ").join(sets), ident(stage), join)).rowcount)


def insert_missing_from(db: psycopg.Connection, table: str, stage: str,
                        columns: Sequence[str], keys: Sequence[str]) -> int:
    """Insert the rows of the stage whose key ``table`` does not hold; the number inserted."""
    ident = sql.Identifier
    match = sql.SQL(" AND ").join(sql.SQL("t.{} = s.{}").format(ident(k), ident(k))
                                  for k in keys)
    return int(db.execute(sql.SQL(
        "INSERT INTO {} ({}) SELECT {} FROM {} s WHERE NOT EXISTS (SELECT 1 FROM {} t WHERE {})"
    ).format(ident(table), _names(columns), sql.SQL(", ").join(
        sql.SQL("s.{}").format(ident(c)) for c in columns), ident(stage), ident(table),
        match)).rowcount)


def drop_secondary_indexes(db: psycopg.Connection, table: str) -> list[str]:
    """Drop the table's non-unique indexes; return their definitions (``create_indexes``)."""
    rows = db.execute(_SECONDARY_INDEXES, (table,)).fetchall()
    for schema, name, _ in rows:
        db.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(schema, name)))
    return [str(definition) for _, _, definition in rows]


def create_indexes(db: psycopg.Connection, definitions: Sequence[str]) -> None:
    """Create the indexes ``drop_secondary_indexes`` dropped (``pg_get_indexdef`` text), with
    parallel workers where the server allows them."""
    if definitions:
        db.execute(_PARALLEL_BUILD)
    for definition in definitions:
        db.execute(sql.SQL(definition))  # type: ignore[arg-type]  # the catalogue's own text


def incident_sources(db: psycopg.Connection) -> list[tuple[str, int]]:
    """Every incident source with its number of incidents, largest first."""
    return [(str(s), int(n)) for s, n in db.execute(_SOURCES).fetchall()]


def delete_source(db: psycopg.Connection, source: str) -> int:
    """Delete every incident of ``source``; the number deleted."""
    return int(db.execute(_DELETE_SOURCE, (source,)).rowcount)


def _names(columns: Sequence[str]) -> sql.Composable:
    return sql.SQL(", ").join(sql.Identifier(c) for c in columns)
