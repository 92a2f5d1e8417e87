"""The one gateway of dashboard queries: read-only, time-limited, scoped, with safe errors.

How to write a query (``dashboard/queries/<family>.py``)
-------------------------------------------------------
A query is a function taking the read engine (``gateway.current().engine``) and plain
arguments; it builds SQLAlchemy Core statements and runs them with :func:`fetch_all`,
:func:`fetch_one` or, for several statements on one snapshot, :func:`reading`. Callbacks and
routes never open a connection.

The user's scope
----------------
Every statement that reads ``incident`` or a table computed from it (``SCOPED_TABLES``: the
rollup, the hotspot cells and counts, the suggested impact levels) must say what it may show of
them, with one of the two conditions of the current :class:`~dashboard.queries.scope.Scope`::

    s = gateway.scope()
    # single incidents (points, feed, details, lists, exports): only those the user may see
    select(incident.c.id, ...).where(*filters, s.detail)
    # an aggregate over every incident (counts per cell, per day, per country...)
    select(func.count()).select_from(incident).where(*filters, s.everything)

The gateway refuses (``ScopeMissing``) a statement on those tables that carries neither, so
a query cannot forget the scope: an admin's test of a new query fails at once. ``everything``
is a promise the query keeps: the rows it returns are counts at the aggregate's own position
(a grid or H3 cell), never an incident's id, text, time or coordinates, nor a mean or a box of
coordinates (a cluster of one incident at the mean of its points *is* the point).
``s.restricted`` says whether some incidents are hidden from this user (national officer,
forum viewer); ``s.can("incidents.export")`` and :func:`require` check what a role may do.

:func:`scope` is the logged-in user's scope inside a request (set by ``dashboard.auth``), or the
one given with ``with gateway.scoped(Scope...):`` outside requests (commands, the briefing, tests).
With neither it raises, so nothing runs unscoped.

The read engine (``get_engine(settings, read_only=True)``) carries ``statement_timeout_ms``; a
query that exceeds it becomes a :class:`~etl.errors.QueryError` whose message can be shown on
the page. The engines live on the Flask server (``server.extensions``), never in a module
global: ``engine`` for reads, ``accounts`` for the deliberate writes of logins and the audit log
(``etl.warehouse.accounts`` / ``audit``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import flask
import psycopg.errors
from sqlalchemy import BindParameter, Connection, Engine, Executable, RowMapping, TableClause, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import TextClause

from dashboard.queries.scope import MARKER, Scope
from etl.errors import AccessDenied, DatabaseUnavailable, NotLoggedIn, QueryError
from etl.settings import Settings
from etl.warehouse.engine import connect, get_accounts_engine, get_engine

log = logging.getLogger(__name__)

EXTENSION = "borderwatch"
#: Attribute of ``flask.g`` holding the request's scope (set by ``dashboard.auth``).
REQUEST_SCOPE = "bw_scope"
#: Tables whose statements must carry a scope condition: the incidents and every table computed
#: from them (the map's rollup, the hotspot count cube and cells, the suggested impact levels).
SCOPED_TABLES = frozenset({"incident", "incident_rollup", "hotspot_count", "hotspot_cell",
                           "section_impact_suggestion"})
_SCOPED_WORD = re.compile(r"\b(" + "|".join(sorted(SCOPED_TABLES)) + r")\b", re.I)

_outside_requests: ContextVar[Scope | None] = ContextVar("borderwatch_scope", default=None)


class ScopeMissing(RuntimeError):
    """A statement reads incidents without ``scope.detail`` or ``scope.everything`` (a bug)."""


@dataclass(frozen=True)
class Warehouse:
    """What the dashboard's callbacks and routes read from: the settings and the engines.

    ``engine`` reads (read-only transactions, time limit); ``accounts`` is only for
    ``etl.warehouse.accounts`` and ``etl.warehouse.audit`` (logins, tokens, the audit log).
    """

    settings: Settings
    engine: Engine
    accounts: Engine


def attach(server: flask.Flask, settings: Settings) -> Warehouse:
    """Create the engines for ``settings`` and keep them on ``server``."""
    warehouse = Warehouse(settings=settings, engine=get_engine(settings, read_only=True),
                          accounts=get_accounts_engine(settings))
    server.extensions[EXTENSION] = warehouse
    return warehouse


def current() -> Warehouse:
    """The warehouse of the app serving the current request."""
    return flask.current_app.extensions[EXTENSION]  # type: ignore[no-any-return]


# -- the user's scope -----------------------------------------------------------------------


def scope() -> Scope:
    """The scope of the current request's user, or the one set by :func:`scoped` outside requests.

    Raises
    ------
    NotLoggedIn
        In a request that has no logged-in user (the login gate answers such requests first).
    ScopeMissing
        Outside a request, when no :func:`scoped` block is active.
    """
    if flask.has_request_context():
        found = flask.g.get(REQUEST_SCOPE)
        if found is None:
            raise NotLoggedIn("Please log in.")
        return found  # type: ignore[no-any-return]
    given = _outside_requests.get()
    if given is None:
        raise ScopeMissing("no user scope: outside a request, run queries inside "
                           "`with gateway.scoped(Scope(...)):`")
    return given


@contextmanager
def scoped(given: Scope) -> Iterator[Scope]:
    """Run the queries of this block, outside a request, with ``given`` (commands, tests)."""
    token = _outside_requests.set(given)
    try:
        yield given
    finally:
        _outside_requests.reset(token)


def require(capability: str) -> Scope:
    """The current scope if it may do ``capability``; otherwise ``AccessDenied`` (HTTP 403)."""
    current_scope = scope()
    if not current_scope.can(capability):
        raise AccessDenied("Your role does not allow this.")
    return current_scope


def check_scope(statement: Executable) -> None:
    """Refuse a statement that reads a table of ``SCOPED_TABLES`` without a scope condition.

    Raises
    ------
    ScopeMissing
        The statement names such a table and contains neither ``scope().detail`` nor
        ``scope().everything``.
    """
    if isinstance(statement, TextClause):
        touches = bool(_SCOPED_WORD.search(statement.text))
        marked = any(k.startswith(MARKER) for k in statement._bindparams)
    else:
        touches = marked = False
        for element in visitors.iterate(statement):  # type: ignore[arg-type]
            if isinstance(element, TableClause) and element.name in SCOPED_TABLES:
                touches = True
            elif isinstance(element, BindParameter) and str(
                    getattr(element, "_orig_key", element.key)).startswith(MARKER):
                marked = True
            if touches and marked:
                return
    if touches and not marked:
        raise ScopeMissing(
            "a statement reads incidents without the user's scope: add gateway.scope().detail "
            "(single incidents) or gateway.scope().everything (aggregates) to its WHERE clause")


def fetch_all(engine: Engine, statement: Executable) -> Sequence[RowMapping]:
    """Run one read-only statement and return its rows as mappings.

    Raises
    ------
    QueryError
        The statement hit the time limit or failed; the message is safe to show.
    DatabaseUnavailable
        The warehouse cannot be reached.
    """
    check_scope(statement)
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
        check_scope(statement)
        try:
            return self._conn.execute(statement).mappings().all()
        except DBAPIError as exc:
            raise _translate(exc) from exc

    def dicts(self, statement: Executable) -> list[dict[str, Any]]:
        """The rows of ``statement`` as plain dicts (cheaper than mappings for many rows)."""
        check_scope(statement)
        try:
            result = self._conn.execute(statement)
            keys = list(result.keys())
            return [dict(zip(keys, row, strict=True)) for row in result]
        except DBAPIError as exc:
            raise _translate(exc) from exc

    def table(self, statement: Executable) -> tuple[list[str], list[tuple[Any, ...]]]:
        """The column names and the rows as plain tuples (cheapest for thousands of rows)."""
        try:
            result = self._conn.execute(statement)
            return list(result.keys()), [tuple(row) for row in result]
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
