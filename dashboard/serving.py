"""How gunicorn serves the dashboard: its settings and a worker that answers in the one error shape.

``borderwatch serve`` (also the image's command) applies :data:`OPTIONS`; plain gunicorn reads
the same names with ``gunicorn -c python:dashboard.serving dashboard.wsgi:server``.

gunicorn refuses some requests before the application sees them (a request line over
``limit_request_line``, too many or too large headers, a malformed request line) and answers
with an HTML page of its own. :class:`Worker` answers them in the dashboard's JSON error shape
``{"error": {"status": ..., "message": ...}}`` instead, with one log line.
"""

from __future__ import annotations

import json
from typing import Any

from gunicorn.http import errors as http_errors
from gunicorn.util import write_nonblock
from gunicorn.workers.gthread import ThreadWorker

#: gunicorn's largest request line (the URL with its query). Beyond the dashboard's own limit
#: (``dashboard.guard.MAX_QUERY_BYTES``), so the application refuses long links itself.
LIMIT_REQUEST_LINE = 8190
#: Seconds a worker may be silent before the arbiter restarts it. Every query has its own
#: limit (``BORDERWATCH_STATEMENT_TIMEOUT_MS``) and every input a range, so no request should
#: come near it.
TIMEOUT_S = 60

#: gunicorn trusts nobody's forwarding headers: by default it takes ``X-Forwarded-Proto`` (and
#: ``-Ssl``, ``-Protocol``) as the scheme of any request from 127.0.0.1, proxy or not. Whether
#: a proxy is there, and how many, is the dashboard's setting ``BORDERWATCH_PROXY_HOPS``
#: (``dashboard.app``), which reads the headers itself.
FORWARDED_ALLOW_IPS = ""

#: gunicorn configuration names and values (also readable as ``-c python:dashboard.serving``).
OPTIONS: dict[str, Any] = {
    "worker_class": "dashboard.serving.Worker",
    "limit_request_line": LIMIT_REQUEST_LINE,
    "timeout": TIMEOUT_S,
    "forwarded_allow_ips": FORWARDED_ALLOW_IPS,
    "secure_scheme_headers": {},
}
worker_class = OPTIONS["worker_class"]
limit_request_line = LIMIT_REQUEST_LINE
timeout = TIMEOUT_S
forwarded_allow_ips = FORWARDED_ALLOW_IPS
secure_scheme_headers: dict[str, str] = {}

_STATUS: tuple[tuple[type[Exception], int, str], ...] = (
    (http_errors.LimitRequestLine, 414, "URI Too Long."),
    (http_errors.LimitRequestHeaders, 431, "Request Header Fields Too Large."),
    (http_errors.ForbiddenProxyRequest, 403, "Forbidden."),
    (http_errors.UnsupportedTransferCoding, 501, "Not Implemented."),
    (http_errors.ExpectationFailed, 417, "Expectation Failed."),
)
_SERVER_FAULTS = (http_errors.InvalidResponseHeader, http_errors.InvalidResponseHeaderName,
                  http_errors.ConfigurationProblem)


def refusal(exc: BaseException) -> tuple[int, str] | None:
    """Status and message for a request gunicorn refuses while parsing it (None: not one)."""
    if not isinstance(exc, http_errors.ParseException) or isinstance(exc, _SERVER_FAULTS):
        return None
    for kind, status, message in _STATUS:
        if isinstance(exc, kind):
            return status, message
    return 400, "Bad Request."


def error_bytes(status: int, message: str) -> bytes:
    """A complete HTTP response carrying the one error shape (the connection then closes)."""
    body = json.dumps({"error": {"status": status, "message": message}}).encode()
    head = (f"HTTP/1.1 {status} {message.rstrip('.')}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            "X-Content-Type-Options: nosniff\r\n\r\n")
    return head.encode("latin-1") + body


class Worker(ThreadWorker):  # type: ignore[misc]
    """gunicorn's threaded worker, answering refused requests in the JSON error shape."""

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        refused = refusal(exc)
        if refused is None:
            super().handle_error(req, client, addr, exc)
            return
        status, message = refused
        ip = addr[0] if isinstance(addr, tuple | list) and addr else ""
        self.log.warning("refused request from ip=%s: %d %s", ip, status, str(exc)[:200])
        try:
            write_nonblock(client, error_bytes(status, message))
        except OSError:
            self.log.debug("could not send the refusal")
