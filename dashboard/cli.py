"""The composition root: etl's data commands plus ``serve`` and ``briefing``."""

from __future__ import annotations

import click
from pydantic import SecretStr

from etl.cli import cli_group
from etl.cli.common import safe, settings_from
from etl.settings import Settings
from etl.warehouse.postgis import database_url


def _gunicorn(settings: Settings, workers: int, threads: int) -> None:
    """Serve with gunicorn (a production WSGI server); each worker builds its own app."""
    from gunicorn.app.base import BaseApplication

    from dashboard.app import create_app, ready_for_workers
    from dashboard.serving import OPTIONS

    class _Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for name, value in OPTIONS.items():
                self.cfg.set(name, value)
            self.cfg.set("bind", f"{settings.host}:{settings.port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", threads)
            self.cfg.set("accesslog", None)

        def load(self):  # type: ignore[no-untyped-def]
            return ready_for_workers(create_app(settings)).server

    _Server().run()


@cli_group.command()
@click.option("--workers", default=2, show_default=True, help="gunicorn worker processes.")
@click.option("--threads", default=4, show_default=True, help="Threads per worker.")
@click.option("--debug", is_flag=True, help="Flask development server with Dash dev tools instead.")
@click.pass_context
@safe
def serve(ctx: click.Context, workers: int, threads: int, debug: bool) -> None:
    """Serve the dashboard at BORDERWATCH_HOST:BORDERWATCH_PORT (default 127.0.0.1:8050)."""
    from dashboard.auth.secret import secret_key  # the web stack: not imported by data commands

    settings = settings_from(ctx)
    # Resolve (and, when embedded, start) the warehouse once, before any worker exists.
    settings = settings.model_copy(update={"database_url": SecretStr(database_url(settings))})
    # The session key, now and once: a clear message if a server has none; the embedded
    # default's generated key is written before the workers start.
    key = secret_key(settings_from(ctx))
    settings = settings.model_copy(update={"secret_key": SecretStr(key)})
    click.echo(f"borderwatch dashboard on http://{settings.host}:{settings.port}  (Ctrl+C stops)")
    if debug:
        from dashboard.app import create_app

        create_app(settings).run(host=settings.host, port=settings.port, debug=True)
    else:
        _gunicorn(settings, workers, threads)


cli_group.add_lazy("briefing", "dashboard.briefing.command:briefing")


def main() -> None:
    cli_group(prog_name="borderwatch")


if __name__ == "__main__":
    main()
