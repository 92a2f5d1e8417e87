"""The audit log: who did what, when and from where (append-only; see migration 0004).

Written by logins (success and failure), exports, briefings, impact-level loads and user
changes, from the dashboard and from the CLI. The table refuses UPDATE, DELETE and TRUNCATE
(a trigger), so the application can only add to it. Read by the admin page and
``borderwatch audit``.
"""

from __future__ import annotations

import getpass
import socket
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select

from etl.warehouse.schema import audit_log

#: Longest text kept in one field (an over-long value is cut, never refused).
MAX_FIELD = 500


@dataclass(frozen=True)
class Actor:
    """Who acts: a user (name, role) from a network address, or a command on a host."""

    name: str
    role: str | None = None
    address: str | None = None

    @classmethod
    def system(cls) -> Actor:
        """The operating-system user running a ``borderwatch`` command, on this host."""
        try:
            who = getpass.getuser()
        except (KeyError, OSError):
            who = "unknown"
        return cls(name=f"cli:{who}", address=socket.gethostname())

    def as_role(self, role: str | None) -> Actor:
        """The same actor, with ``role``."""
        return replace(self, role=role)


def _cut(value: str | None) -> str | None:
    return None if value is None else value[:MAX_FIELD]


def append(conn: Connection, actor: Actor, action: str, *, target: str | None = None,
           detail: dict[str, Any] | None = None) -> None:
    """Add one entry in the caller's transaction."""
    conn.execute(insert(audit_log).values(
        actor=_cut(actor.name) or "?", role=actor.role, address=_cut(actor.address), action=action[:40],
        target=_cut(target), detail=detail or {},
    ))


def record(engine: Engine, actor: Actor, action: str, *, target: str | None = None,
           detail: dict[str, Any] | None = None) -> None:
    """Add one entry in its own transaction."""
    with engine.begin() as conn:
        append(conn, actor, action, target=target, detail=detail)


def entries(engine: Engine, *, since: datetime | None = None, actor: str | None = None,
            action: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    """Entries, newest first: since a time, of one actor, of one action, at most ``limit``."""
    stmt = select(audit_log).order_by(audit_log.c.at.desc(), audit_log.c.audit_id.desc())
    if since is not None:
        stmt = stmt.where(audit_log.c.at >= since)
    if actor:
        stmt = stmt.where(audit_log.c.actor == actor.strip().lower())
    if action:
        stmt = stmt.where(audit_log.c.action == action)
    if limit is not None:
        stmt = stmt.limit(limit)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(stmt).mappings()]
