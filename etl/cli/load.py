"""The ``borderwatch load`` group; its commands live in ``reference`` and ``ingest``."""

from __future__ import annotations

import click


@click.group()
def load() -> None:
    """Load files into the warehouse (every row loaded or rejected with a reason)."""
