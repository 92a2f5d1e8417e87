"""Impact levels of border sections, as attributed by the national coordination centre.

EUROSUR gives every border section an impact level: low, medium, high (and temporarily
critical). It is a decision with a reason, not a computation, so it comes in as a file:
``borderwatch load impact-levels FILE`` (CSV, or GeoJSON/GeoPackage attributes; the same
reader as the other loads). One row per section:

``section_id``
    A known ``border_section.section_id`` (case-insensitive; the message of an unknown one
    suggests the closest).
``impact_level``
    ``low``, ``medium``, ``high`` or ``critical``.
``reason``
    Required for anything above ``low``.
``attributed_at``
    ISO 8601 date or date-time (UTC without an offset), not in the future; default: the time
    of the load.
``attributed_by``
    Optional: who decided (kept in ``section_impact_history``).

Rows only ever update existing sections; the counts are: **updated** when the level or the
reason differs from the section's (the section takes the row's level, reason and date, and a
``section_impact_history`` row records it), **unchanged** when both are the same (the stored
date is kept: the attribution was already in force), **rejected** otherwise; there is never
an *inserted*. Beyond the column checks of ``etl.validate``, a row is rejected when its section
holds a *later* attribution with other content (``superseded``: an old file loaded after a newer
one does not turn decisions back), and every row of a section listed more than once with
different content is rejected (``duplicate_conflict``): the file does not say which decision
was taken, so the section keeps its level.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psycopg
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from etl.errors import BorderwatchError, InputFileError, LoadError
from etl.load import LoadRunFailed, Progress, SilentProgress, fail_load, hold_load_lock
from etl.reader import open_input
from etl.runs import (
    LoadReport,
    Reason,
    Reject,
    count_reasons,
    fail_run,
    file_checksum,
    finish_run,
    record_rejects,
    start_run,
)
from etl.settings import Settings
from etl.validate import (
    GEOM_WKT,
    OVERFLOW,
    ROW,
    Column,
    Context,
    Parsed,
    Problems,
    References,
    SourceSpec,
    Validator,
    default_context,
)
from etl.warehouse.schema import SECTION_IMPACT_LEVELS
from etl.warehouse.section_impact import (
    Attribution,
    StoredLevel,
    apply_attributions,
    stored_levels,
)

log = logging.getLogger(__name__)

KIND = "impact_levels"
#: Levels that need a reason.
ELEVATED = tuple(level for level in SECTION_IMPACT_LEVELS if level != "low")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _reason_needed(parsed: Parsed, problems: Problems) -> None:
    """Anything above low is a decision that must say why."""
    level = parsed.values["impact_level"]
    reason = parsed.values["reason"]
    missing = pd.isna(pd.Series(reason, dtype=object)).to_numpy()
    elevated = pd.Series(level, dtype=object).isin(ELEVATED).to_numpy()
    problems.add(
        elevated & missing, "missing_reason", "reason",
        lambda i: f"impact level {level[i]} needs a reason (only low may come without one)",
    )


SPEC = SourceSpec(
    kind=KIND,
    table="border_section",
    natural_key=("section_id",),
    columns=(
        Column("section_id", "ref", required=True, ref="section", aliases=("section",)),
        Column("impact_level", "enum", required=True, choices=SECTION_IMPACT_LEVELS,
               aliases=("level",)),
        Column("reason", "text", target="impact_reason", aliases=("impact_reason",)),
        Column("attributed_at", "timestamp", not_future=True, target="impact_updated_at",
               aliases=("impact_updated_at",)),
        Column("attributed_by", "text", target=None),
    ),
    checks=(_reason_needed,),
)


@dataclass
class Plan:
    """What a file would do: sections to update, rows that change nothing, rejects."""

    updates: list[Attribution] = field(default_factory=list)
    unchanged: int = 0
    rejects: list[Reject] = field(default_factory=list)


# --------------------------------------------------------------------------- planning (pure)


def plan(frame: pd.DataFrame, raw_names: Mapping[str, str],
         stored: Mapping[str, StoredLevel], ctx: Context) -> Plan:
    """Validate every row and decide its fate against the sections' current levels.

    Parameters
    ----------
    frame
        The whole file as read by ``etl.reader`` (text columns and ``__row``).
    raw_names
        Column in ``frame`` -> header as written (for the rejects' raw text).
    stored
        Current level of every known section (``etl.warehouse.section_impact``).
    ctx
        Validation context; ``ctx.now`` is the date of rows without ``attributed_at``.
    """
    refs = References(codes={"section": set(stored)})
    result = Validator(SPEC, refs, ctx).validate(frame, raw_names)
    numbers = frame[ROW].to_numpy(dtype=np.int64).tolist()
    canon = {s.lower(): s for s in stored}
    ids = [canon.get(str(v).strip().lower()) if isinstance(v, str) else None
           for v in (frame["section_id"] if "section_id" in frame else [None] * len(frame))]
    position = {n: i for i, n in enumerate(numbers)}
    rejects: dict[int, Reject] = {r.row_number: r for r in result.rejects}
    rows_of: dict[str, list[int]] = {}
    for n, sid in zip(numbers, ids, strict=True):
        if sid is not None:
            rows_of.setdefault(sid, []).append(n)
    conflicts = _conflicting(frame, rows_of, position, rejects)

    def raw(n: int) -> dict[str, Any]:
        return _raw_row(frame, raw_names, position[n])

    out = Plan()
    fate: dict[str, list[Reason]] = {}
    accepted = set(result.accepted_rows.tolist())
    for n, a in _attributions(result.accepted, result.accepted_rows, ctx.now):
        if a.section_id in conflicts:
            reasons = [_conflict(a.section_id, n, rows_of)]
        else:
            reasons = _against_stored(a, stored[a.section_id])
        fate[a.section_id] = reasons
        if reasons:
            rejects[n] = Reject(n, raw(n), reasons)
        elif _same(a, stored[a.section_id]):
            out.unchanged += 1
        else:
            out.updates.append(a)
    for n, sid in zip(numbers, ids, strict=True):
        if n in accepted or n in rejects:
            continue
        # an exact repeat of an accepted row shares its fate
        reasons = fate.get(sid or "", [])
        if sid in conflicts:
            reasons = [_conflict(sid, n, rows_of)]
        if reasons:
            rejects[n] = Reject(n, raw(n), list(reasons))
        else:
            out.unchanged += 1
    for sid in conflicts:
        for n in rows_of[sid]:
            r = rejects[n]
            if not any(x.code == "duplicate_conflict" for x in r.reasons):
                r.reasons.append(_conflict(sid, n, rows_of))
    out.rejects = [rejects[n] for n in sorted(rejects)]
    return out


def _conflicting(frame: pd.DataFrame, rows_of: Mapping[str, list[int]],
                 position: Mapping[int, int], rejects: Mapping[int, Reject]) -> set[str]:
    """Sections listed more than once with different content, where one row is rejected.

    Valid rows with the same content are exact repeats (the validator accepts the first and
    counts the others); a valid row with other content is rejected by the validator
    (``duplicate_conflict``); an invalid row differs from a valid one by its text.
    """
    declared = [c for c in SPEC.names if c in frame.columns]
    text = frame[declared].astype(object).fillna("").astype(str).apply(
        lambda col: col.str.strip().str.lower())
    out = set()
    for sid, numbers in rows_of.items():
        if len(numbers) < 2 or not any(n in rejects for n in numbers):
            continue
        contents = {tuple(text.iloc[position[n]]) for n in numbers}
        flagged = any(x.code == "duplicate_conflict" for n in numbers if n in rejects
                      for x in rejects[n].reasons)
        if flagged or len(contents) > 1:
            out.add(sid)
    return out


def _attributions(acc: dict[str, Any], rows: np.ndarray, now: dt.datetime
                  ) -> list[tuple[int, Attribution]]:
    out = []
    for i, n in enumerate(rows.tolist()):
        micros = acc["attributed_at"][i]
        at = now if np.isnan(micros) else _EPOCH + dt.timedelta(microseconds=int(micros))
        out.append((int(n), Attribution(
            section_id=str(acc["section_id"][i]), level=str(acc["impact_level"][i]),
            reason=acc["reason"][i], attributed_at=at, attributed_by=acc["attributed_by"][i],
        )))
    return out


def _same(a: Attribution, s: StoredLevel) -> bool:
    return (a.level, a.reason) == (s.level, s.reason)


def _against_stored(a: Attribution, s: StoredLevel) -> list[Reason]:
    if _same(a, s) or s.attributed_at is None or a.attributed_at >= s.attributed_at:
        return []
    return [Reason(
        "superseded", "attributed_at",
        f"section {a.section_id} holds a later attribution ({s.level}, "
        f"{s.attributed_at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC) than this row "
        f"({a.attributed_at:%Y-%m-%d %H:%M} UTC); an older decision does not replace a newer one",
    )]


def _conflict(sid: str, n: int, rows_of: Mapping[str, list[int]]) -> Reason:
    others = ", ".join(str(m) for m in rows_of[sid] if m != n)
    return Reason(
        "duplicate_conflict", "section_id",
        f"section {sid} is also in row(s) {others} of this file with different content; "
        "none of its rows is loaded",
    )


def _raw_row(frame: pd.DataFrame, raw_names: Mapping[str, str], pos: int) -> dict[str, Any]:
    """The row as written (every value as text), as the validator keeps a reject's."""
    raw: dict[str, Any] = {}
    for c in frame.columns:
        if c not in raw_names and c not in (OVERFLOW, GEOM_WKT):
            continue
        val = frame[c].iat[pos]
        text = "" if val is None or (isinstance(val, float) and np.isnan(val)) else str(val)
        if c in (OVERFLOW, GEOM_WKT):
            if text:
                raw["__overflow" if c == OVERFLOW else "geometry"] = text
            continue
        raw[raw_names[c]] = text
    return raw


# --------------------------------------------------------------------------- the load


def read_frame(path: Path, settings: Settings) -> tuple[pd.DataFrame, dict[str, str]]:
    """The whole file as one frame of text (impact files hold a row per section: small).

    Raises
    ------
    InputFileError
        Missing file, unknown format, missing required columns, unreadable text.
    """
    inp = open_input(path, SPEC, settings.load_chunk_rows)
    frames = [chunk.frame for chunk in inp.chunks()]
    if not frames:
        return pd.DataFrame({ROW: np.zeros(0, dtype=np.int64)}), dict(inp.raw_names)
    return pd.concat(frames, ignore_index=True), dict(inp.raw_names)


def load_impact_levels(
    engine: Engine, settings: Settings, path: Path, *, source: str | None = None,
    dry_run: bool = False, strict: bool = False, progress: Progress | None = None,
) -> LoadReport:
    """``borderwatch load impact-levels FILE``: apply a file of attributions atomically.

    Parameters
    ----------
    engine
        The warehouse.
    settings
        ``lock_timeout_s`` and ``load_chunk_rows`` are used.
    path
        A .csv, .geojson/.json or .gpkg file (docs/formats.md, "Impact levels").
    source
        Name recorded with the run (default: the file name without extension).
    dry_run
        Validate and count; change no section (the run and its rejects are recorded).
    strict
        Any rejected row makes the load fail and change nothing (the rejects are kept).
    progress
        Told when the load waits for another one.

    Returns
    -------
    LoadReport
        read = updated + unchanged + rejected (``inserted`` is always 0).

    Raises
    ------
    InputFileError
        Before anything is recorded: missing file, unknown format, missing columns.
    LoadRunFailed
        The run failed (recorded as failed) and no section was changed.
    """
    path = Path(path)
    frame, raw_names = read_frame(path, settings)
    src = (source if source is not None else path.stem).strip()
    if not src:
        raise InputFileError("the source name must not be empty")
    report = LoadReport(kind=KIND, source=src, file_name=path.name, dry_run=dry_run)
    started = time.monotonic()
    report.run_id = start_run(engine, kind=KIND, source=src, file_name=path.name,
                              checksum=file_checksum(path), dry_run=dry_run)
    try:
        with engine.begin() as conn:
            raw: psycopg.Connection = conn.connection.driver_connection  # type: ignore[assignment]
            hold_load_lock(raw, report.run_id, settings, progress or SilentProgress(),
                           wait=not dry_run)
            stored = stored_levels(conn)
            if not stored:
                raise LoadError("the warehouse has no border sections: load the reference "
                                "data first with `borderwatch load geodata`")
            planned = plan(frame, raw_names, stored, default_context())
            report.read = len(frame)
            report.rejected = len(planned.rejects)
            count_reasons(report, planned.rejects)
            record_rejects(conn, report.run_id, planned.rejects)
            if not (strict and planned.rejects):
                if not dry_run:
                    apply_attributions(conn, planned.updates, report.run_id)
                report.updated, report.unchanged = len(planned.updates), planned.unchanged
                finish_run(conn, report, started=started)
    except (BorderwatchError, SQLAlchemyError, psycopg.Error) as exc:
        fail_load(engine, report, started, exc)
    if strict and report.rejected:
        msg = (f"strict mode: {report.rejected:,} row(s) rejected, no impact level was changed "
               f"(see: borderwatch rejects --run {report.run_id})")
        fail_run(engine, report, started=started, message=msg)
        raise LoadRunFailed(msg, report)
    return report

