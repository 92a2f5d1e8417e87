"""``create_app(settings)``: the Dash app (Pages), its shell, data routes, headers and errors."""

from __future__ import annotations

import logging
from pathlib import Path

import dash
import flask
from dash import Dash, Input, Output
from dash._callback import GLOBAL_CALLBACK_LIST, GLOBAL_CALLBACK_MAP
from dash._pages import _path_to_page
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix

from dashboard import auth, crossing_exports, errors, exports, guard, routes, security
from dashboard.components.shell import ALERT_CLOSE_ID, ALERT_ID, shell
from dashboard.queries import gateway
from etl.settings import Settings

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
TITLE = "borderwatch"
NOT_FOUND_MODULE = "not_found_404"


def _layout() -> object:
    """The shell for the logged-in user: only the pages their role may open (a page declares
    ``bw_capability="..."`` in ``register_page`` to be for some roles only; the 404 page is no
    page of the menu)."""
    everything = [(p["name"], p["relative_path"], p.get("bw_capability"))
                  for p in dash.page_registry.values()
                  if not p["module"].endswith(NOT_FOUND_MODULE)
                  and p.get("nav", True)]  # a page per crossing (/bcp/<code>) has no menu entry
    scope = flask.g.get(gateway.REQUEST_SCOPE) if flask.has_request_context() else None
    if scope is None:
        # Dash checks the layout's shape once, before the login gate of its first request
        # has run: the shell with every page (the gate serves it to nobody not logged in).
        return shell([(name, path) for name, path, _ in everything])
    pages = [(name, path) for name, path, needs in everything if not needs or scope.can(needs)]
    return shell(pages, user=(current_user.name, current_user.role, scope.sharing_level))


def _page_or_404(app: Dash) -> None:
    """Answer an unknown page path with HTTP 404 (Dash serves its page shell with 200 for any
    path; the page shows ``pages/not_found_404.py`` in the app's layout)."""
    endpoint = app.config.routes_pathname_prefix + "<path:path>"
    catchall = app.server.view_functions[endpoint]

    def page(*args: object, **kwargs: object) -> flask.Response:
        response = flask.make_response(catchall(*args, **kwargs))
        found, _ = _path_to_page(app.strip_relative_path(flask.request.path))
        if not found or str(found.get("module", "")).endswith(NOT_FOUND_MODULE):
            response.status_code = 404
        return response

    app.server.view_functions[endpoint] = page


def _behind_proxies(server: flask.Flask, hops: int) -> None:
    """Behind ``hops`` reverse proxies (``BORDERWATCH_PROXY_HOPS``), take the client's address
    from the ``X-Forwarded-For`` entries the nearest ``hops`` proxies appended (an entry further
    left came from the client: never trusted), and the scheme and host from the last
    ``X-Forwarded-Proto`` and ``-Host`` entry: proxies set these rather than append to them
    (nginx's usual ``$scheme``, ``$host``), so with several the nearest must pass on the outer
    one's values; counting ``hops`` entries there would ignore a single set value.

    Nothing is read from these headers unless the setting says a proxy is there: without one,
    any client could claim another address (and escape the per-address login limit) or https.
    Not trusted at all: ``X-Forwarded-Port`` (the port travels in ``X-Forwarded-Host``, the
    ``Host`` the client sent) and ``X-Forwarded-Prefix`` (the dashboard is served at the root
    of its host: Dash's own paths would not follow a prefix).
    """
    if hops:
        server.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            server.wsgi_app, x_for=hops, x_proto=1, x_host=1, x_port=0, x_prefix=0)


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
        # No "validation layout": Dash would build it from every page's layout at the first
        # request (queries in whatever scope that request had) and embed it in the index page
        # served to everybody. Page callbacks' ids are checked by the tests instead.
        suppress_callback_exceptions=True,
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
    )
    app.layout = _layout
    server = app.server
    server.config["BORDERWATCH_SETTINGS"] = settings
    _behind_proxies(server, settings.proxy_hops)
    gateway.attach(server, settings)
    exports.register(server)
    routes.register(server)
    crossing_exports.register(server)
    errors.register(server)
    _page_or_404(app)
    security.install(server, settings.tile_url, settings.hsts_max_age_s)
    # At the door, in this order: sizes (413/414), the login gate (401 / redirect), then the
    # callback bodies against their declared types (400).
    guard.install_limits(server)
    prefix = app.config.routes_pathname_prefix
    auth.install(server, settings, pages=(prefix, f"{prefix}<path:path>"))
    guard.install(app)
    app.clientside_callback(
        "function(n) { return n ? true : window.dash_clientside.no_update; }",
        Output(ALERT_ID, "hidden", allow_duplicate=True),
        Input(ALERT_CLOSE_ID, "n_clicks"),
        prevent_initial_call=True,
    )
    return app


def ready_for_workers(app: Dash) -> Dash:
    """Run Dash's first-request setup now, in this one thread, with a request of our own;
    then serve ``app`` with gunicorn (``borderwatch serve``, ``dashboard.wsgi``).

    Dash defers part of its set-up to the first request it serves (registering the script
    paths it may serve, copying the page callbacks into the app) and marks it done *before*
    doing it. Under gunicorn with threads, a worker's first requests arrive together: the ones
    that overtook the set-up got a 500 for a script or found no callbacks, a blank page on the
    first visit (seen in the render benchmark). ``/_dash-dependencies`` touches no database; it
    answers 401 to this anonymous request, but Dash's set-up runs before the login gate.
    Not for the Flask development server: Dash's dev tools add handlers, which Flask refuses
    after a first request.
    """
    answer = app.server.test_client().get("/_dash-dependencies")
    if answer.status_code not in (200, 401):
        raise RuntimeError(f"the dashboard did not set itself up (HTTP {answer.status_code})")
    guard.prepare(app)  # the callbacks' input checks, built once here rather than by a request
    return app
