"""The admin page (path ``/admin``): the audit log and the users (administrators only).

The navigation shows the page only to roles with ``audit.read``; its layout and every callback
check that capability again on the server (403 otherwise), because hiding a link is not access
control. Reads go through the accounts engine (``etl.warehouse.audit``, ``accounts``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, get_args

import dash
from dash import Input, Output, callback, dcc, html
from pydantic import StringConstraints

from dashboard.components.audit_table import audit_table, users_table
from dashboard.ids import PageIds
from dashboard.queries import gateway
from etl.warehouse import accounts, audit

dash.register_page(__name__, path="/admin", name="Audit log", title="Audit log · borderwatch", order=90,
                   bw_capability="audit.read")

ids = PageIds("admin")
#: Most entries one view shows (newest first); ``borderwatch audit --limit`` goes further.
MAX_ROWS = 500
PERIODS = {"1d": ("Last 24 hours", timedelta(days=1)), "7d": ("Last 7 days", timedelta(days=7)),
           "30d": ("Last 30 days", timedelta(days=30)), "all": ("Everything", None)}
#: What the filters send (checked at the door, :mod:`dashboard.guard`): a period of ``PERIODS``,
#: a user name (``app_user.username`` is at most 64 characters), an action of ``ACTIONS``.
Period = Literal["1d", "7d", "30d", "all"]
UserName = Annotated[str, StringConstraints(max_length=64)]
Action = Literal["login", "login_failed", "login_refused", "logout", "export", "briefing",
                 "impact_levels_load", "hotspots_recompute", "user_add", "user_password",
                 "user_disable", "user_enable", "token_create", "token_revoke"]
ACTIONS: tuple[str, ...] = get_args(Action)


def layout(**_query: Any) -> html.Div:
    """The filters, the log and the users (a short notice for other roles)."""
    if not gateway.scope().can("audit.read"):
        return html.Div([html.H2("Audit log"), html.P("Only administrators see the audit log.")],
                        className="bw-page bw-admin")
    users = accounts.list_users(gateway.current().accounts)
    return html.Div(
        [
            html.H2("Audit log"),
            html.Div(
                [
                    dcc.Dropdown(id=ids("period"), options=[{"label": v[0], "value": k}
                                                             for k, v in PERIODS.items()],
                                 value="7d", clearable=False, className="bw-admin-filter"),
                    dcc.Dropdown(id=ids("user"), options=[{"label": u.username, "value": u.username}
                                                           for u in users],
                                 placeholder="Every user", className="bw-admin-filter"),
                    dcc.Dropdown(id=ids("action"), options=[{"label": a.replace("_", " "), "value": a}
                                                             for a in ACTIONS],
                                 placeholder="Every action", className="bw-admin-filter"),
                    html.Span(id=ids("count"), className="bw-muted"),
                ],
                className="bw-admin-filters",
            ),
            html.Div(id=ids("log"), className="bw-admin-log"),
            html.H2("Users"),
            html.P("Manage them with borderwatch users add | set-password | disable | token.",
                   className="bw-muted"),
            users_table(users),
        ],
        className="bw-page bw-admin",
    )


@callback(
    Output(ids("log"), "children"),
    Output(ids("count"), "children"),
    Input(ids("period"), "value"),
    Input(ids("user"), "value"),
    Input(ids("action"), "value"),
)
def show_log(period: Period | None, user: UserName | None, action: Action | None) -> tuple[Any, str]:
    """The audit entries matching the filters, newest first (at most ``MAX_ROWS``)."""
    gateway.require("audit.read")
    span = PERIODS[period or "7d"][1]
    since = datetime.now(UTC) - span if span else None
    who = user or None
    what = action or None
    rows = audit.entries(gateway.current().accounts, since=since, actor=who, action=what, limit=MAX_ROWS)
    shown = f"{len(rows):,} entries" + (" (the newest; narrow the filters)" if len(rows) == MAX_ROWS else "")
    return audit_table(rows), shown
