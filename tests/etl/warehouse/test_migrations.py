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


def test_flows_written_before_0009_belong_to_country_a(geo_engine: Engine) -> None:
    """0009 gives existing flow rows the BCP's country_a (the old convention); its downgrade
    keeps those and drops the other side's rows, which the old key cannot hold."""
    migrate.downgrade(geo_engine, "0008")
    with geo_engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO flow (bcp_code, date, direction, category, count, source, content_hash)"
            " VALUES ('RS-HR-BATROVCI', '2024-05-01', 'exit', 'cars', 4000, 'old', 'x')"))
    migrate.upgrade(geo_engine)
    with geo_engine.begin() as conn:
        assert conn.execute(text("SELECT reporting_country FROM flow")).scalars().all() == ["RS"]
        conn.execute(text(
            "INSERT INTO flow (bcp_code, date, reporting_country, direction, category, count,"
            " source, content_hash) VALUES ('RS-HR-BATROVCI', '2024-05-01', 'HR', 'exit', 'cars',"
            " 10, 'new', 'y')"))
    migrate.downgrade(geo_engine, "0008")
    with geo_engine.connect() as conn:
        assert conn.execute(text("SELECT source FROM flow")).scalars().all() == ["old"]
    migrate.upgrade(geo_engine)
    assert _diff(geo_engine) == []
