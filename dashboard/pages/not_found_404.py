"""The page for an address that is no page: in the app's layout, answered with HTTP 404.

Dash Pages shows the layout of the module named ``not_found_404`` for an unknown path; the
HTTP status is set by :func:`dashboard.app._page_or_404`.
"""

from __future__ import annotations

from typing import Any

import dash
from dash import dcc, html

dash.register_page(__name__, path="/not-found", name="Page not found",
                   title="Page not found · borderwatch", order=999)


def layout(**_query: Any) -> html.Div:
    """A short message and a way back (query parameters are ignored)."""
    return html.Div(
        [
            html.H2("Page not found"),
            html.P("There is no page at this address. It may have been mistyped, or the link "
                   "may be out of date."),
            dcc.Link("Go to the situation map", href=dash.get_relative_path("/"),
                     className="bw-button"),
        ],
        className="bw-not-found",
        role="main",
    )
