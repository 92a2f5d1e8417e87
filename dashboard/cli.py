"""The composition root: etl's data commands plus ``serve``."""

from __future__ import annotations

import click

from etl.cli import cli_group
from etl.cli.common import safe, settings_from


@cli_group.command()
@click.option("--debug", is_flag=True, help="Dash debug mode (reloader, dev tools).")
@click.pass_context
@safe
def serve(ctx: click.Context, debug: bool) -> None:
    """Serve the dashboard at BORDERWATCH_HOST:BORDERWATCH_PORT (default 127.0.0.1:8050)."""
    from dashboard.app import create_app

    settings = settings_from(ctx)
    app = create_app(settings)
    click.echo(f"borderwatch dashboard on http://{settings.host}:{settings.port}")
    app.run(host=settings.host, port=settings.port, debug=debug)


def main() -> None:
    cli_group(prog_name="borderwatch")


if __name__ == "__main__":
    main()
