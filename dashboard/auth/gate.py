"""The login gate: one ``before_request`` hook in front of every route of the server.

- Public: ``/login``, ``/logout``, ``/healthz`` and static files (``/assets/``, Dash's
  component scripts, the favicon, ``/favicon.ico``).
- Pages (Dash's index routes) without a valid login: a redirect to ``/login?next=...``.
- Everything else (data endpoints, exports, every Dash callback and ``/_dash-*`` request):
  ``401`` in the one JSON error shape.

A logged-in request gets its user's scope in ``flask.g`` (the gateway hands it to every
query). A session lasts ``session_lifetime_min`` from its login, however busy. A POST whose
``Origin`` is another site is refused (403) before anything else.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from urllib.parse import quote, urlsplit

import flask
from flask_login import current_user, logout_user
from werkzeug.wrappers import Response

from dashboard.auth.views import LOGIN_AT
from dashboard.errors import error_response
from dashboard.queries import gateway

#: Endpoints anybody may reach.
PUBLIC = frozenset({"login", "login_post", "logout", "healthz", "favicon", "static",
                    "_dash_assets.static"})
#: Endpoint name endings of Dash's static routes (prefixed with ``routes_pathname_prefix``).
PUBLIC_SUFFIXES = ("_dash-component-suites/<string:package_name>/<path:fingerprinted_path>",
                   "_favicon.ico")


def is_public(endpoint: str | None) -> bool:
    """Whether ``endpoint`` is served without a login."""
    return endpoint is not None and (endpoint in PUBLIC or endpoint.endswith(PUBLIC_SUFFIXES))


def _same_origin() -> bool:
    """No ``Origin`` header (scripts), or the same host and port as this server (the scheme is
    not compared: behind a TLS proxy the server itself sees plain HTTP). Behind a proxy that
    does not pass the client's ``Host``, the host is its ``X-Forwarded-Host``, trusted with
    ``BORDERWATCH_PROXY_HOPS`` (``dashboard.app``)."""
    origin = flask.request.headers.get("Origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc.lower() == flask.request.host.lower()


def _expired() -> bool:
    started = flask.session.get(LOGIN_AT)
    lifetime = gateway.current().settings.session_lifetime_min * 60
    return not isinstance(started, int) or time.time() - started > lifetime


def make_gate(pages: Collection[str]):  # type: ignore[no-untyped-def]
    """The ``before_request`` function; ``pages`` are the endpoints that serve HTML pages."""

    def gate() -> Response | None:
        request = flask.request
        if request.method not in ("GET", "HEAD", "OPTIONS") and not _same_origin():
            return error_response(403, "Requests from another site are refused.")
        if is_public(request.endpoint):
            return None
        user = current_user
        if user.is_authenticated and not user.via_token and _expired():
            logout_user()
            flask.session.clear()
            user = current_user
        if user.is_authenticated:
            flask.g.setdefault(gateway.REQUEST_SCOPE, user.scope)
            return None
        if request.endpoint in pages and request.method in ("GET", "HEAD"):
            target = request.full_path if request.query_string else request.path
            return flask.redirect(f"{flask.url_for('login')}?next={quote(target, safe='/')}", code=302)
        response = error_response(401, "Please log in.")
        response.headers["WWW-Authenticate"] = 'Bearer realm="borderwatch"'
        return response

    return gate
