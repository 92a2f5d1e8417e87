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
an *inserted*. Beyond the column checks, a row is rejected when its section holds a *later*
attribution with other content (``superseded``: an old file loaded after a newer one does not
turn decisions back), and every row of a section listed more than once with different content
is rejected (``duplicate_conflict``, ``SourceSpec.duplicates='reject_all'``): the file does not
say which decision was taken, so the section keeps its level.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from etl.stores import Target
from etl.validate import Column, Parsed, Problems, SourceSpec
from etl.warehouse.schema import SECTION_IMPACT_LEVELS
from etl.warehouse.section_impact import Attribution, apply_attributions, stored_levels

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


def _at(micros: float, now: dt.datetime) -> dt.datetime:
    return now if np.isnan(micros) else _EPOCH + dt.timedelta(microseconds=int(micros))


def _not_superseded(parsed: Parsed, problems: Problems) -> None:
    """An otherwise valid row older than the section's attribution, with other content."""
    stored = parsed.refs.tables.get("section_levels", {})
    assert parsed.ctx is not None
    now = parsed.ctx.now
    sid, level = parsed.values["section_id"], parsed.values["impact_level"]
    reason, at = parsed.values["reason"], parsed.values["attributed_at"]
    valid = ~problems.bad()
    late: dict[int, str] = {}
    for i in np.flatnonzero(valid):
        s = stored.get(sid[i])
        if s is None or s.attributed_at is None or (level[i], reason[i]) == (s.level, s.reason):
            continue
        when = _at(at[i], now)
        if when < s.attributed_at:
            late[int(i)] = (
                f"section {sid[i]} holds a later attribution ({s.level}, "
                f"{s.attributed_at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC) than this row "
                f"({when:%Y-%m-%d %H:%M} UTC); an older decision does not replace a newer one")
    mask = np.zeros(len(sid), dtype=bool)
    mask[list(late)] = True
    problems.add(mask, "superseded", "attributed_at", lambda i: late[i])


class ImpactStore:
    """Applies the attributions that change a section (level or reason), counts the others
    unchanged; ``section_impact_history`` keeps each one applied."""

    def __init__(self, t: Target) -> None:
        self.t = t
        self.stored = t.refs.tables["section_levels"]
        self.updates: list[Attribution] = []
        self.unchanged = 0

    def write(self, acc: dict[str, Any], estimated_rows: int, classes: Any = None) -> None:
        for i in range(len(acc["__h1"])):
            a = Attribution(section_id=str(acc["section_id"][i]),
                            level=str(acc["impact_level"][i]), reason=acc["reason"][i],
                            attributed_at=_at(acc["attributed_at"][i], self.t.now),
                            attributed_by=acc["attributed_by"][i])
            s = self.stored[a.section_id]
            if (a.level, a.reason) == (s.level, s.reason):
                self.unchanged += 1
            else:
                self.updates.append(a)

    def finish(self) -> tuple[int, int, int]:
        if not self.t.dry_run:
            apply_attributions(self.t.db, self.updates, self.t.run_id)
        return 0, len(self.updates), self.unchanged


SPEC = SourceSpec(
    kind=KIND,
    table="border_section",
    title="impact levels of border sections",
    natural_key=("section_id",),
    columns=(
        Column("section_id", "ref", required=True, ref="section", aliases=("section",)),
        Column("impact_level", "enum", required=True, choices=SECTION_IMPACT_LEVELS,
               aliases=("level",)),
        Column("reason", "text", target="impact_reason", max_length=500,
               aliases=("impact_reason",)),
        Column("attributed_at", "timestamp", not_future=True, target="impact_updated_at",
               aliases=("impact_updated_at",)),
        Column("attributed_by", "text", target=None, max_length=200),
    ),
    checks=(_reason_needed, _not_superseded),
    references=(("section_levels", stored_levels),),
    requires="section",
    duplicates="reject_all",
    store=ImpactStore,
)

