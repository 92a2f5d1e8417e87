"""hotspots: the count cube, its dirty days and the current hotspot analysis

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 10:00:00.000000

``borderwatch analyse hotspots`` keeps incidents per (time step, H3 cell) in the unlogged
``hotspot_count`` (recounting only the steps whose days are listed in ``hotspot_dirty``, which
every incident load fills) and writes the current analysis to ``hotspot_analysis`` and
``hotspot_cell``.
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

_CLASSES = "('hot_99', 'hot_95', 'hot_90', 'not_significant', 'cold_90', 'cold_95', 'cold_99')"


def upgrade() -> None:
    op.create_table('hotspot_count',
    sa.Column('step', sa.Date(), nullable=False, comment='First UTC day of the time step'),
    sa.Column('cell', sa.BigInteger(), nullable=False,
              comment='H3 cell at hotspot_count_state.resolution'),
    sa.Column('c', postgresql.ARRAY(sa.Integer()), nullable=False,
              comment='Incidents per category (INCIDENT_CATEGORIES order)'),
    sa.PrimaryKeyConstraint('step', 'cell'),
    comment='Incidents per (time step, H3 cell): the cube of the hotspot analysis, recounted for '
            'the steps that loads changed (hotspot_dirty)',
    prefixes=['UNLOGGED'],
    )
    op.create_table('hotspot_count_state',
    sa.Column('id', sa.SmallInteger(), server_default='1', nullable=False),
    sa.Column('resolution', sa.SmallInteger(), nullable=False),
    sa.Column('step_days', sa.SmallInteger(), nullable=False),
    sa.Column('refreshed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('id = 1', name='ck_hotspot_count_state_single'),
    sa.PrimaryKeyConstraint('id'),
    comment='Unlogged like hotspot_count: after a crash both are empty and the next analysis '
            'recounts every step',
    prefixes=['UNLOGGED'],
    )
    op.create_table('hotspot_dirty',
    sa.Column('day', sa.Date(), nullable=False, comment='UTC day whose incidents a load changed'),
    sa.PrimaryKeyConstraint('day'),
    comment='Filled by every incident load or delete (rollup refresh); marks the hotspot '
            'analysis stale; emptied by the next analysis',
    )
    op.execute("INSERT INTO hotspot_dirty (day) SELECT DISTINCT (occurred_at AT TIME ZONE 'UTC')::date "
               "FROM incident")
    op.create_table('hotspot_analysis',
    sa.Column('analysis_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True, comment='The hotspots run'),
    sa.Column('computed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'),
              nullable=False),
    sa.Column('period_from', sa.Date(), nullable=False, comment='First day of the first step'),
    sa.Column('period_to', sa.Date(), nullable=False, comment='Last day of the last step'),
    sa.Column('step_days', sa.SmallInteger(), nullable=False),
    sa.Column('steps', sa.SmallInteger(), nullable=False),
    sa.Column('resolution', sa.SmallInteger(), nullable=False, comment='H3 resolution'),
    sa.Column('k', sa.SmallInteger(), nullable=False, comment='Rings of neighbours'),
    sa.Column('lag', sa.SmallInteger(), nullable=False,
              comment='Earlier steps in the space-time neighbourhood'),
    sa.Column('zone_km', sa.Float(), nullable=False, comment='Depth of the land border zone'),
    sa.Column('alpha', sa.Float(), nullable=False,
              comment='FDR level of a significant bin (patterns)'),
    sa.Column('trend_alpha', sa.Float(), nullable=False,
              comment='Level of the Mann-Kendall trend test'),
    sa.Column('categories', postgresql.ARRAY(sa.String(length=24)), nullable=False,
              comment='Incident categories; empty: all'),
    sa.Column('cells', sa.Integer(), nullable=False, comment='Study cells'),
    sa.Column('incidents', sa.Integer(), nullable=False,
              comment='Incidents in the study cells and steps'),
    sa.Column('left_out', sa.Integer(), nullable=False,
              comment='Incidents of the steps outside the study area'),
    sa.Column('significant', sa.Integer(), nullable=False,
              comment='Cells hot or cold at 90 % or more'),
    sa.ForeignKeyConstraint(['run_id'], ['load_run.run_id'], ),
    sa.PrimaryKeyConstraint('analysis_id'),
    comment='The current hotspot analysis (one row; a new run replaces it)',
    )
    op.create_table('hotspot_cell',
    sa.Column('analysis_id', sa.Integer(), nullable=False),
    sa.Column('cell', sa.BigInteger(), nullable=False, comment='H3 cell (int64)'),
    sa.Column('lat', sa.Float(), nullable=False, comment='Cell centre'),
    sa.Column('lon', sa.Float(), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False, comment='Incidents over the period'),
    sa.Column('z', sa.Float(), nullable=False, comment='Gi* z-score over the period'),
    sa.Column('p', sa.Float(), nullable=False, comment='Two-sided p-value'),
    sa.Column('q', sa.Float(), nullable=False, comment='Benjamini-Hochberg adjusted p-value'),
    sa.Column('class', sa.String(length=16), nullable=False),
    sa.Column('pattern', sa.String(length=32), nullable=False,
              comment='Emerging hot spot category or no_pattern'),
    sa.Column('trend', sa.SmallInteger(), server_default='0', nullable=False,
              comment='Mann-Kendall trend of the space-time z-scores: 1 rising, -1 falling, 0 none'),
    sa.CheckConstraint(f"class IN {_CLASSES}", name='ck_hotspot_cell_class'),
    sa.ForeignKeyConstraint(['analysis_id'], ['hotspot_analysis.analysis_id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('analysis_id', 'cell'),
    )
    op.create_index('ix_hotspot_cell_position', 'hotspot_cell', ['analysis_id', 'lat', 'lon'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_hotspot_cell_position', table_name='hotspot_cell')
    op.drop_table('hotspot_cell')
    op.drop_table('hotspot_analysis')
    op.drop_table('hotspot_dirty')
    op.drop_table('hotspot_count_state')
    op.drop_table('hotspot_count')
