"""One error hierarchy. ``user_message`` is safe to show; details go to the log only."""

from __future__ import annotations


class BorderwatchError(Exception):
    """Base of every error borderwatch raises on purpose.

    Parameters
    ----------
    user_message
        Text safe to show a user: no stack trace, no connection URL, no password.
    detail
        Optional technical detail for the log.
    """

    exit_code = 1

    def __init__(self, user_message: str, detail: str | None = None) -> None:
        super().__init__(user_message)
        self.user_message = user_message
        self.detail = detail


class ConfigurationError(BorderwatchError):
    """A setting is missing or wrong."""

    exit_code = 2


class DatabaseUnavailable(BorderwatchError):
    """The warehouse cannot be reached or started."""


class PostgisMissing(DatabaseUnavailable):
    """PostgreSQL server binaries or the PostGIS extension are not installed."""


class LoadError(BorderwatchError):
    """A load failed as a whole; nothing was written."""


class InputFileError(LoadError):
    """An input file cannot be read at all (missing, wrong format, no usable columns)."""

    exit_code = 2


class LoadBusy(LoadError):
    """Another load holds the warehouse lock."""


class QueryError(BorderwatchError):
    """A dashboard query failed or timed out."""


class AccessDenied(BorderwatchError):
    """The user may not see or do this (HTTP 403)."""

    http_status = 403


class NotLoggedIn(AccessDenied):
    """Nobody is logged in, or the session or token is no longer valid (HTTP 401)."""

    http_status = 401
