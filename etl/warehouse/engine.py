"""One cached engine per URL; read sessions carry a statement time limit."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import psycopg
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import OperationalError

from etl.errors import DatabaseUnavailable
from etl.settings import Settings
from etl.warehouse.postgis import database_url

log = logging.getLogger(__name__)


@lru_cache(maxsize=8)
def engine_for_url(url: str, statement_timeout_ms: int | None = None,
                   application_name: str = "borderwatch") -> Engine:
    """A pooled engine (``pool_pre_ping``); with a time limit on every statement if given.

    Engines with another ``application_name`` are separate pools (and show apart in
    ``pg_stat_activity``).
    """
    connect_args: dict[str, object] = {"connect_timeout": 10, "application_name": application_name}
    if statement_timeout_ms:
        connect_args["options"] = f"-c statement_timeout={int(statement_timeout_ms)}"
    engine = create_engine(url, pool_pre_ping=True, pool_size=5, connect_args=connect_args)

    @event.listens_for(engine, "connect")
    def _utc_session(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        with dbapi_conn.cursor() as cur:
            cur.execute("SET TIME ZONE 'UTC'")
        dbapi_conn.commit()

    return engine


def get_engine(settings: Settings, *, read_only: bool = False, start: bool = True) -> Engine:
    """The warehouse engine. ``read_only`` engines carry ``statement_timeout_ms``."""
    url = database_url(settings, start=start)
    return engine_for_url(url, settings.statement_timeout_ms if read_only else None)


def get_accounts_engine(settings: Settings) -> Engine:
    """The dashboard's engine for its few writes (logins, audit; ``etl.warehouse.accounts``),
    apart from the read engine, with the same statement time limit."""
    return engine_for_url(database_url(settings), settings.statement_timeout_ms, "borderwatch-accounts")


@contextmanager
def connect(engine: Engine) -> Iterator[Connection]:
    """A connection; connection failures become ``DatabaseUnavailable`` with a safe message."""
    try:
        conn = engine.connect()
    except OperationalError as exc:
        log.error("database connection failed: %s", exc)
        raise DatabaseUnavailable("The warehouse cannot be reached (check logs).") from exc
    with conn:
        yield conn


def check_postgis(engine: Engine) -> str:
    """``postgis_full_version()`` of the warehouse."""
    with connect(engine) as conn:
        return str(conn.execute(text("SELECT postgis_full_version()")).scalar_one())


def side_connection(engine: Engine, application_name: str) -> tuple[Any, psycopg.Connection]:
    """A connection of its own for a load's side work (autocommit), taken from the engine's
    pool and detached from it: closing the first item really closes it."""
    pooled = engine.raw_connection()
    try:
        raw: psycopg.Connection = pooled.driver_connection  # type: ignore[assignment]
        pooled.detach()
        raw.rollback()
        raw.autocommit = True
        raw.execute("SELECT set_config('application_name', %s, false)", (application_name,))
        raw.execute("SET jit = off")  # a big lookup would spend longer compiling than running
    except BaseException:
        pooled.close()
        raise
    return pooled, raw


def driver_connection(conn: Connection) -> psycopg.Connection:
    """The psycopg connection under a SQLAlchemy one: what ETL statements run on (see
    ``etl.warehouse`` for the one way the ETL writes SQL)."""
    return conn.connection.driver_connection  # type: ignore[return-value]
