"""The logged-in user as Flask-Login sees it, and how a request finds its user.

A session cookie holds ``"<user_id>:<session_epoch>"`` (Flask-Login's *alternative id*): a
password change or a disable raises the epoch in ``app_user`` and every older session stops
loading. The role and country are not in the cookie: they are read with the user at every
request (a token's too), so ``borderwatch users set-role`` / ``set-country`` apply from the
user's next request without ending the session. An ``Authorization: Bearer <token>`` header
works on the data endpoints (``/api/``) only, and never creates a session.
"""

from __future__ import annotations

import flask
from flask_login import UserMixin

from dashboard.queries import gateway
from dashboard.queries.scope import Scope
from etl.warehouse import accounts
from etl.warehouse.accounts import UserRecord

#: Requests under this path may authenticate with an API token.
TOKEN_PREFIX = "/api/"


class User(UserMixin):  # type: ignore[misc]
    """A dashboard user (never holds a password or its hash)."""

    def __init__(self, record: UserRecord, via_token: bool = False) -> None:
        self.record = record
        self.via_token = via_token

    def get_id(self) -> str:
        """``user_id:session_epoch`` (what the session cookie stores)."""
        return f"{self.record.user_id}:{self.record.session_epoch}"

    @property
    def is_active(self) -> bool:
        return not self.record.disabled

    @property
    def name(self) -> str:
        return self.record.username

    @property
    def role(self) -> str:
        return self.record.role

    @property
    def scope(self) -> Scope:
        """What this user may see (handed to every query by the gateway)."""
        r = self.record
        return Scope(role=r.role, user=r.username, country=r.country, neighbours=r.neighbours)


def load_from_session(alternative_id: str) -> User | None:
    """Flask-Login's ``user_loader``: the user of a session, if it is still valid."""
    try:
        user_id, epoch = (int(part) for part in alternative_id.split(":"))
    except ValueError:
        return None
    record = accounts.load_user(gateway.current().accounts, user_id)
    if record is None or record.disabled or record.session_epoch != epoch:
        return None
    return User(record)


def load_from_request(request: flask.Request) -> User | None:
    """Flask-Login's ``request_loader``: the user of an ``Authorization: Bearer`` API token."""
    if not request.path.startswith(TOKEN_PREFIX):
        return None
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    record = accounts.token_user(gateway.current().accounts, token.strip())
    return User(record, via_token=True) if record else None
