"""Upserts of small reference tables (countries, border lines and sections, BCPs, agreements,
the IBM framework): insert new rows, update changed ones, leave equal ones untouched."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

#: Rows per statement (a few thousand parameters at most).
BATCH = 500

_PRIMARY_KEY = (
    "SELECT a.attname FROM pg_index i JOIN pg_attribute a"
    " ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)"
    " WHERE i.indrelid = %s::regclass AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)"
)
_GEOMETRY_COLUMNS = (
    "SELECT a.attname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid"
    " WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped"
    " AND t.typname IN ('geometry', 'geography')"
)
_HAS_COLUMN = ("SELECT count(*) FROM pg_attribute WHERE attrelid = %s::regclass"
               " AND attname = %s AND NOT attisdropped")


class Geometry:
    """A geometry value for an upsert: EWKB bytes (with the SRID)."""

    def __init__(self, ewkb: bytes) -> None:
        self.ewkb = ewkb


def upsert_rows(db: psycopg.Connection, table: str, rows: Sequence[dict[str, Any]],
                keep: Iterable[str] = ()) -> tuple[int, int, int]:
    """Insert new rows, update changed ones, leave equal ones untouched.

    Rows are matched on the table's primary key; a row is updated only when some column
    differs (geometries compared as EWKB). Columns in ``keep`` are never overwritten; an
    ``updated_at`` column is set on update. Values: plain Python values, ``Geometry`` for
    geometries, dicts for ``jsonb``.

    Returns
    -------
    tuple
        ``(inserted, updated, unchanged)``.
    """
    if not rows:
        return 0, 0, 0
    key = [str(r[0]) for r in db.execute(_PRIMARY_KEY, (table,)).fetchall()]
    geometry = {str(r[0]) for r in db.execute(_GEOMETRY_COLUMNS, (table,)).fetchall()}
    columns = list(rows[0])
    kept = set(keep)
    changing = [c for c in columns if c not in key and c not in kept]
    stamped = "updated_at" not in columns and _has_column(db, table, "updated_at")
    inserted = updated = 0
    for at in range(0, len(rows), BATCH):
        part = rows[at:at + BATCH]
        stmt = _statement(table, columns, key, changing, geometry, len(part), stamped)
        params = [_value(r[c]) for r in part for c in columns]
        for (fresh,) in db.execute(stmt, params).fetchall():
            inserted += bool(fresh)
            updated += not fresh
    return inserted, updated, len(rows) - inserted - updated


def _has_column(db: psycopg.Connection, table: str, column: str) -> bool:
    row = db.execute(_HAS_COLUMN, (table, column)).fetchone()
    return bool(row and row[0])


def delete_missing(db: psycopg.Connection, table: str, key: str, keep: Sequence[Any]) -> int:
    """Delete the rows of ``table`` whose ``key`` is not in ``keep``; how many."""
    return int(db.execute(sql.SQL("DELETE FROM {} WHERE {} <> ALL(%s)").format(
        sql.Identifier(table), sql.Identifier(key)), (list(keep),)).rowcount)


def _value(v: Any) -> Any:
    if isinstance(v, Geometry):
        return v.ewkb
    if isinstance(v, dict):
        return Jsonb(v)
    return v


def _statement(table: str, columns: list[str], key: list[str], changing: list[str],
               geometry: set[str], n: int, stamped: bool) -> sql.Composed:
    ident = sql.Identifier
    holder = sql.SQL(", ").join(
        sql.SQL("ST_GeomFromEWKB(%s)") if c in geometry else sql.Placeholder() for c in columns)
    values = sql.SQL(", ").join(sql.SQL("({})").format(holder) for _ in range(n))
    sets: list[sql.Composable] = [sql.SQL("{} = EXCLUDED.{}").format(ident(c), ident(c))
                                  for c in changing]
    if stamped:
        sets.append(sql.SQL("updated_at = now()"))
    differs = sql.SQL(" OR ").join(
        sql.SQL("ST_AsEWKB(t.{}) IS DISTINCT FROM ST_AsEWKB(EXCLUDED.{})").format(ident(c), ident(c))
        if c in geometry else
        sql.SQL("t.{} IS DISTINCT FROM EXCLUDED.{}").format(ident(c), ident(c))
        for c in changing)
    conflict = (sql.SQL("DO UPDATE SET {} WHERE {}").format(sql.SQL(", ").join(sets), differs)
                if changing else sql.SQL("DO NOTHING"))
    return sql.SQL(
        "INSERT INTO {table} AS t ({cols}) VALUES {values} ON CONFLICT ({key}) {conflict}"
        " RETURNING (xmax = 0)"
    ).format(table=ident(table), cols=sql.SQL(", ").join(map(ident, columns)), values=values,
             key=sql.SQL(", ").join(map(ident, key)), conflict=conflict)
