"""The data commands of borderwatch (``db``, ``load``, ``rejects``, ``runs``, ``delete``,
``analyse``, ``demo``, ``config``, ``users``, ``audit``).

``dashboard.cli`` is the composition root: it mounts this group and adds ``serve``.
Importing ``reference``, ``ingest``, ``maintain``, ``demo``, ``config`` and ``users`` register
their commands; ``analyse hotspots`` and ``analyse impact`` (``analytics``) are imported only
when run.
"""

from __future__ import annotations

from etl.cli import (  # noqa: F401  (register commands)
    config,
    demo,
    ingest,
    maintain,
    reference,
    users,
)
from etl.cli.common import cli_group
from etl.cli.db import db
from etl.cli.load import load

cli_group.add_command(db)
cli_group.add_command(load)

__all__ = ["cli_group"]
