"""The store of small reference tables (a BCP registry, agreements): accepted rows are kept
until the end and upserted on the primary key (``SourceSpec.store``; fact tables have
``etl.stores.FactStore``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import psycopg

from etl.stores import Classes, Target, attr_names
from etl.warehouse import facts
from etl.warehouse.upserts import upsert_rows

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def python_value(kind: str, v: Any) -> Any:
    """A validator value as the Python value a driver writes (None for missing)."""
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    if kind == "int":
        return int(v)
    if kind == "float":
        return float(v)
    if kind == "bool":
        return bool(v)
    if kind == "timestamp":
        return _EPOCH + dt.timedelta(microseconds=int(v))
    if kind == "date":
        return dt.date(1970, 1, 1) + dt.timedelta(days=int(v))
    if kind == "codes":
        return str(v).split(";")
    return v


class UpsertStore:
    """A small reference table: accepted rows are kept and upserted on the primary key at
    the end (inserted, updated when a column differs, unchanged otherwise). Subclasses add
    columns the file does not hold (``row``)."""

    def __init__(self, t: Target) -> None:
        self.t = t
        self.rows: list[dict[str, Any]] = []
        self.attrs = attr_names(t.spec, t.extras)
        self.has_attrs = "attrs" in facts.table_columns(t.db, t.spec.table)

    def row(self, acc: dict[str, Any], i: int) -> dict[str, Any]:
        """The table row of accepted row ``i``."""
        out = {}
        for c in self.t.spec.columns:
            target = c.target_name
            if target is None or target == "attrs":
                continue
            out[target] = python_value(c.kind, acc[c.name][i])
        if self.has_attrs:
            out["attrs"] = {k: acc[a][i] for k, a in self.attrs if acc[a][i] is not None}
        return out

    def write(self, acc: dict[str, Any], estimated_rows: int,
              classes: Classes | None = None) -> None:
        self.rows += [self.row(acc, i) for i in range(len(acc["__h1"]))]

    def finish(self) -> tuple[int, int, int]:
        if not self.t.dry_run:
            return upsert_rows(self.t.db, self.t.spec.table, self.rows)
        with self.t.db.transaction() as savepoint:  # a dry run counts, then takes it back
            counts = upsert_rows(self.t.db, self.t.spec.table, self.rows)
            raise psycopg.Rollback(savepoint)
        return counts
