"""The migrations build exactly the tables of ``schema.py``, and downgrade back to empty."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from etl.warehouse import migrate
from etl.warehouse.schema import metadata


def _diff(engine: Engine) -> list[object]:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn, opts={"include_object": migrate.include_object, "compare_type": True}
        )
        return list(compare_metadata(ctx, metadata))


def test_head_matches_schema_module(engine: Engine) -> None:
    assert migrate.current_revision(engine) == migrate.head_revision()
    assert _diff(engine) == []


def test_downgrade_to_empty_and_upgrade_again(engine: Engine) -> None:
    migrate.downgrade(engine, "base")
    tables = set(inspect(engine).get_table_names()) - {"spatial_ref_sys", "alembic_version"}
    assert tables == set()
    migrate.upgrade(engine)
    assert set(metadata.tables) <= set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        gist = conn.execute(
            text(
                "SELECT count(*) FROM pg_indexes WHERE schemaname = 'public' "
                "AND indexdef ILIKE '%USING gist%'"
            )
        ).scalar_one()
    geometry_tables = [t for t in metadata.tables.values() if "geom" in t.c]
    assert gist == len(geometry_tables)
