"""Reading and writing the impact levels of border sections (``border_section.impact_*``).

The statements of ``borderwatch load impact-levels`` (``etl.sources.impact_levels``): what
each section holds now, and applying attributions together with their history rows, in the
caller's transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import psycopg

_LEVELS = ("SELECT section_id, impact_level, impact_reason, impact_updated_at"
           " FROM border_section")
_SET = ("UPDATE border_section SET impact_level = %s, impact_reason = %s,"
        " impact_updated_at = %s WHERE section_id = %s")
_HISTORY = ("INSERT INTO section_impact_history (section_id, level, reason, attributed_at,"
            " attributed_by, load_run_id) VALUES (%s, %s, %s, %s, %s, %s)")


@dataclass(frozen=True)
class StoredLevel:
    """A section's current impact level, its reason and when it was attributed."""

    level: str
    reason: str | None
    attributed_at: dt.datetime | None


@dataclass(frozen=True)
class Attribution:
    """One attribution to apply: a section's new level, reason, date and author."""

    section_id: str
    level: str
    reason: str | None
    attributed_at: dt.datetime
    attributed_by: str | None


def stored_levels(db: psycopg.Connection) -> dict[str, StoredLevel]:
    """Every border section with its current impact level, by ``section_id``."""
    return {str(s): StoredLevel(str(lvl), reason, at)
            for s, lvl, reason, at in db.execute(_LEVELS).fetchall()}


def apply_attributions(db: psycopg.Connection, attributions: Sequence[Attribution],
                       run_id: int) -> int:
    """Set each section's level, reason and date, and append the attribution to the history.

    Returns
    -------
    int
        Sections updated.
    """
    if not attributions:
        return 0
    with db.cursor() as cur:
        cur.executemany(_SET, [(a.level, a.reason, a.attributed_at, a.section_id)
                               for a in attributions])
        updated = cur.rowcount
        cur.executemany(_HISTORY, [(a.section_id, a.level, a.reason, a.attributed_at,
                                    a.attributed_by, run_id) for a in attributions])
    return int(updated)
