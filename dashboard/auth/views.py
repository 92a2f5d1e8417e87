"""``/login`` (the page and a plain form POST) and ``/logout``.

``POST /login`` takes the form fields ``username`` and ``password`` (and ``next``, where to go
after), so scripts and tests log in without a browser::

    curl -c jar -d username=ana -d password=... http://127.0.0.1:8050/login

No CSRF token: a cross-site form post is refused by its ``Origin`` header (the gate checks it
on every POST), and the session cookie is ``SameSite=Lax``.
"""

from __future__ import annotations

import time

import dash
import flask
from flask_login import current_user, login_user, logout_user
from markupsafe import Markup, escape
from werkzeug.wrappers import Response

from dashboard.auth.users import User
from dashboard.errors import error_response
from dashboard.guard import Param, query_args
from dashboard.queries import gateway
from etl.warehouse import accounts, audit

#: Session key holding the time of the login (seconds since the epoch): the lifetime counts from it.
LOGIN_AT = "bw_login_at"
MAX_FIELD = 1024

MESSAGES = {
    "bad": (401, "Wrong user name or password."),
    "locked": (429, "Too many failed logins for this account: it is locked for a while. "
                    "Try again in {minutes} min, or ask an administrator to set a new password."),
    "limited": (429, "Too many failed logins from your network address. Try again in {minutes} min."),
    "disabled": (403, "This account is disabled. Ask an administrator."),
}

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Log in · borderwatch</title>
<link rel="icon" type="image/x-icon" href="{icon}">
<style>
body{{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;background:#eef2f6;color:#1d2b3a}}
main{{max-width:22rem;margin:12vh auto;background:#fff;padding:2rem 2.2rem;border-radius:8px;
box-shadow:0 2px 12px rgba(20,40,60,.12)}}
h1{{margin:0 0 .2rem;font-size:1.5rem;color:#33475b}}
p.lead{{margin:0 0 1.4rem;color:#5a6b7c}}
label{{display:block;margin:.8rem 0 .25rem;font-weight:600}}
input{{box-sizing:border-box;width:100%;padding:.5rem .6rem;border:1px solid #b9c4cf;
border-radius:4px;font:inherit}}
button{{margin-top:1.3rem;width:100%;padding:.6rem;border:0;border-radius:4px;background:#33475b;color:#fff;
font:inherit;font-weight:600;cursor:pointer}}
.bw-login-error{{margin:1rem 0 0;padding:.5rem .7rem;background:#fde8e8;border-left:4px solid #b42318;
color:#7a1b12}}
.bw-login-note{{margin:1rem 0 0;color:#5a6b7c;font-size:.85rem}}
</style></head>
<body class="bw-login"><main>
<h1>borderwatch</h1>
<p class="lead">Border situation picture · please log in</p>
<form method="post" action="{action}" id="bw-login-form">
<input type="hidden" name="next" value="{next}">
<label for="username">User name</label>
<input id="username" name="username" value="{username}" autocomplete="username" required autofocus
 maxlength="64">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required
 maxlength="1024">
{message}
<button type="submit" id="bw-login-submit">Log in</button>
</form>
<p class="bw-login-note">Incident reports are shared between services under agreements: what you see
follows your role. Logins are recorded.</p>
</main></body></html>"""


def safe_next(target: str | None) -> str:
    """``target`` if it is a path on this site (``/...``, not ``//host``), else ``/``."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    if any(ord(ch) < 32 for ch in target):
        return "/"
    return target[:2000]


#: ``GET /login?next=/path``: where to go after logging in (the gate sends visitors with it).
NEXT = Param(safe_next, "/", "where to go after logging in: a path on this site")


def _page(next_url: str, username: str = "", message: str | None = None, status: int = 200
          ) -> Response:
    block = Markup(f'<p class="bw-login-error" role="alert">{escape(message)}</p>') if message else ""
    # the app's favicon (public): without it the browser asks for /favicon.ico, an unknown page
    html = PAGE.format(action=escape(flask.url_for("login")), next=escape(next_url),
                       icon=escape(dash.get_relative_path("/_favicon.ico")),
                       username=escape(username), message=block)
    response = flask.make_response(html, status)
    response.headers["Content-Type"] = "text/html; charset=utf-8"
    response.headers["Cache-Control"] = "no-store"
    return response


def _wants_json() -> bool:
    accept = flask.request.accept_mimetypes
    return accept.best_match(["text/html", "application/json"]) == "application/json"


@query_args(next=NEXT)
def login_page(next: str) -> Response:  # noqa: A002  (the query parameter's name)
    """``GET /login``: the form (a logged-in user goes straight on)."""
    next_url = next
    if current_user.is_authenticated:
        return flask.redirect(next_url)
    return _page(next_url)


@query_args()  # the fields come in the form body
def login_post() -> Response:
    """``POST /login``: check the name and password, count failures, start a session."""
    form = flask.request.form
    username = (form.get("username") or "")[:MAX_FIELD]
    password = (form.get("password") or "")[:MAX_FIELD]
    next_url = safe_next(form.get("next"))
    warehouse = gateway.current()
    settings = warehouse.settings
    policy = accounts.Policy(lockout_failures=settings.login_lockout_failures,
                             lockout_min=settings.login_lockout_min,
                             address_failures=settings.login_address_failures)
    result = accounts.authenticate(warehouse.accounts, username, password, client_address(), policy)
    if result.outcome != "ok" or result.user is None:
        status, text = MESSAGES.get(result.outcome, MESSAGES["bad"])
        text = text.format(minutes=max(1, (result.retry_after_s + 59) // 60))
        response = (error_response(status, text) if _wants_json()
                    else _page(next_url, username[:64], text, status))
        if result.retry_after_s:
            response.headers["Retry-After"] = str(result.retry_after_s)
        return response
    flask.session.clear()
    login_user(User(result.user))
    flask.session.permanent = True
    flask.session[LOGIN_AT] = int(time.time())
    if _wants_json():
        return flask.jsonify({"user": result.user.username, "role": result.user.role,
                              "country": result.user.country})
    return flask.redirect(next_url, code=303)


@query_args()
def logout() -> Response:
    """``POST /logout``: end the session (recorded), back to the login page."""
    if current_user.is_authenticated:
        actor = audit.Actor(name=current_user.name, role=current_user.role, address=client_address())
        audit.record(gateway.current().accounts, actor, "logout")
    logout_user()
    flask.session.clear()
    return flask.redirect(flask.url_for("login"), code=303)


def client_address() -> str:
    """The client's network address as this server sees it."""
    return (flask.request.remote_addr or "unknown")[:100]


def register(server: flask.Flask) -> None:
    """Mount ``/login`` and ``/logout``."""
    server.add_url_rule("/login", "login", login_page, methods=["GET"])
    server.add_url_rule("/login", "login_post", login_post, methods=["POST"])
    server.add_url_rule("/logout", "logout", logout, methods=["POST"])
