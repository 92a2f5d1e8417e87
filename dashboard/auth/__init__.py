"""Access control of the dashboard: login, sessions, API tokens, the gate, the audit trail.

``install(server, settings, pages)`` wires it all onto the Flask server (``create_app`` calls it):

- Flask-Login sessions in a signed cookie (``bw_session``: HttpOnly, SameSite=Lax, Secure
  when the request came over HTTPS), lasting ``session_lifetime_min`` from the login;
- ``/login`` and ``/logout`` (:mod:`dashboard.auth.views`);
- the gate in front of every route (:mod:`dashboard.auth.gate`), which puts the user's
  :class:`~dashboard.queries.scope.Scope` where the gateway finds it;
- ``Authorization: Bearer`` API tokens on ``/api/`` (:mod:`dashboard.auth.users`).

Accounts live in the warehouse (``etl.warehouse.accounts``); users are managed with
``borderwatch users ...``. :func:`record` adds an audit entry for the current user (exports
and briefings call it).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import timedelta
from typing import Any

import flask
from flask.sessions import SecureCookieSessionInterface
from flask_login import LoginManager, current_user

from dashboard.auth import gate, users, views
from dashboard.auth.secret import secret_key
from dashboard.queries import gateway
from etl.settings import Settings
from etl.warehouse import accounts, audit

COOKIE = "bw_session"


class _SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, Secure whenever the request itself came over HTTPS,
    and never a cookie for a request authenticated by an API token."""

    def get_cookie_secure(self, app: flask.Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"] or (flask.has_request_context()
                                                            and flask.request.is_secure))

    def should_set_cookie(self, app: flask.Flask, session: Any) -> bool:
        if flask.g.get("bw_token_request"):
            return False
        return bool(super().should_set_cookie(app, session))


def install(server: flask.Flask, settings: Settings, pages: Collection[str]) -> None:
    """Require a login on ``server`` (``pages``: the endpoints that serve the app's HTML)."""
    accounts.prepare_logins()
    server.secret_key = secret_key(settings)
    server.config.update(
        SESSION_COOKIE_NAME=COOKIE,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=settings.session_lifetime_min),
        SESSION_REFRESH_EACH_REQUEST=False,
        REMEMBER_COOKIE_DURATION=timedelta(seconds=0),
    )
    server.session_interface = _SessionInterface()
    manager = LoginManager()
    manager.session_protection = "basic"
    manager.user_loader(users.load_from_session)
    manager.request_loader(_token_loader)
    manager.init_app(server)
    views.register(server)
    server.before_request(gate.make_gate(frozenset(pages)))


def _token_loader(request: flask.Request) -> users.User | None:
    user = users.load_from_request(request)
    if user is not None:
        flask.g.bw_token_request = True
    return user


def actor() -> audit.Actor:
    """The current user (or ``anonymous``) and their address, for the audit log."""
    if current_user.is_authenticated:
        return audit.Actor(name=current_user.name, role=current_user.role, address=views.client_address())
    return audit.Actor(name="anonymous", address=views.client_address())


def record(action: str, *, target: str | None = None, detail: dict[str, Any] | None = None) -> None:
    """Add an audit entry for the current request's user: ``record("export", target="incidents.csv",
    detail={"rows": 120})``. Exports and briefings call it."""
    audit.record(gateway.current().accounts, actor(), action, target=target, detail=detail)
