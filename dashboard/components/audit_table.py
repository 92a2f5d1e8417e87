"""Tables of the admin page: audit entries and users (pure builders)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC
from typing import Any

from dash import html

from etl.warehouse.accounts import UserRecord

#: Longest detail text shown in one cell.
DETAIL_CHARS = 200


def _when(value: Any) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if value else "—"


def _table(head: Sequence[str], rows: list[list[Any]], empty: str) -> Any:
    if not rows:
        return html.P(empty, className="bw-muted")
    return html.Table(
        [html.Thead(html.Tr([html.Th(h) for h in head])),
         html.Tbody([html.Tr([html.Td(c) for c in row]) for row in rows])],
        className="bw-table",
    )


def audit_table(entries: Sequence[dict[str, Any]]) -> Any:
    """One row per entry: time (UTC), who, role, from where, action, target, detail."""
    rows = []
    for e in entries:
        detail = json.dumps(e.get("detail") or {}, default=str, ensure_ascii=False)
        rows.append([_when(e["at"]), e["actor"], e.get("role") or "—", e.get("address") or "—",
                     e["action"].replace("_", " "), e.get("target") or "",
                     "" if detail == "{}" else detail[:DETAIL_CHARS]])
    return _table(["time (UTC)", "who", "role", "from", "action", "about", "detail"], rows,
                  "No entries match.")


def users_table(users: Sequence[UserRecord]) -> Any:
    """One row per user: name, role, country, state, last login, created."""
    rows = [[u.username, u.role.replace("_", " "), u.country or "—", "disabled" if u.disabled else "active",
             _when(u.last_login_at), _when(u.created_at)] for u in users]
    return _table(["user", "role", "country", "state", "last login (UTC)", "created (UTC)"], rows,
                  "No users yet.")
