"""``borderwatch config``: the effective settings, or their documentation table."""

from __future__ import annotations

import click
from pydantic import SecretStr

from etl.cli.common import cli_group, settings_from
from etl.settings import PROJECT_ROOT, Settings


def settings_markdown() -> str:
    """The Markdown table of every setting (name, default, description) for the README."""
    rows = ["| Variable | Default | Description |", "| --- | --- | --- |"]
    for name, field in Settings.model_fields.items():
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        default = field.default
        if "shown_default" in extra:
            shown = str(extra["shown_default"])
        elif isinstance(default, tuple):
            shown = "[" + ", ".join(str(d) for d in default) + "]"
        elif default is None:
            shown = "(empty)"
        else:
            shown = str(default).replace(str(PROJECT_ROOT), ".")
        rows.append(f"| `BORDERWATCH_{name.upper()}` | `{shown}` | {field.description} |")
    return "\n".join(rows)


def effective_settings(settings: Settings) -> list[tuple[str, str, str]]:
    """``(variable, value, note)`` for every setting: the value in use, passwords masked.

    ``pg_port`` shows the port the embedded cluster was given on its first start (0 only
    means "choose one"), with a note saying where the value comes from.
    """
    rows = []
    for name in Settings.model_fields:
        value = getattr(settings, name)
        note = ""
        if isinstance(value, SecretStr):
            value = "********" if value.get_secret_value() else ""
        if name == "pg_port":
            value, note = _effective_pg_port(settings)
        elif name in ("data_dir", "geodata_dir") and name not in settings.model_fields_set:
            note = "default"
        rows.append((f"BORDERWATCH_{name.upper()}", "" if value is None else str(value), note))
    return rows


def _effective_pg_port(settings: Settings) -> tuple[int, str]:
    if not settings.uses_embedded:
        return settings.pg_port, "unused: BORDERWATCH_DATABASE_URL is set"
    from etl.warehouse.postgis import EmbeddedCluster

    info = EmbeddedCluster(settings).info()
    if info is None:
        return settings.pg_port, ("" if settings.pg_port
                                  else "a free port is chosen on the first db start")
    if settings.pg_port and settings.pg_port != info.port:
        return info.port, (f"the cluster was created on this port; BORDERWATCH_PG_PORT="
                           f"{settings.pg_port} is not used")
    return info.port, "" if settings.pg_port else "chosen on the first db start"


@cli_group.command()
@click.option("--markdown", is_flag=True, help="Print the documentation table of all settings.")
@click.pass_context
def config(ctx: click.Context, markdown: bool) -> None:
    """Show the effective settings (passwords masked): the port the embedded cluster runs on,
    the folders in use."""
    if markdown:
        click.echo(settings_markdown())
        return
    for variable, value, note in effective_settings(settings_from(ctx)):
        click.echo(f"{variable}={value}" + (f"  # {note}" if note else ""))
