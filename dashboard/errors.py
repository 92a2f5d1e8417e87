"""One error shape for every failure: a short safe message, never a stack trace or a URL.

HTTP errors and uncaught exceptions of the Flask server answer
``{"error": {"status": <code>, "message": <text>}}``; an exception in a Dash callback shows the
same message in the shell's alert region (``on_callback_error``). Details go to the log only.
"""

from __future__ import annotations

import logging
from http import HTTPStatus

import flask
from dash import set_props
from werkzeug.exceptions import HTTPException

from dashboard.components.shell import ALERT_ID, ALERT_TEXT_ID
from etl.errors import BorderwatchError, DatabaseUnavailable

log = logging.getLogger(__name__)

GENERIC_MESSAGE = "Something went wrong on the server (check logs)."


def user_message(exc: BaseException) -> str:
    """The text a user may see for ``exc``."""
    if isinstance(exc, BorderwatchError):
        return exc.user_message
    if isinstance(exc, HTTPException):
        return HTTPStatus(exc.code or 500).phrase + "."
    return GENERIC_MESSAGE


def status_of(exc: BaseException) -> int:
    """The HTTP status for ``exc``."""
    if isinstance(exc, HTTPException):
        return exc.code or 500
    if isinstance(exc, DatabaseUnavailable):
        return 503
    return 500


def error_response(status: int, message: str) -> flask.Response:
    """The one error shape, as a JSON response."""
    response = flask.jsonify({"error": {"status": status, "message": message}})
    response.status_code = status
    return response


def _handle(exc: Exception) -> flask.Response:
    status = status_of(exc)
    if status >= 500:
        detail = getattr(exc, "detail", None)
        log.error(
            "request failed: %s %s",
            type(exc).__name__,
            detail or exc,
            exc_info=not isinstance(exc, HTTPException | BorderwatchError),
        )
    return error_response(status, user_message(exc))


def register(server: flask.Flask) -> None:
    """Install the error handler on the Flask server."""
    server.register_error_handler(HTTPException, _handle)
    server.register_error_handler(Exception, _handle)


def on_callback_error(exc: Exception) -> None:
    """Dash ``on_error`` hook: log, and show the safe message in the alert region."""
    if isinstance(exc, BorderwatchError):
        log.warning("callback error: %s (%s)", exc.user_message, exc.detail)
    else:
        log.exception("callback failed", exc_info=exc)
    set_props(ALERT_TEXT_ID, {"children": user_message(exc)})
    set_props(ALERT_ID, {"hidden": False})
