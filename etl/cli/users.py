"""``borderwatch users ...`` (dashboard accounts and API tokens) and ``borderwatch audit``."""

from __future__ import annotations

import json
import re
import secrets
import sys
from datetime import UTC, datetime, timedelta

import click

from etl.cli.common import cli_group, safe, settings_from
from etl.warehouse import accounts, audit
from etl.warehouse.engine import get_engine
from etl.warehouse.schema import ROLES

#: ``borderwatch users demo``: one user per role (the officer serves Serbia, present in the demo).
DEMO_USERS = (("demo-admin", "admin", None), ("demo-analyst", "regional_analyst", None),
              ("demo-officer-rs", "national_officer", "RS"), ("demo-forum", "forum_viewer", None))


def _password(from_stdin: bool) -> str:
    """The new password: one line of stdin, or asked twice on a terminal."""
    if from_stdin:
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    if not sys.stdin.isatty():
        raise click.UsageError("not a terminal: pass the password on stdin with --password-stdin")
    value = click.prompt("Password", hide_input=True, confirmation_prompt="Repeat the password")
    return str(value)


@cli_group.group("users")
def users() -> None:
    """Dashboard users: add, list, set a password, a role or a country, disable; API tokens.

    Roles: admin (everything, users, audit log), regional_analyst (every incident),
    national_officer --country CC (own country's incidents and those shared with it; the
    rest as aggregates), forum_viewer (aggregates, benchmarks and the briefing only).
    """


@users.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(ROLES), help="What the user may see.")
@click.option("--country", default=None, help="ISO alpha-2 of a national officer's service (e.g. RS).")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@click.pass_context
@safe
def add(ctx: click.Context, name: str, role: str, country: str | None, password_stdin: bool) -> None:
    """Create user NAME (the password is asked twice on a terminal)."""
    engine = get_engine(settings_from(ctx))
    accounts.normalise_username(name)
    password = _password(password_stdin)
    user = accounts.add_user(engine, name, role, password, country_code=country)
    where = f" ({user.country})" if user.country else ""
    click.echo(f"added {user.username}: {user.role}{where}")


@users.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_context
@safe
def list_(ctx: click.Context, as_json: bool) -> None:
    """Every user: name, role, country, state, last login."""
    found = accounts.list_users(get_engine(settings_from(ctx)))
    if as_json:
        for u in found:
            click.echo(json.dumps({"username": u.username, "role": u.role, "country": u.country,
                                   "disabled": u.disabled, "last_login_at": u.last_login_at,
                                   "created_at": u.created_at}, default=str))
        return
    if not found:
        click.echo("no users yet: borderwatch users add NAME --role ROLE")
        return
    click.echo(f"{'user':<24} {'role':<18} {'country':<8} {'state':<9} last login (UTC)")
    for u in found:
        last = u.last_login_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if u.last_login_at else "never"
        state = "disabled" if u.disabled else "active"
        click.echo(f"{u.username:<24} {u.role:<18} {u.country or '-':<8} {state:<9} {last}")


