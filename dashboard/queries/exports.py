"""Queries of the data exports: single incidents, in the user's scope (``scope.detail``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, func, select

from dashboard.queries.gateway import fetch_all, scope
from dashboard.queries.raw import BBox, filter_conditions, in_box
from dashboard.viewstate import Filters
from etl.warehouse.schema import incident

#: The columns an incident export carries (no internal hashes or run ids).
EXPORT_COLUMNS = ("id", "source", "incident_id", "occurred_at", "category", "subtype", "persons",
                  "nationalities", "direction", "detection", "impact", "reporting_country", "sharing",
                  "description", "bcp_code", "country", "section_id", "border_distance_m", "nearest_bcp",
                  "nearest_bcp_m")


def incidents(engine: Engine, filters: Filters, box: BBox | None, limit: int
              ) -> tuple[list[dict[str, Any]], bool]:
    """The incidents matching ``filters`` (in ``box``) that the user may see one by one, oldest
    first, at most ``limit``; and whether more matched."""
    stmt = (
        select(*[incident.c[name] for name in EXPORT_COLUMNS],
               func.ST_X(incident.c.geom).label("lon"), func.ST_Y(incident.c.geom).label("lat"))
        .where(*filter_conditions(filters), *in_box(box), scope().detail)
        .order_by(incident.c.occurred_at, incident.c.id)
        .limit(limit + 1)
    )
    rows = [dict(r) for r in fetch_all(engine, stmt)]
    return rows[:limit], len(rows) > limit
