"""incident rollup: summary tables of the situation map, and triggers that mark changed days

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 18:41:06.856251

``incident_rollup`` holds incident counts per (day bucket, H3 cell, country, border section),
per category and per (category, subtype) slot of ``incident_rollup_vocab``; the covering index
``ix_incident_h3_r5_time`` answers the viewport queries that need single incidents (cells cut by
the viewport's edge, high zoom) with index-only scans. The rollup is written only by
``etl.analytics.rollup`` (in the transaction of each incident load). Statement-level triggers on
``incident`` record the UTC days of updated and deleted rows in ``incident_rollup_dirty`` (the
next refresh recomputes them); TRUNCATE empties the rollup. Inserted rows need no trigger: the
refresh picks up every row whose id is above ``incident_rollup_state.max_id``.
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

_UTC_DAY = "(({0}.occurred_at AT TIME ZONE 'UTC')::date)"
#: Columns whose change moves an incident to another rollup row.
_KEYS = ("occurred_at", "category", "subtype", "country", "section_id", "h3_r5")


def _changed(a: str, b: str) -> str:
    cols = [f"{a}.{c}" for c in _KEYS] + [f"ST_X({a}.geom)", f"ST_Y({a}.geom)"]
    other = [f"{b}.{c}" for c in _KEYS] + [f"ST_X({b}.geom)", f"ST_Y({b}.geom)"]
    return f"({', '.join(cols)}) IS DISTINCT FROM ({', '.join(other)})"


TRIGGER_SQL = [
    f"""
    CREATE FUNCTION incident_rollup_mark_updated() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO incident_rollup_dirty (day)
        SELECT {_UTC_DAY.format('o')} FROM old_rows o LEFT JOIN new_rows n ON n.id = o.id
        WHERE n.id IS NULL OR {_changed('o', 'n')}
        UNION
        SELECT {_UTC_DAY.format('n')} FROM new_rows n LEFT JOIN old_rows o ON o.id = n.id
        WHERE o.id IS NULL OR {_changed('n', 'o')}
        ON CONFLICT DO NOTHING;
        RETURN NULL;
    END $$
    """,
    f"""
    CREATE FUNCTION incident_rollup_mark_deleted() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO incident_rollup_dirty (day)
        SELECT DISTINCT {_UTC_DAY.format('o')} FROM old_rows o
        ON CONFLICT DO NOTHING;
        RETURN NULL;
    END $$
    """,
    """
    CREATE FUNCTION incident_rollup_truncated() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM incident_rollup;
        DELETE FROM incident_rollup_dirty;
        UPDATE incident_rollup_vocab SET n = 0;
        UPDATE incident_rollup_state SET max_id = 0, version = version + 1;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER incident_rollup_updated AFTER UPDATE ON incident
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION incident_rollup_mark_updated()
    """,
    """
    CREATE TRIGGER incident_rollup_deleted AFTER DELETE ON incident
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION incident_rollup_mark_deleted()
    """,
    """
    CREATE TRIGGER incident_rollup_truncated AFTER TRUNCATE ON incident
    FOR EACH STATEMENT EXECUTE FUNCTION incident_rollup_truncated()
    """,
]


def upgrade() -> None:
    op.create_table('incident_rollup',
    sa.Column('span', sa.SmallInteger(), nullable=False, comment='Bucket length in days'),
    sa.Column('bucket', sa.Date(), nullable=False, comment='First UTC day of the bucket'),
    sa.Column('cell', sa.BigInteger(), nullable=False, comment='incident.h3_r5, 0 for NULL'),
    sa.Column('country', sa.String(length=2), nullable=False, comment="incident.country, '' for NULL"),
    sa.Column('section_id', sa.String(length=12), nullable=False, comment="incident.section_id, '' for NULL"),
    sa.Column('n', sa.Integer(), nullable=False, comment='Incidents'),
    sa.Column('c', postgresql.ARRAY(sa.Integer()), nullable=False, comment='Incidents per category (INCIDENT_CATEGORIES order)'),
    sa.Column('v', postgresql.ARRAY(sa.Integer()), nullable=False, comment='Incidents per incident_rollup_vocab.slot (1-based)'),
    sa.Column('sx', sa.Float(), nullable=False, comment='Sum of longitudes'),
    sa.Column('sy', sa.Float(), nullable=False, comment='Sum of latitudes'),
    sa.Column('west', sa.Float(), nullable=False, comment='Bounding box of the incidents'),
    sa.Column('south', sa.Float(), nullable=False),
    sa.Column('east', sa.Float(), nullable=False),
    sa.Column('north', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('span', 'bucket', 'cell', 'country', 'section_id'),
    comment='Incidents per (UTC day bucket, H3 cell, country, border section), per category and per (category, subtype); rows of the days a load touched are recomputed in its transaction',
    prefixes=['UNLOGGED']
    )
    op.create_index('ix_incident_rollup_west', 'incident_rollup', ['span', 'bucket', 'west'], unique=False)
    op.create_table('incident_rollup_dirty',
    sa.Column('day', sa.Date(), nullable=False, comment='UTC day of an updated or deleted incident'),
    sa.PrimaryKeyConstraint('day'),
    comment='Filled by triggers on incident (UPDATE, DELETE); emptied by the next refresh'
    )
    op.create_table('incident_rollup_state',
    sa.Column('id', sa.SmallInteger(), server_default='1', nullable=False),
    sa.Column('max_id', sa.BigInteger(), server_default='0', nullable=False, comment='Highest incident.id included'),
    sa.Column('version', sa.BigInteger(), server_default='0', nullable=False, comment='Refreshes so far'),
    sa.Column('run_id', sa.Integer(), nullable=True, comment='Load run of the last refresh'),
    sa.Column('refreshed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('width', sa.Float(), server_default='0', nullable=False, comment='Widest row with a cell, degrees'),
    sa.Column('no_cell', sa.BigInteger(), server_default='0', nullable=False, comment='Incidents without h3_r5'),
    sa.CheckConstraint('id = 1', name='ck_incident_rollup_state_single'),
    sa.PrimaryKeyConstraint('id'),
    comment='Unlogged like incident_rollup: after a crash both are empty and the next refresh rebuilds the rollup (readers use incident until then)',
    prefixes=['UNLOGGED']
    )
    op.create_table('incident_rollup_vocab',
    sa.Column('slot', sa.SmallInteger(), nullable=False, comment='Position in incident_rollup.v'),
    sa.Column('category', sa.String(length=24), nullable=False),
    sa.Column('subtype', sa.String(length=40), nullable=False, comment="incident.subtype, '' for NULL"),
    sa.Column('n', sa.BigInteger(), server_default='0', nullable=False, comment='Incidents with this pair'),
    sa.PrimaryKeyConstraint('slot')
    )
    op.create_index('uq_incident_rollup_vocab', 'incident_rollup_vocab', ['category', 'subtype'], unique=True)
    op.execute("INSERT INTO incident_rollup_state (id) VALUES (1)")
    op.create_index('ix_incident_h3_r5_time', 'incident', ['h3_r5', 'occurred_at'], unique=False,
                    postgresql_include=['id', 'category', 'subtype', 'country', 'section_id', 'h3_r7', 'geom'])
    for statement in TRIGGER_SQL:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS incident_rollup_truncated ON incident")
    op.execute("DROP TRIGGER IF EXISTS incident_rollup_deleted ON incident")
    op.execute("DROP TRIGGER IF EXISTS incident_rollup_updated ON incident")
    op.execute("DROP FUNCTION IF EXISTS incident_rollup_truncated()")
    op.execute("DROP FUNCTION IF EXISTS incident_rollup_mark_deleted()")
    op.execute("DROP FUNCTION IF EXISTS incident_rollup_mark_updated()")
    op.drop_index('ix_incident_h3_r5_time', table_name='incident')
    op.drop_index('uq_incident_rollup_vocab', table_name='incident_rollup_vocab')
    op.drop_table('incident_rollup_vocab')
    op.drop_table('incident_rollup_state')
    op.drop_table('incident_rollup_dirty')
    op.drop_index('ix_incident_rollup_west', table_name='incident_rollup')
    op.drop_table('incident_rollup')
