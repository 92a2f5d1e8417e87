"""The validator: one chunk of text rows in, typed accepted rows and rejects out.

Every problem of a row is collected (never only the first) as an ``etl.runs.Reason``; a row
with at least one problem becomes a ``Reject`` carrying its original text. Rows are checked
column by column with pandas/numpy (``columns``, ``location``); Python loops run only over the
rejected rows and over the few distinct values of low-cardinality columns. Duplicates inside
the file are found across chunks (``duplicates``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from etl.report import Reason, Reject
from etl.settings import Settings
from etl.validate.columns import ColumnChecker
from etl.validate.duplicates import (
    HASH_KEYS,
    SeenKeys,
    hash_frame,
    mark_conflicting_keys,
    mark_duplicates,
)
from etl.validate.location import check_location
from etl.validate.parse import empty, has_nul, lengths, strings
from etl.validate.spec import (
    DENSE_KINDS,
    GEOM_WKT,
    OVERFLOW,
    REGION_BBOX,
    ROW,
    TEXT_LIMIT,
    UNREADABLE,
    Context,
    Lookup,
    Parsed,
    Problems,
    References,
    SourceSpec,
)


@dataclass
class ChunkResult:
    """Accepted rows (typed, ready to stage), rejects, and exact in-file duplicates."""

    accepted: dict[str, np.ndarray]
    accepted_rows: np.ndarray
    rejects: list[Reject]
    duplicates: int
    n_read: int
    known: int = 0  # rows accepted that the table holds as read (neither handed on nor written)


class Validator:
    """Validates the chunks of one file in order (it remembers the keys seen so far).

    Parameters
    ----------
    spec
        The input kind.
    refs
        Known reference codes and BCP positions.
    ctx
        The clock and the region.
    extras
        Extra (undeclared) columns of the file, kept as attributes and part of the content.
    seen
        Where the file's keys are remembered; default: all in memory (a load passes one that
        keeps the older keys in a TEMP table, see ``etl.validate.duplicates``).
    database
        ``database(f)`` runs ``f(db)`` on the load's connection and returns its result: how
        the spec's ``lookups`` reach the warehouse (without it they are skipped).
    """

    def __init__(
        self, spec: SourceSpec, refs: References, ctx: Context, *, extras: tuple[str, ...] = (),
        seen: SeenKeys | None = None,
        database: Callable[[Callable[[Any], Any]], Any] | None = None,
    ) -> None:
        self.spec, self.refs, self.ctx = spec, refs, ctx
        self.extras = extras
        self.database = database
        self.seen = seen if seen is not None else SeenKeys()
        self.dense = frozenset([c.name for c in spec.columns if c.kind in DENSE_KINDS]
                               + [f"attr:{k}" for k in extras])

    def validate(self, frame: pd.DataFrame, raw_names: Mapping[str, str], *,
                 digests: np.ndarray | None = None,
                 known: tuple[np.ndarray, np.ndarray] | None = None) -> ChunkResult:
        """Check one chunk.

        Parameters
        ----------
        frame
            Strings as read: declared columns under their normalised names, extra columns
            under their original header, and the reader's reserved columns (``__row``...).
        raw_names
            Column in ``frame`` -> header as written in the file (for the reject's raw text).
        digests
            Each row's raw digest (``etl.validate.fingerprint``), kept with the accepted rows
            under ``__raw``.
        known
            (mask, content hash) of the rows the table holds exactly as they are read
            (``SourceSpec.skip_known``): only their key is parsed, for the duplicates; those
            accepted are counted in ``ChunkResult.known``, not handed on.
        """
        if UNREADABLE in frame.columns:
            return self._with_unreadable(frame, raw_names)
        n = len(frame)
        rows = frame[ROW].to_numpy(dtype=np.int64)
        hit = np.zeros(n, dtype=bool)
        if (known is not None and self.spec.skip_known and not self.spec.whole_file
                and OVERFLOW not in frame.columns):
            hit = known[0]
        rest = np.flatnonzero(~hit)
        values: dict[str, Any] = {}
        extras: dict[str, Any] = {}
        problems, content = Problems(0), np.zeros(0, dtype=np.uint64)
        if len(rest) or not n:  # (every row held as read: nothing to check)
            part = frame if not hit.any() else frame.take(rest).reset_index(drop=True)
            values, extras, problems, content = self._check(part)
        p, c1 = problems, content
        keys: dict[str, Any] = {k: values.get(k) for k in self.spec.natural_key}
        if hit.any():
            p = problems.lifted(rest, n)
            keys = self._keys_of(frame, keys, hit)
            c1 = np.empty(n, dtype=np.uint64)
            c1[rest], c1[hit] = content, known[1][hit]  # type: ignore[index]
        if self.spec.whole_file:
            duplicates = mark_conflicting_keys(self.spec, values, content, p.bad(), rows,
                                               self._texts(frame, raw_names), p, self.dense)
        else:
            duplicates = mark_duplicates(self.seen, self.spec.natural_key, keys, c1, p.bad(),
                                         rows, p, self.dense, code=self.spec.duplicate_code)
        bad = p.bad()
        keep = ~bad & ~duplicates
        take = keep[rest]
        accepted = {k: v[take] for k, v in values.items()}
        accepted.update({f"attr:{k}": v[take] for k, v in extras.items()})
        accepted["__h1"] = content[take]
        if digests is not None and len(values):
            accepted["__raw"] = digests[rest][take]
        rejects = self._rejects(frame, raw_names, p, np.flatnonzero(bad), rows)
        return ChunkResult(accepted, rows[rest][take], rejects, int(duplicates.sum()), n,
                           known=int((keep & hit).sum()))

    def _check(self, frame: pd.DataFrame
               ) -> tuple[dict[str, Any], dict[str, Any], Problems, np.ndarray]:
        """Every check of the rows of ``frame`` but the duplicates: (values, extra columns,
        problems, content hash of each row)."""
        chk = ColumnChecker(self.spec, frame, self.refs, self.ctx)
        chk.run()
        p = chk.problems
        if OVERFLOW in frame.columns:
            over = frame[OVERFLOW].astype(object).fillna("").to_numpy(dtype=object)
            p.add(over != "", "malformed_row", None,
                  "row has more fields than the header (extra values kept as __overflow)")
        extras: dict[str, Any] = {}
        for name in self.extras:
            v = strings(chk.raw(name), few=False)
            nul = has_nul(v, self.ctx.check_nul)
            p.add(nul, "bad_text", name, f"{name} contains a NUL character")
            long = (lengths(v) > TEXT_LIMIT) & ~nul
            p.add(long, "bad_text", name, f"{name} is longer than {TEXT_LIMIT:,} characters")
            extras[name] = np.where(empty(v) | nul | long, None, v.to_numpy(dtype=object))
        values: dict[str, Any] = dict(chk.values)
        if self.spec.located:
            lon, lat = check_location(chk)
            values["lon"], values["lat"] = lon, lat
        parsed = Parsed(values, values.get("lon"), values.get("lat"), self.refs, self.ctx,
                        frame[ROW].to_numpy(dtype=np.int64))
        if self.database is not None:
            for lookup in self.spec.lookups:
                values.update(self.database(_bound(lookup, parsed)))
        for check in self.spec.checks:
            check(parsed, p)
        content = hash_frame(self._content(values, extras), HASH_KEYS[0], self.dense)
        return values, extras, p, content

    def _keys_of(self, frame: pd.DataFrame, keys: dict[str, Any], hit: np.ndarray
                 ) -> dict[str, Any]:
        """The natural key of every row of the chunk: ``keys`` of the others (checked; None
        when there are none), and of the rows held as read (``hit``, hence valid) their key
        columns parsed alone."""
        names = list(self.spec.natural_key)
        held = frame[names].take(np.flatnonzero(hit)).reset_index(drop=True)
        chk = ColumnChecker(self.spec, held, self.refs, self.ctx)
        chk.only(self.spec.natural_key)
        out = {}
        for k, checked in keys.items():
            parsed = chk.values[k]
            if checked is None:
                out[k] = parsed
                continue
            full = np.empty(len(hit), dtype=checked.dtype if len(checked) else parsed.dtype)
            full[~hit], full[hit] = checked, parsed
            out[k] = full
        return out

    def _texts(self, frame: pd.DataFrame, raw_names: Mapping[str, str]) -> np.ndarray:
        """Each row's text as written (blanks around values removed), for comparing rows."""
        cols = [c for c in frame.columns if c in raw_names]
        if not cols:
            return np.zeros(len(frame), dtype=np.uint64)
        text = {c: strings(frame[c].astype(object).fillna(""), few=False).to_numpy(dtype=object)
                for c in cols}
        return hash_frame(text, HASH_KEYS[1], frozenset(cols))

    # -- internals ------------------------------------------------------------------------

    def _with_unreadable(self, frame: pd.DataFrame, raw_names: Mapping[str, str]) -> ChunkResult:
        """Rows the reader could not read are rejected (``bad_feature``) as they are; the
        others are validated."""
        why = frame[UNREADABLE].astype(object).fillna("").to_numpy(dtype=object)
        broken = why != ""
        good = self.validate(frame[~broken].drop(columns=UNREADABLE).reset_index(drop=True),
                             raw_names)
        rows = frame[ROW].to_numpy(dtype=np.int64)
        lost = [Reject(int(rows[i]), {"feature": str(int(rows[i]))},
                       [Reason("bad_feature", "geometry",
                               f"feature {int(rows[i])} cannot be read: {why[i]}")])
                for i in np.flatnonzero(broken)]
        rejects = sorted(good.rejects + lost, key=lambda r: r.row_number)
        return ChunkResult(good.accepted, good.accepted_rows, rejects, good.duplicates,
                           len(frame))

    def _content(self, values: dict[str, Any], extras: dict[str, Any]) -> dict[str, Any]:
        content = {k: values[k] for k in sorted(values)}
        content.update({f"attr:{k}": v for k, v in sorted(extras.items())})
        return content

    def _rejects(
        self, frame: pd.DataFrame, raw_names: Mapping[str, str], p: Problems,
        bad_idx: np.ndarray, rows: np.ndarray,
    ) -> list[Reject]:
        if not len(bad_idx):
            return []
        reasons = p.reasons(bad_idx)
        raws = raw_rows(frame, raw_names, bad_idx)
        return [Reject(int(rows[pos]), raw, reasons[int(pos)])
                for pos, raw in zip(bad_idx, raws, strict=True)]


def _bound(lookup: Lookup, parsed: Parsed) -> Callable[[Any], dict[str, np.ndarray]]:
    return lambda db: lookup(db, parsed)


def raw_rows(frame: pd.DataFrame, raw_names: Mapping[str, str], positions: np.ndarray
             ) -> list[dict[str, Any]]:
    """The rows at ``positions`` as written, every value as text, keyed by the header as
    written (the surplus fields of a long CSV row under ``__overflow``, a GeoJSON/GeoPackage
    geometry as WKT under ``geometry``): what a reject keeps. A NUL becomes U+FFFD (jsonb
    cannot hold one)."""
    cols = [c for c in frame.columns if c in raw_names or c in (OVERFLOW, GEOM_WKT)]
    sub = frame.iloc[positions][cols].astype(object)
    out = []
    for rec in sub.to_dict("records"):
        raw: dict[str, Any] = {}
        for c, val in rec.items():
            text = "" if val is None or (isinstance(val, float) and np.isnan(val)) else str(val)
            text = text.replace("\x00", "\ufffd")
            if c in (OVERFLOW, GEOM_WKT):
                if text:
                    raw["__overflow" if c == OVERFLOW else "geometry"] = text
                continue
            raw[raw_names[c]] = text
        out.append(raw)
    return out


def default_context(
    region_bbox: tuple[float, float, float, float] = REGION_BBOX, *, check_nul: bool = True,
    settings: Settings | None = None,
) -> Context:
    """Validation context at the current time."""
    return Context(now=datetime.now(UTC), region_bbox=region_bbox, check_nul=check_nul,
                   settings=settings)
