"""``create_app(settings)``: the Dash app (Pages), its shell, data routes, headers and errors."""

from __future__ import annotations

import logging
from pathlib import Path

import dash
from dash import Dash, Input, Output
from dash._callback import GLOBAL_CALLBACK_LIST, GLOBAL_CALLBACK_MAP

from dashboard import errors, routes, security
from dashboard.components.shell import ALERT_CLOSE_ID, ALERT_ID, shell
from dashboard.queries import gateway
from etl.settings import Settings

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
TITLE = "borderwatch"


def _layout() -> object:
    pages = [(p["name"], p["relative_path"]) for p in dash.page_registry.values()]
    return shell(pages)


def create_app(settings: Settings) -> Dash:
    """Build the dashboard for ``settings``.

    The read engine (with the statement time limit) is attached to the Flask server; page
    callbacks reach it through :func:`dashboard.queries.gateway.current`.

    Parameters
    ----------
    settings
        The loaded settings (never read at import time).

    Returns
    -------
    Dash
        The app; ``app.server`` is the Flask (WSGI) server.
    """
    # Dash Pages executes the page modules again for every app; callbacks a previous app in
    # this process registered but never claimed (it was not served) must not leak into this one.
    GLOBAL_CALLBACK_LIST.clear()
    GLOBAL_CALLBACK_MAP.clear()
    app = Dash(
        "dashboard",
        use_pages=True,
        pages_folder=str(HERE / "pages"),
        assets_folder=str(HERE / "assets"),
        title=TITLE,
        update_title=None,  # type: ignore[arg-type]  # None: keep the page title
        serve_locally=True,
        compress=True,  # zstd / brotli / gzip as the browser asks: map updates shrink ~10x
        on_error=errors.on_callback_error,
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
    )
    app.layout = _layout
    server = app.server
    server.config["BORDERWATCH_SETTINGS"] = settings
    gateway.attach(server, settings)
    routes.register(server)
    errors.register(server)
    security.install(server, settings.tile_url)
    app.clientside_callback(
        "function(n) { return n ? true : window.dash_clientside.no_update; }",
        Output(ALERT_ID, "hidden", allow_duplicate=True),
        Input(ALERT_CLOSE_ID, "n_clicks"),
        prevent_initial_call=True,
    )
    _register_component_paths(app)
    return app


def _register_component_paths(app: Dash) -> None:
    """Register every script and stylesheet path Dash may serve, now.

    Dash registers them in its first-request setup, which marks itself done *before* it
    registers; with gunicorn's threads, the page's scripts arrive together at a worker that
    has served nothing yet, and the ones that overtake the setup got a 500: a blank page on
    the first visit (seen in the render benchmark). Dash 4.4 has no public call for this;
    ``tests/dashboard/test_app.py`` checks that it still works.
    """
    app._generate_scripts_html()
    app._generate_css_dist_html()
