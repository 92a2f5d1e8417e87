"""The incident feed: newest first, one button per incident (pure builder)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from dash import html

from dashboard.components.palette import CATEGORY_COLORS, CATEGORY_LABELS
from dashboard.limits import clip


def feed_items(
    rows: Sequence[dict[str, Any]],
    item_id: Callable[[int], dict[str, str | int]],
    new_ids: frozenset[int] = frozenset(),
) -> list[html.Button]:
    """One button per incident, carrying ``data-incident`` for the map-to-list sync.

    Parameters
    ----------
    rows
        Feed rows (``queries.incidents.feed``), newest first.
    item_id
        Builds the pattern-matching id of an item from the incident's warehouse id.
    new_ids
        Incidents new since the last refresh (marked).
    """
    items = []
    for r in rows:
        pk = int(r["id"])
        category = r.get("category") or "other"
        where = " · ".join(str(v) for v in (r.get("country"), r.get("section_id")) if v)
        persons = r.get("persons")
        items.append(
            html.Button(
                [
                    html.Span(
                        className="bw-swatch bw-swatch-dot",
                        style={"background": CATEGORY_COLORS.get(category, "#666")},
                    ),
                    html.Span(
                        [
                            html.Span(r["occurred_at"].strftime("%d %b %H:%M"), className="bw-feed-time"),
                            html.Span(CATEGORY_LABELS.get(category, category), className="bw-feed-cat"),
                            html.Span(
                                " · ".join(
                                    str(v)
                                    for v in (
                                        r.get("subtype"),
                                        f"{persons} person{'' if persons == 1 else 's'}" if persons else None,
                                    )
                                    if v
                                ),
                                className="bw-feed-sub",
                            ),
                            html.Span(where, className="bw-feed-where"),
                        ],
                        className="bw-feed-body",
                    ),
                    *([html.Span("NEW", className="bw-feed-new")] if pk in new_ids else []),
                ],
                id=item_id(pk),
                className="bw-feed-item" + (" is-new" if pk in new_ids else ""),
                n_clicks=0,
                title=f"Show incident {clip(r.get('incident_id'))} on the map",
                **{"data-incident": str(pk)},  # type: ignore[arg-type]
            )
        )
    return items
