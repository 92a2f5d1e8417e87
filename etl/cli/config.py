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


@cli_group.command()
@click.option("--markdown", is_flag=True, help="Print the documentation table of all settings.")
@click.pass_context
def config(ctx: click.Context, markdown: bool) -> None:
    """Show the effective settings (passwords masked)."""
    if markdown:
        click.echo(settings_markdown())
        return
    settings = settings_from(ctx)
    for name in Settings.model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            value = "********" if value.get_secret_value() else ""
        click.echo(f"BORDERWATCH_{name.upper()}={'' if value is None else value}")
