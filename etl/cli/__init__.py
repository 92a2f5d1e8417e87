"""The data commands of borderwatch (``db``, ``load``, ``rejects``, ``demo``...).

``dashboard.cli`` is the composition root: it mounts this group and adds ``serve``.
"""

from __future__ import annotations

from importlib import import_module

from etl.cli import config as _config  # noqa: F401  (registers `config`)
from etl.cli.common import cli_group
from etl.cli.db import db
from etl.cli.load import load

cli_group.add_command(db)
cli_group.add_command(load)

# Modules that register their commands on ``load`` or on the root group when imported.
for _module in ("etl.cli.reference", "etl.cli.ingest", "etl.cli.demo"):
    try:
        import_module(_module)
    except ModuleNotFoundError as _exc:  # a module not written yet
        if _exc.name != _module:
            raise

__all__ = ["cli_group"]
