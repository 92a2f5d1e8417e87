"""Shared CLI plumbing: the root group, settings in the context, safe error reporting."""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Callable
from contextlib import ExitStack
from functools import wraps
from typing import Any, TypeVar

import click
import psycopg
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from etl.errors import BorderwatchError
from etl.settings import Settings

log = logging.getLogger("borderwatch")
F = TypeVar("F", bound=Callable[..., Any])


def settings_from(ctx: click.Context) -> Settings:
    """The Settings object loaded once by the root group."""
    root = ctx.find_root()
    if root.obj is None:
        try:
            root.obj = Settings()
        except ValidationError as exc:
            problems = "; ".join(
                f"BORDERWATCH_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
                for e in exc.errors()
            )
            raise click.UsageError(f"invalid setting: {problems}") from exc
        logging.basicConfig(
            level=root.obj.log_level.upper(),
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
            stream=sys.stderr,
        )
        logging.getLogger("alembic").setLevel(logging.WARNING)
    return root.obj  # type: ignore[no-any-return]


class QuietProgress:
    """No bar; only the messages that matter (waiting for another load) on stderr."""

    def message(self, text: str) -> None:
        if text.startswith("waiting"):
            click.echo(text, err=True)

    def update(self, done: int, total: int, rows: int) -> None:
        return None


class TerminalBar(tqdm):  # type: ignore[misc]
    """A tqdm bar during whose life log records go through tqdm (cleared bar, the line, the
    bar again), so a log line never lands on the bar's line. Every bar of the CLI is one."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._logging = ExitStack()
        self._logging.enter_context(logging_redirect_tqdm())
        super().__init__(*args, **kwargs)

    def close(self) -> None:
        super().close()
        self._logging.close()  # log records go to stderr directly again (idempotent)


class BarProgress:
    """A tqdm bar on stderr (bytes or features of the file), with messages above it."""

    def __init__(self, label: str) -> None:
        self._label = label
        self._bar: tqdm | None = None

    def message(self, text: str) -> None:
        if self._bar is not None:
            self._bar.write(text, file=sys.stderr)
        else:
            click.echo(text, err=True)

    def update(self, done: int, total: int, rows: int) -> None:
        if self._bar is None:
            self._bar = TerminalBar(total=total or None, desc=self._label, unit="B",
                                    unit_scale=True, file=sys.stderr, leave=False,
                                    dynamic_ncols=True)
        self._bar.n = done
        self._bar.set_postfix_str(f"{rows:,} rows", refresh=False)
        self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def server_said(exc: BaseException) -> str:
    """What the server said (``database "x" does not exist``) without the driver's preamble;
    never a URL or a password (libpq's messages hold neither)."""
    text = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [""])[0]
    for marker in ("FATAL:", "failed:"):
        if marker in text:
            text = text.rsplit(marker, 1)[1]
    return " ".join(text.split()) or type(exc).__name__


def safe(func: F) -> F:
    """Turn a ``BorderwatchError`` into its safe message and exit code, never a traceback;
    so too a database that refuses (a connection to a database that does not exist, say)."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except BorderwatchError as exc:
            if exc.detail:
                log.debug("detail: %s", exc.detail)
            click.echo(f"Error: {exc.user_message}", err=True)
            sys.exit(exc.exit_code)
        except (OperationalError, psycopg.OperationalError) as exc:
            log.debug("database error", exc_info=True)
            orig = getattr(exc, "orig", None) or exc
            what = ("the warehouse cannot be reached" if type(orig) is psycopg.OperationalError
                    else "the database stopped the operation")  # a subclass: timeout, cancel
            click.echo(f"Error: {what}: {server_said(exc)}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("Interrupted; nothing more was written.", err=True)
            sys.exit(130)

    return wrapper  # type: ignore[return-value]


class LazyGroup(click.Group):
    """A group whose heavy commands are imported only when run (or listed by ``--help``):
    every command pays for the imports of the whole CLI otherwise (the briefing's PDF stack
    added about a second to each load). ``add_lazy(name, "package.module:attribute")``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy: dict[str, str] = {}

    def add_lazy(self, name: str, target: str) -> None:
        self.lazy[name] = target

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.lazy])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            module, _, attribute = self.lazy[cmd_name].partition(":")
            command = getattr(importlib.import_module(module), attribute)
            if not isinstance(command, click.Command):
                raise TypeError(f"{self.lazy[cmd_name]} is not a click command")
            return command
        return super().get_command(ctx, cmd_name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.pass_context
def cli_group(ctx: click.Context) -> None:
    """borderwatch: situation picture for the border services of the Western Balkans and Türkiye.

    Settings come from BORDERWATCH_* environment variables (see README, 'Configuration').
    """
    settings_from(ctx)
