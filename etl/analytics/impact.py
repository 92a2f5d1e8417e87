"""Suggested impact levels of border sections, from the incident pressure on each section
against its own baseline. A suggestion, never a decision: the impact level stays the national
coordination centre's call, loaded with ``borderwatch load impact-levels``.

``borderwatch analyse impact`` (a recorded run, kind ``impact``) counts, per border section, the
incidents whose nearest section it is and that lie within ``hotspot_zone_km`` of it:

- **recent**: in the last ``impact_recent_days`` days up to the latest incident's day;
- **baseline**: the mean per ``impact_recent_days`` over the ``impact_baseline_days`` before
  (over fewer days when the data start later; with less history than one recent window
  there is no baseline, and no suggestion is made).

The ratio recent / max(baseline, 1) gives the suggestion (thresholds are settings):

- ``high`` when the ratio is at least ``impact_high_ratio`` (3) and recent has at least
  ``impact_min_incidents`` (10) incidents;
- ``medium`` when the ratio is at least ``impact_medium_ratio`` (1.5), with the same minimum;
- ``low`` otherwise. ``critical`` is never suggested: it is a temporary state a centre declares
  for a crisis, not something a count of past incidents can tell.

Suggestions are stored in ``section_impact_suggestion`` (the map shows one beside the decided
level where they differ), and ``--out FILE.csv`` writes them in exactly the impact-levels load
format, every reason filled with the evidence, so a centre can review the file and load it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import psycopg
from sqlalchemy import Engine

from etl.errors import ConfigurationError
from etl.runs import Progress, recorded_run
from etl.settings import Settings
from etl.warehouse import csv_export
from etl.warehouse.engine import connect, driver_connection

#: Columns of the impact-levels load format (``etl.sources.impact_levels``), in its order.
COLUMNS = ("section_id", "impact_level", "reason", "attributed_at", "attributed_by")
ATTRIBUTED_BY = "borderwatch analyse impact (suggestion)"
_RANK = {"low": 0, "medium": 1, "high": 2, "critical": 3}


@dataclass(frozen=True)
class Thresholds:
    """The settings ``impact_*`` that turn a pressure into a level."""

    recent_days: int = 28
    baseline_days: int = 364
    medium_ratio: float = 1.5
    high_ratio: float = 3.0
    min_incidents: int = 10

    @classmethod
    def from_settings(cls, settings: Settings) -> Thresholds:
        return cls(settings.impact_recent_days, settings.impact_baseline_days,
                   settings.impact_medium_ratio, settings.impact_high_ratio,
                   settings.impact_min_incidents)


@dataclass(frozen=True)
class Suggestion:
    """The suggested level of one section, the decided one, and the evidence."""

    section_id: str
    level: str
    decided: str
    recent: int
    baseline: float
    ratio: float
    reason: str

    @property
    def differs(self) -> bool:
        return self.level != self.decided


def suggest(section_id: str, decided: str, recent: int, baseline_total: int, last_day: dt.date,
            t: Thresholds, baseline_days: int | None = None) -> Suggestion:
    """The suggestion for one section (pure); ``baseline_days`` (default: all of
    ``t.baseline_days``) is how many days of history the baseline covers."""
    days = t.baseline_days if baseline_days is None else baseline_days
    periods = days / t.recent_days
    baseline = baseline_total / periods
    ratio = recent / max(baseline, 1.0)
    enough = recent >= t.min_incidents
    level = ("high" if enough and ratio >= t.high_ratio
             else "medium" if enough and ratio >= t.medium_ratio else "low")
    first = last_day - dt.timedelta(days=t.recent_days - 1)
    reason = (
        f"suggested by borderwatch from incident pressure: {recent} incident(s) within "
        f"{first.isoformat()}..{last_day.isoformat()} against {baseline:.1f} per "
        f"{t.recent_days} days over the {days} days before ({ratio:.1f}x); "
        f"medium from {t.medium_ratio:g}x, high from {t.high_ratio:g}x, at least "
        f"{t.min_incidents} incidents; decided level {decided}"
    )
    return Suggestion(section_id, level, decided, recent, round(baseline, 3), round(ratio, 3),
                      reason)


def pressures(raw: psycopg.Connection, last_day: dt.date, t: Thresholds, zone_km: float
              ) -> list[tuple[str, str, int, int]]:
    """(section, decided level, recent, baseline total) of every border section."""
    recent_from = last_day - dt.timedelta(days=t.recent_days - 1)
    base_from = recent_from - dt.timedelta(days=t.baseline_days)
    end = last_day + dt.timedelta(days=1)

    def at(day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)

    rows = raw.execute(
        """
        SELECT s.section_id, s.impact_level, coalesce(p.recent, 0), coalesce(p.base, 0)
        FROM border_section s LEFT JOIN (
            SELECT section_id,
                   count(*) FILTER (WHERE occurred_at >= %(recent)s)::int AS recent,
                   count(*) FILTER (WHERE occurred_at < %(recent)s)::int AS base
            FROM incident
            WHERE occurred_at >= %(base)s AND occurred_at < %(end)s
              AND section_id IS NOT NULL AND border_distance_m <= %(zone_m)s
            GROUP BY section_id) p ON p.section_id = s.section_id
        ORDER BY s.section_id
        """,
        {"recent": at(recent_from), "base": at(base_from), "end": at(end),
         "zone_m": zone_km * 1000.0}).fetchall()
    return [(str(s), str(lvl), int(r), int(b)) for s, lvl, r, b in rows]


@dataclass
class ImpactReport:
    run_id: int | None
    last_day: dt.date
    suggestions: list[Suggestion]
    baseline_days: int = 0

    def summary(self) -> str:
        if not self.suggestions:
            return (f"no impact level suggested: {self.baseline_days} day(s) of history before "
                    f"the recent window, not enough for a baseline (run {self.run_id})")
        by = {lvl: sum(1 for s in self.suggestions if s.level == lvl) for lvl in _RANK}
        differ = sum(1 for s in self.suggestions if s.differs)
        return (f"suggested impact levels for {len(self.suggestions)} sections up to "
                f"{self.last_day}: {by['high']} high, {by['medium']} medium, {by['low']} low; "
                f"{differ} differ from the decided level (run {self.run_id})")


def run_impact(engine: Engine, settings: Settings, *, progress: Progress | None = None
               ) -> ImpactReport:
    """Compute and store the suggestions (recorded run, kind ``impact``).

    Raises
    ------
    ConfigurationError
        No incident is loaded.
    LoadRunFailed
        The job failed (recorded as failed); the previous suggestions are as they were.
    """
    t = Thresholds.from_settings(settings)
    with connect(engine) as probe:
        row = driver_connection(probe).execute(
            "SELECT (min(occurred_at) AT TIME ZONE 'UTC')::date, "
            "(max(occurred_at) AT TIME ZONE 'UTC')::date FROM incident").fetchone()
    if row is None or row[1] is None:
        raise ConfigurationError("no incident is loaded: nothing to suggest from")
    first_day: dt.date = row[0]
    last_day: dt.date = row[1]
    recent_from = last_day - dt.timedelta(days=t.recent_days - 1)
    base_days = min(t.baseline_days, (recent_from - first_day).days)
    with recorded_run(engine, settings, kind="impact", source="section_impact_suggestion",
                      file_name="(suggest)", progress=progress,
                      kept="the previous suggestions are as they were") as run:
        raw = run.db
        found = [] if base_days < t.recent_days else [
            suggest(s, lvl, r, b, last_day, t, base_days)
            for s, lvl, r, b in pressures(raw, last_day, t, settings.hotspot_zone_km)]
        raw.execute("DELETE FROM section_impact_suggestion")
        with raw.cursor().copy(
                "COPY section_impact_suggestion (section_id, level, recent, baseline, ratio, "
                "reason, run_id) FROM STDIN") as copy:
            for s in found:
                copy.write_row((s.section_id, s.level, s.recent, s.baseline, s.ratio, s.reason,
                                run.run_id))
        report = ImpactReport(run.run_id, last_day, found, max(base_days, 0))
        run.report.read = run.report.inserted = len(found)
        run.report.message = report.summary()
    return report


def write_levels(path: Path, suggestions: Sequence[Suggestion], at: dt.datetime, *,
                 changed_only: bool = False) -> int:
    """Write ``suggestions`` in the impact-levels load format; return the rows written."""
    if path.suffix.lower() != ".csv":
        raise ConfigurationError(f"--out must end in .csv, not {path.name!r}")
    stamp = at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    rows = [(s.section_id, s.level, s.reason, stamp, ATTRIBUTED_BY) for s in suggestions
            if s.differs or not changed_only]
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv_export.writer(fh)
        out.writerow(COLUMNS)
        out.writerows(rows)
    return len(rows)
