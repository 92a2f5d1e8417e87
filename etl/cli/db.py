"""``borderwatch db start|stop|status|url|migrate|psql``."""

from __future__ import annotations

import os
import re

import click

from etl.cli.common import safe, settings_from
from etl.errors import ConfigurationError
from etl.warehouse import migrate as migrations
from etl.warehouse.engine import check_postgis, get_engine
from etl.warehouse.postgis import EmbeddedCluster, database_url, find_bin_dir, masked_url


@click.group()
def db() -> None:
    """The warehouse: embedded PostGIS cluster and schema migrations."""


def _embedded(ctx: click.Context) -> EmbeddedCluster:
    settings = settings_from(ctx)
    if not settings.uses_embedded:
        raise ConfigurationError(
            "BORDERWATCH_DATABASE_URL is set: the embedded cluster is not used. "
            "Start and stop that database with its own tools."
        )
    return EmbeddedCluster(settings)


@db.command()
@click.pass_context
@safe
def start(ctx: click.Context) -> None:
    """Start the embedded cluster (created on first use; a running one is left as is)."""
    cluster = _embedded(ctx)
    info = cluster.start()
    click.echo(f"PostGIS cluster running on 127.0.0.1:{info.port} (data: {cluster.data_dir})")
    if cluster.created_database:
        click.echo(f"created database {cluster.settings.database_name} (with PostGIS)")


@db.command()
@click.pass_context
@safe
def stop(ctx: click.Context) -> None:
    """Stop the embedded cluster."""
    cluster = _embedded(ctx)
    click.echo("stopped" if cluster.stop() else "not running")


@db.command()
@click.pass_context
@safe
def status(ctx: click.Context) -> None:
    """Say whether the warehouse is reachable, and at which revision."""
    settings = settings_from(ctx)
    if settings.uses_embedded:
        cluster = EmbeddedCluster(settings)
        if not cluster.initialised():
            click.echo(f"embedded cluster: not created yet ({cluster.data_dir})")
            raise SystemExit(3)
        if not cluster.running():
            click.echo(f"embedded cluster: stopped ({cluster.data_dir})")
            raise SystemExit(3)
        info = cluster.info()
        assert info is not None
        click.echo(f"embedded cluster: running on 127.0.0.1:{info.port}, pid {cluster.pid()}")
    engine = get_engine(settings, start=False)
    version = re.search(r'POSTGIS="([^" ]+)', check_postgis(engine))
    click.echo(f"postgis: {version.group(1) if version else 'unknown'}")
    current = migrations.current_revision(engine)
    head = migrations.head_revision()
    state = "up to date" if current == head else f"behind (head {head})"
    click.echo(f"schema revision: {current or 'empty'} ({state})")


@db.command()
@click.option("--show-password", is_flag=True,
              help="Print the password too (for scripts); masked as *** by default.")
@click.pass_context
@safe
def url(ctx: click.Context, show_password: bool) -> None:
    """Print the warehouse URL (starts the embedded cluster if needed)."""
    full = database_url(settings_from(ctx))
    click.echo(full if show_password else masked_url(full))


@db.command()
@click.option("--revision", default="head", show_default=True, help="Target revision.")
@click.option("--downgrade", is_flag=True, help="Downgrade to --revision (e.g. base) instead.")
@click.pass_context
@safe
def migrate(ctx: click.Context, revision: str, downgrade: bool) -> None:
    """Apply the schema migrations (upgrade to head by default)."""
    engine = get_engine(settings_from(ctx))
    if downgrade:
        migrations.downgrade(engine, "base" if revision == "head" else revision)
    else:
        migrations.upgrade(engine, revision)
    click.echo(f"schema revision: {migrations.current_revision(engine) or 'empty'}")


@db.command(context_settings={"ignore_unknown_options": True})
@click.argument("psql_args", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
@safe
def psql(ctx: click.Context, psql_args: tuple[str, ...]) -> None:
    """Open psql on the warehouse (extra arguments go to psql)."""
    settings = settings_from(ctx)
    url = database_url(settings).replace("postgresql+psycopg://", "postgresql://")
    bin_dir = find_bin_dir(settings)
    exe = str(bin_dir / "psql") if bin_dir and (bin_dir / "psql").exists() else "psql"
    os.execvp(exe, [exe, url, *psql_args])
