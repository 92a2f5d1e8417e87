"""The one gateway of dashboard queries: read-only, time-limited, with safe errors.

The read engine (``get_engine(settings, read_only=True)``) carries ``statement_timeout_ms``; a
query that exceeds it becomes a :class:`~etl.errors.QueryError` whose message can be shown on
the page. The engine lives on the Flask server (``server.extensions``), never in a module global.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import flask
import psycopg.errors
from sqlalchemy import Connection, Engine, Executable, RowMapping, text
from sqlalchemy.exc import DBAPIError

from etl.errors import DatabaseUnavailable, QueryError
from etl.settings import Settings
from etl.warehouse.engine import connect, get_engine

log = logging.getLogger(__name__)

EXTENSION = "borderwatch"


@dataclass(frozen=True)
class Warehouse:
    """What the dashboard's callbacks and routes read from: the settings and the read engine."""

    settings: Settings
    engine: Engine


def attach(server: flask.Flask, settings: Settings) -> Warehouse:
    """Create the read engine for ``settings`` and keep it on ``server``."""
    warehouse = Warehouse(settings=settings, engine=get_engine(settings, read_only=True))
    server.extensions[EXTENSION] = warehouse
    return warehouse


def current() -> Warehouse:
    """The warehouse of the app serving the current request."""
    return flask.current_app.extensions[EXTENSION]  # type: ignore[no-any-return]


def fetch_all(engine: Engine, statement: Executable) -> Sequence[RowMapping]:
    """Run one read-only statement and return its rows as mappings.

    Raises
    ------
    QueryError
        The statement hit the time limit or failed; the message is safe to show.
    DatabaseUnavailable
        The warehouse cannot be reached.
    """
    with connect(engine) as conn:
        try:
            result = conn.execution_options(postgresql_readonly=True).execute(statement)
            rows = result.mappings().all()
        except DBAPIError as exc:
            raise _translate(exc) from exc
    return rows


def fetch_one(engine: Engine, statement: Executable) -> RowMapping | None:
    """The first row of a read-only statement, or None."""
    rows = fetch_all(engine, statement)
    return rows[0] if rows else None


class Reader:
    """Several read-only statements on one snapshot (see :func:`reading`)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def all(self, statement: Executable) -> Sequence[RowMapping]:
        """The rows of ``statement`` as mappings (errors as in :func:`fetch_all`)."""
        try:
            return self._conn.execute(statement).mappings().all()
        except DBAPIError as exc:
            raise _translate(exc) from exc

    def dicts(self, statement: Executable) -> list[dict[str, Any]]:
        """The rows of ``statement`` as plain dicts (cheaper than mappings for many rows)."""
        try:
            result = self._conn.execute(statement)
            keys = list(result.keys())
            return [dict(zip(keys, row, strict=True)) for row in result]
        except DBAPIError as exc:
            raise _translate(exc) from exc

    def one(self, statement: Executable) -> RowMapping | None:
        """The first row of ``statement``, or None."""
        rows = self.all(statement)
        return rows[0] if rows else None


@contextmanager
def reading(engine: Engine) -> Iterator[Reader]:
    """A read-only REPEATABLE READ transaction: every statement sees the same snapshot.

    For answers built from several statements (a summary and the rows it does not cover) that
    must agree even while a load commits. JIT compilation is off: these statements are short,
    and compiling them would cost more than it saves.

    Raises
    ------
    QueryError, DatabaseUnavailable
        As :func:`fetch_all`.
    """
    with connect(engine) as conn:
        snapshot = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        try:
            snapshot.execute(text("SET LOCAL jit = off"))
        except DBAPIError as exc:
            raise _translate(exc) from exc
        yield Reader(snapshot)
        snapshot.rollback()


#: Where a query function reads: the engine (one statement, its own connection) or a
#: :class:`Reader` (several statements of a callback on one snapshot and one connection).
Source = Engine | Reader


def rows_of(source: Source, statement: Executable) -> Sequence[RowMapping]:
    """The rows of ``statement`` from an engine or a reader (errors as :func:`fetch_all`)."""
    if isinstance(source, Reader):
        return source.all(statement)
    return fetch_all(source, statement)


def _translate(exc: DBAPIError) -> Exception:
    orig: Any = exc.orig
    if isinstance(orig, psycopg.errors.QueryCanceled):
        log.warning("dashboard query cancelled by the statement time limit: %s", exc.statement)
        return QueryError(
            "The query took too long and was stopped. Narrow the date range, pick fewer "
            "categories or zoom in, then try again.",
            detail=str(orig),
        )
    if exc.connection_invalidated or isinstance(orig, psycopg.OperationalError):
        log.error("dashboard query lost the database: %s", orig)
        return DatabaseUnavailable("The warehouse cannot be reached (check logs).", detail=str(orig))
    log.error("dashboard query failed: %s", orig)
    return QueryError("A query failed (check logs).", detail=str(orig))
