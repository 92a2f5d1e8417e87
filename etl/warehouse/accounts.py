"""Dashboard accounts: users and roles, passwords, API tokens and failed-login counters.

One of the few places the dashboard *writes* (with :mod:`etl.warehouse.audit`): a login updates
the failed-login counters, the last login time and the audit log. These functions open their
own short transactions on the engine they are given (the dashboard keeps a separate accounts
engine for them, see ``dashboard/queries/gateway.py``); the CLI (``borderwatch users``) uses the
same functions, so both sides apply the same rules.

Passwords are hashed with argon2id (argon2-cffi's default profile, RFC 9106 low memory); a
hash made with older parameters is replaced at the next successful login. API tokens are 256
random bits, shown once and stored as sha256 (a slow hash adds nothing to a random secret).
"""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Connection, Engine, and_, func, insert, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import OperationalError

from etl.errors import BorderwatchError, DatabaseUnavailable
from etl.warehouse import audit
from etl.warehouse.schema import ROLES, api_token, app_user, border_line, country, login_throttle

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")
MIN_PASSWORD = 10
MAX_PASSWORD = 1024
TOKEN_PREFIX = "bw_"

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the account does not exist, so that an unknown name takes as long
    (made on first use: an argon2 hash costs ~0.2 s, which every CLI command paid at import;
    the web app makes it at start, see ``prepare_logins``)."""
    return _hasher.hash("borderwatch-no-such-user")


def prepare_logins() -> None:
    """Make the hash an unknown name is checked against now, so that no login pays for it
    (the first unknown name would otherwise take ~0.2 s longer: a timing an attacker sees)."""
    _dummy_hash()


class AccountError(BorderwatchError):
    """A user-management request cannot be done (unknown user, bad role, weak password...)."""

    exit_code = 2


@dataclass(frozen=True)
class UserRecord:
    """A dashboard user as the application needs it (never the password hash).

    ``neighbours`` are the countries sharing a border line with ``country`` (for the
    national officer's ``bilateral`` rule).
    """

    user_id: int
    username: str
    role: str
    country: str | None
    disabled: bool
    session_epoch: int
    neighbours: tuple[str, ...] = ()
    last_login_at: datetime | None = None
    created_at: datetime | None = None


# -- validation -------------------------------------------------------------------------------


def normalise_username(name: str) -> str:
    """``name`` in lower case, checked: 2-64 of ``a-z 0-9 . _ @ -``, starting with a letter or digit."""
    cleaned = (name or "").strip().lower()
    if not USERNAME.match(cleaned):
        raise AccountError(
            f"Invalid user name {name!r}: use 2-64 characters a-z, 0-9, '.', '_', '@' or '-', "
            "starting with a letter or digit.")
    return cleaned


def check_password(password: str) -> None:
    """Refuse passwords that are too short or too long (with a message saying why)."""
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"The password is too short: use at least {MIN_PASSWORD} characters.")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"The password is too long (at most {MAX_PASSWORD} characters).")


def _check_role(role: str, country_code: str | None, conn: Connection) -> str | None:
    if role not in ROLES:
        raise AccountError(f"Unknown role {role!r}: choose one of {', '.join(ROLES)}.")
    if role != "national_officer":
        if country_code:
            raise AccountError("Only a national_officer has a country (--country).")
        return None
    if not country_code:
        raise AccountError("A national_officer needs the country of their service (--country XX).")
    code = country_code.strip().upper()
    if not re.match(r"^[A-Z]{2}$", code):
        raise AccountError(f"Invalid country {country_code!r}: give the ISO alpha-2 code (XK for Kosovo*).")
    known = conn.execute(select(func.count()).select_from(country)).scalar_one()
    if known and not conn.execute(select(country.c.iso2).where(country.c.iso2 == code)).first():
        raise AccountError(f"Unknown country {code!r}: it is not in the warehouse's reference data.")
    return code


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (checked first)."""
    check_password(password)
    return _hasher.hash(password)


# -- users ------------------------------------------------------------------------------------


@contextmanager
def _begin(engine: Engine) -> Iterator[Connection]:
    """A transaction; a warehouse that cannot be reached becomes ``DatabaseUnavailable``."""
    try:
        with engine.begin() as conn:
            yield conn
    except OperationalError as exc:
        raise DatabaseUnavailable("The warehouse cannot be reached (check logs).", detail=str(exc)) from exc


def _neighbours(code: str) -> Any:
    a = select(border_line.c.country_b.label("n")).where(border_line.c.country_a == code)
    b = select(border_line.c.country_a.label("n")).where(border_line.c.country_b == code)
    return a.union(b)


def _record(row: Any, neighbours: tuple[str, ...] = ()) -> UserRecord:
    return UserRecord(
        user_id=int(row["user_id"]), username=row["username"], role=row["role"], country=row["country"],
        disabled=bool(row["disabled"]), session_epoch=int(row["session_epoch"]), neighbours=neighbours,
        last_login_at=row["last_login_at"], created_at=row["created_at"],
    )


_USER_COLUMNS = (app_user.c.user_id, app_user.c.username, app_user.c.role, app_user.c.country,
                 app_user.c.disabled, app_user.c.session_epoch, app_user.c.last_login_at,
                 app_user.c.created_at)


def _with_neighbours(conn: Connection, row: Any) -> UserRecord:
    if row["country"] is None:
        return _record(row)
    found = conn.execute(_neighbours(row["country"])).scalars().all()
    return _record(row, tuple(sorted(str(n) for n in found)))


def load_user(engine: Engine, user_id: int) -> UserRecord | None:
    """The user with ``user_id`` and the neighbours of their country; None if unknown."""
    with _begin(engine) as conn:
        row = conn.execute(select(*_USER_COLUMNS).where(app_user.c.user_id == user_id)).mappings().first()
        return _with_neighbours(conn, row) if row else None


def find_user(engine: Engine, username: str) -> UserRecord | None:
    """The user named ``username`` (any case), or None."""
    name = (username or "").strip().lower()
    with _begin(engine) as conn:
        row = conn.execute(select(*_USER_COLUMNS).where(app_user.c.username == name)).mappings().first()
        return _with_neighbours(conn, row) if row else None


def list_users(engine: Engine) -> list[UserRecord]:
    """Every user, by name."""
    with _begin(engine) as conn:
        rows = conn.execute(select(*_USER_COLUMNS).order_by(app_user.c.username)).mappings().all()
        return [_record(r) for r in rows]


def count_users(engine: Engine) -> int:
    """How many users exist (disabled ones included)."""
    with _begin(engine) as conn:
        return int(conn.execute(select(func.count()).select_from(app_user)).scalar_one())


def add_user(engine: Engine, username: str, role: str, password: str, *, country_code: str | None = None,
             actor: audit.Actor | None = None, password_hash: str | None = None) -> UserRecord:
    """Create a user (``password_hash`` instead of ``password`` for a precomputed hash).

    Raises
    ------
    AccountError
        Invalid name, role, country or password, or the name is taken.
    """
    name = normalise_username(username)
    digest = password_hash or hash_password(password)
    with _begin(engine) as conn:
        code = _check_role(role, country_code, conn)
        if conn.execute(select(app_user.c.user_id).where(app_user.c.username == name)).first():
            raise AccountError(f"A user named {name!r} exists already.")
        conn.execute(insert(app_user).values(username=name, role=role, country=code, password_hash=digest))
        audit.append(conn, actor or audit.Actor.system(), "user_add", target=name,
                     detail={"role": role, "country": code})
    found = find_user(engine, name)
    assert found is not None
    return found


def _existing(conn: Connection, username: str) -> Any:
    name = (username or "").strip().lower()
    row = conn.execute(select(*_USER_COLUMNS).where(app_user.c.username == name).with_for_update()
                       ).mappings().first()
    if row is None:
        raise AccountError(f"No user named {username!r} (borderwatch users list shows them).")
    return row


def set_password(engine: Engine, username: str, password: str, *, actor: audit.Actor | None = None) -> None:
    """Give ``username`` a new password; their open sessions end and a lock is lifted."""
    digest = hash_password(password)
    with _begin(engine) as conn:
        row = _existing(conn, username)
        conn.execute(update(app_user).where(app_user.c.user_id == row["user_id"]).values(
            password_hash=digest, password_changed_at=func.now(), updated_at=func.now(),
            session_epoch=app_user.c.session_epoch + 1))
        conn.execute(update(login_throttle).where(login_throttle.c.key == _user_key(row["username"]))
                     .values(failures=0, locked_until=None))
        audit.append(conn, actor or audit.Actor.system(), "user_password", target=row["username"])


def set_disabled(engine: Engine, username: str, disabled: bool = True, *,
                 actor: audit.Actor | None = None) -> None:
    """Disable (or enable again) ``username``; disabling ends their sessions and tokens' use."""
    with _begin(engine) as conn:
        row = _existing(conn, username)
        conn.execute(update(app_user).where(app_user.c.user_id == row["user_id"]).values(
            disabled=disabled, updated_at=func.now(), session_epoch=app_user.c.session_epoch + 1))
        audit.append(conn, actor or audit.Actor.system(), "user_disable" if disabled else "user_enable",
                     target=row["username"])


@dataclass(frozen=True)
class RoleChange:
    """What :func:`set_role` did: the user's role and country before and after, and how many
    active API tokens they hold (which follow the new role)."""

    username: str
    role: str
    country: str | None
    was_role: str
    was_country: str | None
    active_tokens: int

    @property
    def changed(self) -> bool:
        return (self.role, self.country) != (self.was_role, self.was_country)


def set_role(engine: Engine, username: str, role: str | None, country_code: str | None = None, *,
             actor: audit.Actor | None = None) -> RoleChange:
    """Give ``username`` a new ``role`` and ``country_code`` (the same rules as :func:`add_user`:
    only a national officer has a country, and must have one); ``role=None`` keeps the role and
    changes the country. Recorded as ``user_role`` (nothing is written when nothing changes).

    Sessions stay open: a session and an API token load their user's role and country from
    this table at every request (``dashboard/auth/users.py``), so the next request of either is
    scoped to the new role, never to the old one.

    Raises
    ------
    AccountError
        Unknown user, role or country, or a country the role does not take.
    """
    with _begin(engine) as conn:
        row = _existing(conn, username)
        name = row["username"]
        if role is None and row["role"] != "national_officer":
            raise AccountError(
                f"{name} is {row['role']}, and only a national_officer has a country (to make them one: "
                f"borderwatch users set-role {name} national_officer --country CC).")
        new_role = row["role"] if role is None else role
        code = _check_role(new_role, country_code, conn)
        tokens = conn.execute(select(func.count()).select_from(api_token).where(
            api_token.c.user_id == row["user_id"], api_token.c.revoked_at.is_(None))).scalar_one()
        change = RoleChange(username=name, role=new_role, country=code, was_role=row["role"],
                            was_country=row["country"], active_tokens=int(tokens))
        if change.changed:
            conn.execute(update(app_user).where(app_user.c.user_id == row["user_id"]).values(
                role=new_role, country=code, updated_at=func.now()))
            audit.append(conn, actor or audit.Actor.system(), "user_role", target=name, detail={
                "role": new_role, "country": code, "previous_role": row["role"],
                "previous_country": row["country"]})
    return change


# -- logins -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    """The failed-login limits (from the settings ``login_*``)."""

    lockout_failures: int = 10
    lockout_min: int = 15
    address_failures: int = 30


@dataclass(frozen=True)
class LoginResult:
    """What a login attempt came to.

    ``outcome`` is ``ok``, ``bad`` (wrong name or password), ``locked`` (this account name
    failed too often in a row), ``limited`` (this address failed too often) or ``disabled``.
    ``retry_after_s`` says how long a ``locked`` or ``limited`` caller must wait.
    """

    outcome: str
    user: UserRecord | None = None
    retry_after_s: int = 0


def _user_key(name: str) -> str:
    return f"user:{name}"


def _counter(conn: Connection, key: str) -> Any:
    conn.execute(pg_insert(login_throttle).values(key=key).on_conflict_do_nothing())
    return conn.execute(
        select(login_throttle, func.now().label("now")).where(login_throttle.c.key == key).with_for_update()
    ).mappings().one()


def _wait(until: datetime, now: datetime) -> int:
    return max(1, int((until - now).total_seconds() + 0.999))


def authenticate(engine: Engine, username: str, password: str, address: str, policy: Policy) -> LoginResult:
    """Check a login and count it: per account name (known or not) and per network address.

    ``policy.lockout_failures`` failed logins in a row lock the account name for
    ``policy.lockout_min`` minutes (even the right password is refused meanwhile);
    ``policy.address_failures`` failures from one address within that many minutes make the
    address wait for the rest of the window. Every attempt is written to the audit log.
    """
    name = (username or "").strip().lower()[:64]
    window = timedelta(minutes=policy.lockout_min)
    with _begin(engine) as conn:
        addr = _counter(conn, f"addr:{address}")
        acct = _counter(conn, _user_key(name))
        now = addr["now"]
        who = audit.Actor(name=name or "(empty)", address=address)
        if acct["locked_until"] is not None and acct["locked_until"] > now:
            audit.append(conn, who, "login_refused", detail={"reason": "account locked"})
            return LoginResult("locked", retry_after_s=_wait(acct["locked_until"], now))
        addr_failures = 0 if now - addr["window_start"] > window else int(addr["failures"])
        if addr_failures >= policy.address_failures:
            audit.append(conn, who, "login_refused", detail={"reason": "address limited"})
            return LoginResult("limited", retry_after_s=_wait(addr["window_start"] + window, now))
        row = conn.execute(select(*_USER_COLUMNS, app_user.c.password_hash)
                           .where(app_user.c.username == name)).mappings().first()
        good = _verify(row["password_hash"] if row else _dummy_hash(), password) and row is not None
        if not good:
            failures = int(acct["failures"]) + 1
            locked = failures >= policy.lockout_failures
            conn.execute(update(login_throttle).where(login_throttle.c.key == acct["key"]).values(
                failures=0 if locked else failures, locked_until=now + window if locked else None))
            conn.execute(update(login_throttle).where(login_throttle.c.key == addr["key"]).values(
                failures=addr_failures + 1,
                window_start=addr["window_start"] if addr_failures else now))
            audit.append(conn, who.as_role(row["role"] if row else None), "login_failed",
                         detail={"failures_in_a_row": failures, **({"locked": True} if locked else {})})
            return LoginResult("bad")
        assert row is not None
        who = who.as_role(row["role"])
        if row["disabled"]:
            audit.append(conn, who, "login_refused", detail={"reason": "disabled"})
            return LoginResult("disabled")
        conn.execute(update(login_throttle).where(login_throttle.c.key == acct["key"])
                     .values(failures=0, locked_until=None))
        values: dict[str, Any] = {"last_login_at": now}
        if _hasher.check_needs_rehash(row["password_hash"]):
            values["password_hash"] = _hasher.hash(password)
        conn.execute(update(app_user).where(app_user.c.user_id == row["user_id"]).values(**values))
        audit.append(conn, who, "login")
        user = _with_neighbours(conn, row)
    return LoginResult("ok", user=user)


def _verify(digest: str, password: str) -> bool:
    try:
        return bool(_hasher.verify(digest, password[:MAX_PASSWORD]))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# -- API tokens -------------------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(engine: Engine, username: str, label: str | None = None, *,
                 actor: audit.Actor | None = None) -> tuple[int, str]:
    """A new API token for ``username``: ``(token_id, token)``. The token is shown only now."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with _begin(engine) as conn:
        row = _existing(conn, username)
        if row["disabled"]:
            raise AccountError(f"User {row['username']!r} is disabled; enable them first.")
        token_id = conn.execute(insert(api_token).values(
            user_id=row["user_id"], prefix=token[:10], token_hash=_token_hash(token), label=label,
        ).returning(api_token.c.token_id)).scalar_one()
        audit.append(conn, actor or audit.Actor.system(), "token_create", target=row["username"],
                     detail={"token_id": int(token_id), "label": label})
    return int(token_id), token


def token_user(engine: Engine, token: str) -> UserRecord | None:
    """The (enabled) user an unrevoked API token belongs to, or None; notes its use."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    with _begin(engine) as conn:
        found = conn.execute(
            select(api_token.c.token_id, *_USER_COLUMNS)
            .join(app_user, app_user.c.user_id == api_token.c.user_id)
            .where(api_token.c.token_hash == _token_hash(token), api_token.c.revoked_at.is_(None),
                   app_user.c.disabled.is_(False))
        ).mappings().first()
        if found is None:
            return None
        conn.execute(update(api_token).where(
            api_token.c.token_id == found["token_id"],
            or_(api_token.c.last_used_at.is_(None),
                api_token.c.last_used_at < func.now() - text("interval '1 minute'")),
        ).values(last_used_at=func.now()))
        return _with_neighbours(conn, found)