@users.command("set-password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@click.pass_context
@safe
def set_password(ctx: click.Context, name: str, password_stdin: bool) -> None:
    """Give NAME a new password (their open sessions end; a lock is lifted)."""
    engine = get_engine(settings_from(ctx))
    if accounts.find_user(engine, name) is None:
        raise accounts.AccountError(f"No user named {name!r} (borderwatch users list shows them).")
    accounts.set_password(engine, name, _password(password_stdin))
    click.echo(f"password of {name.lower()} changed; their sessions have ended")


@users.command("disable")
@click.argument("name")
@click.pass_context
@safe
def disable(ctx: click.Context, name: str) -> None:
    """Disable NAME: no login, sessions and API tokens stop working at once."""
    _set_disabled(ctx, name, True)


@users.command("enable")
@click.argument("name")
@click.pass_context
@safe
def enable(ctx: click.Context, name: str) -> None:
    """Enable NAME again (a disabled user's tokens work again unless revoked)."""
    _set_disabled(ctx, name, False)


def _set_disabled(ctx: click.Context, name: str, disabled: bool) -> None:
    accounts.set_disabled(get_engine(settings_from(ctx)), name, disabled)
    click.echo(f"{name.lower()} {'disabled' if disabled else 'enabled'}")


@users.command("set-role")
@click.argument("name")
@click.argument("role", metavar="ROLE")
@click.option("--country", default=None,
              help="ISO alpha-2 of the service, required for national_officer (e.g. BA).")
@click.pass_context
@safe
def set_role(ctx: click.Context, name: str, role: str, country: str | None) -> None:
    """Give NAME another ROLE: admin, regional_analyst, national_officer (with --country) or
    forum_viewer.

    Takes effect at the user's next request: their sessions stay open with the new role, and
    their API tokens follow it (list them with 'users tokens NAME', end one with
    'users revoke-token ID').
    """
    _show(accounts.set_role(get_engine(settings_from(ctx)), name, role, country))


@users.command("set-country")
@click.argument("name")
@click.argument("country", metavar="CC")
@click.pass_context
@safe
def set_country(ctx: click.Context, name: str, country: str) -> None:
    """Move national officer NAME to the service of country CC (ISO alpha-2, XK for Kosovo*).

    Takes effect at the user's next request, for their sessions and API tokens alike.
    """
    _show(accounts.set_role(get_engine(settings_from(ctx)), name, None, country))


def _show(change: accounts.RoleChange) -> None:
    def where(country: str | None) -> str:
        return f" ({country})" if country else ""

    now = f"{change.role}{where(change.country)}"
    if not change.changed:
        click.echo(f"{change.username} is {now} already: nothing changed")
        return
    click.echo(f"{change.username}: {change.was_role}{where(change.was_country)} -> {now}, "
               "from their next request")
    if change.active_tokens:
        click.echo(f"their {change.active_tokens} active API token(s) follow the new role "
                   f"(borderwatch users tokens {change.username})")


@users.command("token")
@click.argument("name")
@click.option("--label", default=None, help="What the token is for (e.g. 'QGIS on laptop 12').")
@click.pass_context
@safe
def token(ctx: click.Context, name: str, label: str | None) -> None:
    """Create an API token for NAME and print it once (it is stored only as a hash).

    Use it as 'Authorization: Bearer TOKEN' on the data endpoints (/api/...): same role and
    scope as NAME. 'borderwatch users revoke-token ID' ends it.
    """
    token_id, value = accounts.create_token(get_engine(settings_from(ctx)), name, label)
    click.echo(value)
    click.echo(f"token {token_id} for {name.lower()}: shown only now, keep it secret", err=True)


@users.command("tokens")
@click.argument("name", required=False)
@click.pass_context
@safe
def tokens(ctx: click.Context, name: str | None) -> None:
    """List API tokens (of NAME): id, user, first characters, label, created, last used."""
    found = accounts.list_tokens(get_engine(settings_from(ctx)), name)
    if not found:
        click.echo("no tokens")
        return
    for t in found:
        state = "revoked" if t["revoked_at"] else "active"
        used = t["last_used_at"].strftime("%Y-%m-%d %H:%M") if t["last_used_at"] else "never used"
        click.echo(f"{t['token_id']:>5}  {t['username']:<20} {t['prefix']}…  {state:<8} "
                   f"{t['created_at']:%Y-%m-%d}  {used:<16} {t['label'] or ''}")


@users.command("revoke-token")
@click.argument("token_id", type=int)
@click.pass_context
@safe
def revoke_token(ctx: click.Context, token_id: int) -> None:
    """Revoke API token TOKEN_ID (see 'users tokens'); it stops working at once."""
    accounts.revoke_token(get_engine(settings_from(ctx)), token_id)
    click.echo(f"token {token_id} revoked")


@users.command("demo")
@click.option("--if-none", is_flag=True, help="Only when there is no user yet (make run).")
@click.pass_context
@safe
def demo(ctx: click.Context, if_none: bool) -> None:
    """Create one demo user per role with a random password, printed once."""
    engine = get_engine(settings_from(ctx))
    if if_none and accounts.count_users(engine):
        click.echo("dashboard users exist already (borderwatch users list)")
        return
    made = []
    for name, role, country_code in DEMO_USERS:
        if accounts.find_user(engine, name) is not None:
            raise accounts.AccountError(f"A user named {name!r} exists already.")
        password = secrets.token_urlsafe(12)
        accounts.add_user(engine, name, role, password, country_code=country_code)
        made.append((name, role + (f" ({country_code})" if country_code else ""), password))
    click.echo("Demo users of the dashboard (passwords are shown only now; note them):")
    for name, role, password in made:
        click.echo(f"  {name:<17} {password:<18} {role}")
    click.echo("Change one with: borderwatch users set-password NAME")


def _since(value: str) -> datetime:
    """``YYYY-MM-DD``, an ISO time, or ``<N>d`` / ``<N>h`` ago."""
    ago = re.fullmatch(r"(\d{1,5})([dh])", value.strip())
    if ago:
        n = int(ago.group(1))
        return datetime.now(UTC) - (timedelta(days=n) if ago.group(2) == "d" else timedelta(hours=n))
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise click.BadParameter(f"{value!r}: give a date (2026-05-01), a time or 7d / 12h") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@cli_group.command("audit")
@click.option("--since", default=None, help="From this date or time (2026-05-01, 7d, 12h).")
@click.option("--user", "user", default=None, help="Only what this user did (cli:<name> for commands).")
@click.option("--action", default=None, help="Only this action (login, login_failed, export, ...).")
@click.option("--limit", default=200, show_default=True, type=click.IntRange(1, 1_000_000))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_context
@safe
def audit_log(ctx: click.Context, since: str | None, user: str | None, action: str | None, limit: int,
              as_json: bool) -> None:
    """The audit log, newest first: logins, exports, briefings, impact-level loads, user changes."""
    found = audit.entries(get_engine(settings_from(ctx)), since=_since(since) if since else None,
                          actor=user, action=action, limit=limit)
    if as_json:
        for e in found:
            click.echo(json.dumps(e, default=str))
        return
    if not found:
        click.echo("no audit entries")
        return
    for e in found:
        detail = json.dumps(e["detail"], default=str) if e["detail"] else ""
        click.echo(f"{e['at'].astimezone(UTC):%Y-%m-%d %H:%M:%S}  {e['actor']:<20} {e['role'] or '-':<17} "
                   f"{e['address'] or '-':<15} {e['action']:<14} {e['target'] or ''} {detail}".rstrip())
