"""The app shell: header with navigation, the page container and the one alert region."""

from __future__ import annotations

from collections.abc import Iterable

import dash
from dash import dcc, html

ALERT_ID = "app-alert"
ALERT_TEXT_ID = "app-alert-text"
ALERT_CLOSE_ID = "app-alert-close"


def shell(pages: Iterable[tuple[str, str]]) -> html.Div:
    """Header (brand, one link per page), the alert region and ``dash.page_container``.

    Parameters
    ----------
    pages
        ``(name, relative path)`` of each registered page, in order.
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
