"""The app shell: header with navigation, the page container and the one alert region."""

from __future__ import annotations

from collections.abc import Iterable

import dash
from dash import dcc, html

ALERT_ID = "app-alert"
ALERT_TEXT_ID = "app-alert-text"
ALERT_CLOSE_ID = "app-alert-close"


def shell(pages: Iterable[tuple[str, str]], user: tuple[str, str, str] | None = None) -> html.Div:
    """Header (brand, one link per page, the user and a logout button), the alert region and
    ``dash.page_container``.

    Parameters
    ----------
    pages
        ``(name, relative path)`` of each page the user may open, in order.
    user
        ``(name, role, what the role sees)`` of the logged-in user.
    """
    return html.Div(
        [
            html.Header(
                [
                    html.Span("borderwatch", className="bw-brand"),
                    html.Nav(
                        [dcc.Link(name, href=path, className="bw-nav-link") for name, path in pages],
                        className="bw-nav",
                    ),
                    *([_user_box(*user)] if user else []),
                ],
                className="bw-header",
            ),
            html.Div(
                [
                    html.Span(id=ALERT_TEXT_ID),
                    html.Button(
                        "×", id=ALERT_CLOSE_ID, className="bw-alert-close", title="Dismiss", n_clicks=0
                    ),
                ],
                id=ALERT_ID,
                className="bw-alert",
                role="alert",
                hidden=True,
            ),
            html.Main(dash.page_container, className="bw-main"),
        ],
        className="bw-app",
    )


def _user_box(name: str, role: str, sees: str) -> html.Form:
    """Who is logged in, as what (the tooltip says what the role sees), and a logout button
    (a plain form POST to ``/logout``)."""
    return html.Form(
        [
            html.Span(name, className="bw-user-name", id="app-user"),
            html.Span(role.replace("_", " "), className="bw-user-role", title=sees),
            html.Button("Log out", type="submit", className="bw-logout", id="app-logout"),
        ],
        action=dash.get_relative_path("/logout"),
        method="post",
        className="bw-user",
    )
