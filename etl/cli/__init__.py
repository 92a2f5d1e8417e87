"""The data commands of borderwatch (``db``, ``load``, ``rejects``, ``runs``, ``delete``,
``analyse``, ``demo``, ``config``).

``dashboard.cli`` is the composition root: it mounts this group and adds ``serve``.
Importing ``reference``, ``ingest``, ``maintain``, ``demo`` and ``config`` registers their
commands.
"""

from __future__ import annotations

from etl.cli import config, demo, ingest, maintain, reference  # noqa: F401  (register commands)
from etl.cli.common import cli_group
from etl.cli.db import db
from etl.cli.load import load

cli_group.add_command(db)
cli_group.add_command(load)

__all__ = ["cli_group"]
