"""section impact history: every impact-level attribution that changed a border section

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 10:12:00.000000

``borderwatch load impact-levels`` sets ``border_section.impact_level`` (with its reason and
date) and records each change here with the load run that applied it. ``section_id`` has no
foreign key on purpose: a later geodata release may drop a section, its history stays.
"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

_KIND_BEFORE = 'incidents, flows, benchmarks, bcps, geodata'
_KIND_AFTER = 'incidents, flows, benchmarks, bcps, geodata, impact_levels'


def upgrade() -> None:
    op.create_table('section_impact_history',
    sa.Column('history_id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('section_id', sa.String(length=12), nullable=False,
              comment='border_section.section_id (no foreign key: the history outlives a section '
                      'that a new geodata release removes)'),
    sa.Column('level', sa.String(length=10), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('attributed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attributed_by', sa.Text(), nullable=True),
    sa.Column('load_run_id', sa.Integer(), nullable=False,
              comment='The impact_levels load that applied it'),
    sa.CheckConstraint("level IN ('low', 'medium', 'high', 'critical')",
                       name='ck_section_impact_history_level'),
    sa.ForeignKeyConstraint(['load_run_id'], ['load_run.run_id'], ),
    sa.PrimaryKeyConstraint('history_id'),
    comment='Every impact-level attribution that changed a border section, in load order '
            '(written by borderwatch load impact-levels)'
    )
    op.create_index('ix_section_impact_history_section', 'section_impact_history',
                    ['section_id', 'attributed_at'], unique=False)
    op.alter_column('load_run', 'kind', existing_type=sa.String(length=20), existing_nullable=False,
                    comment=_KIND_AFTER, existing_comment=_KIND_BEFORE)


def downgrade() -> None:
    op.alter_column('load_run', 'kind', existing_type=sa.String(length=20), existing_nullable=False,
                    comment=_KIND_BEFORE, existing_comment=_KIND_AFTER)
    op.drop_index('ix_section_impact_history_section', table_name='section_impact_history')
    op.drop_table('section_impact_history')
