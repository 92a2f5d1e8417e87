"""Reading and writing the impact levels of border sections (``border_section.impact_*``).

The statements of ``borderwatch load impact-levels`` (``etl.sources.impact_levels``): what
each section holds now, and applying attributions together with their history rows, in the
caller's transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, insert, select, update

from etl.warehouse.schema import border_section, section_impact_history


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


def stored_levels(conn: Connection) -> dict[str, StoredLevel]:
    """Every border section with its current impact level, by ``section_id``."""
    rows = conn.execute(
        select(border_section.c.section_id, border_section.c.impact_level,
               border_section.c.impact_reason, border_section.c.impact_updated_at)
    )
    return {str(s): StoredLevel(str(lvl), reason, at) for s, lvl, reason, at in rows}


def apply_attributions(conn: Connection, attributions: Sequence[Attribution], run_id: int
                       ) -> int:
    """Set each section's level, reason and date, and append the attribution to the history.

    Returns
    -------
    int
        Sections updated.
    """
    if not attributions:
        return 0
    params = [
        {"sid": a.section_id, "lvl": a.level, "why": a.reason, "at": a.attributed_at}
        for a in attributions
    ]
    stmt = (
        update(border_section)
        .where(border_section.c.section_id == bindparam("sid"))
        .values(impact_level=bindparam("lvl"), impact_reason=bindparam("why"),
                impact_updated_at=bindparam("at"))
    )
    updated = conn.execute(stmt, params).rowcount
    conn.execute(
        insert(section_impact_history),
        [
            {"section_id": a.section_id, "level": a.level, "reason": a.reason,
             "attributed_at": a.attributed_at, "attributed_by": a.attributed_by,
             "load_run_id": run_id}
            for a in attributions
        ],
    )
    return int(updated)
