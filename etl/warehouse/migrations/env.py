"""Alembic environment: runs against the connection handed in by ``etl.warehouse.migrate``."""

from __future__ import annotations

from alembic import context
from geoalchemy2 import alembic_helpers

from etl.warehouse.migrate import include_object
from etl.warehouse.schema import metadata


def run_migrations_online() -> None:
    connection = context.config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=metadata,
        include_object=include_object,
        process_revision_directives=alembic_helpers.writer,
        render_item=alembic_helpers.render_item,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
