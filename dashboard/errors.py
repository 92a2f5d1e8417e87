"""One error shape for every failure: a short safe message, never a stack trace or a URL.

HTTP errors and uncaught exceptions of the Flask server answer
``{"error": {"status": <code>, "message": <text>}}``; an exception in a Dash callback shows the
same message in the shell's alert region (``on_callback_error``). Details go to the log only.

A client's mistake (a :class:`ClientError`, or a 4xx HTTP error) is answered with its 4xx status
and logged as one line, without a traceback; only server faults (5xx) log a traceback.
"""

from __future__ import annotations

import logging
from http import HTTPStatus

import flask
from dash import set_props
from dash.exceptions import DependencyException, InvalidResourceError
from werkzeug.exceptions import HTTPException

from dashboard.components.shell import ALERT_ID, ALERT_TEXT_ID
from etl.errors import AccessDenied, BorderwatchError, DatabaseUnavailable

log = logging.getLogger(__name__)

GENERIC_MESSAGE = "Something went wrong on the server (check logs)."


class ClientError(BorderwatchError):
    """The request is wrong (the client's mistake, not the server's): answered with ``status``.

    Parameters
    ----------
    user_message
        Safe text for the answer: names the parameter or input, never echoes its value.
    detail
        What exactly was wrong, for the log line.
    status
        The 4xx HTTP status (400 unless said otherwise).
    """

    def __init__(self, user_message: str, detail: str | None = None, status: int = 400) -> None:
        super().__init__(user_message, detail)
        self.status = status


def user_message(exc: BaseException) -> str:
    """The text a user may see for ``exc``."""
    if isinstance(exc, BorderwatchError):
        return exc.user_message
    if isinstance(exc, HTTPException):
        return HTTPStatus(exc.code or 500).phrase + "."
    return GENERIC_MESSAGE


def status_of(exc: BaseException) -> int:
    """The HTTP status for ``exc``."""
    if isinstance(exc, ClientError):
        return exc.status
    if isinstance(exc, HTTPException):
        return exc.code or 500
    if isinstance(getattr(exc, "http_status", None), int):
        return int(exc.http_status)  # type: ignore[attr-defined]  # e.g. AccessDenied: 403
    if isinstance(exc, DatabaseUnavailable):
        return 503
    return 500


def error_response(status: int, message: str) -> flask.Response:
    """The one error shape, as a JSON response."""
    response = flask.jsonify({"error": {"status": status, "message": message}})
    response.status_code = status
    return response


def _request_line() -> str:
    request = flask.request
    return f"{request.method} {request.path}"[:300]


def _handle(exc: Exception) -> flask.Response:
    status = status_of(exc)
    detail = getattr(exc, "detail", None)
    if status >= 500:
        log.error(
            "request failed: %s %s",
            type(exc).__name__,
            detail or exc,
            exc_info=not isinstance(exc, HTTPException | BorderwatchError),
        )
    else:
        log.warning("refused %s: %d %s", _request_line(), status, detail or user_message(exc))
    return error_response(status, user_message(exc))


def _unknown_resource(exc: Exception) -> flask.Response:
    """A file under ``/_dash-component-suites/`` that Dash does not serve: 404, one log line."""
    first_line = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
    return _handle(ClientError("Not Found.", detail=first_line[:200], status=404))


def register(server: flask.Flask) -> None:
    """Install the error handlers on the Flask server."""
    server.register_error_handler(HTTPException, _handle)
    server.register_error_handler(Exception, _handle)
    # Dash raises these for unknown component-suite files (a 500 with a traceback otherwise).
    server.register_error_handler(DependencyException, _unknown_resource)
    server.register_error_handler(InvalidResourceError, _unknown_resource)


def on_callback_error(exc: Exception) -> None:
    """Dash ``on_error`` hook: log, and show the safe message in the alert region.

    A :class:`ClientError` (the request was wrong) or a refusal (``AccessDenied``: not logged
    in, or a role that may not) is raised again: it is answered with its 4xx status in the one
    error shape (by the Flask error handler), not as an alert.
    """
    if isinstance(exc, ClientError | AccessDenied):
        raise exc
    if isinstance(exc, BorderwatchError):
        log.warning("callback error: %s (%s)", exc.user_message, exc.detail)
    else:
        log.exception("callback failed", exc_info=exc)
    set_props(ALERT_TEXT_ID, {"children": user_message(exc)})
    set_props(ALERT_ID, {"hidden": False})