def list_tokens(engine: Engine, username: str | None = None) -> list[dict[str, Any]]:
    """Tokens (never their value): id, user, prefix, label, created, last used, revoked."""
    stmt = (select(api_token.c.token_id, app_user.c.username, api_token.c.prefix, api_token.c.label,
                   api_token.c.created_at, api_token.c.last_used_at, api_token.c.revoked_at)
            .join(app_user, app_user.c.user_id == api_token.c.user_id).order_by(api_token.c.token_id))
    if username:
        stmt = stmt.where(app_user.c.username == username.strip().lower())
    with _begin(engine) as conn:
        return [dict(r) for r in conn.execute(stmt).mappings()]


def revoke_token(engine: Engine, token_id: int, *, actor: audit.Actor | None = None) -> None:
    """Revoke a token by id (it stops working at once)."""
    with _begin(engine) as conn:
        row = conn.execute(
            update(api_token).where(and_(api_token.c.token_id == token_id, api_token.c.revoked_at.is_(None)))
            .values(revoked_at=func.now()).returning(api_token.c.user_id)).first()
        if row is None:
            raise AccountError(f"No active token with id {token_id} (borderwatch users tokens lists them).")
        name = conn.execute(select(app_user.c.username).where(app_user.c.user_id == row[0])).scalar_one()
        audit.append(conn, actor or audit.Actor.system(), "token_revoke", target=name,
                     detail={"token_id": token_id})
