"""impact suggestion: the impact level suggested for each border section

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 11:00:00.000000

``borderwatch analyse impact`` writes one suggestion per section (level and evidence); the map
shows it beside the decided level where they differ. Nothing here changes a section's level.
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('section_impact_suggestion',
    sa.Column('section_id', sa.String(length=12), nullable=False,
              comment='border_section.section_id (no foreign key, as section_impact_history)'),
    sa.Column('level', sa.String(length=10), nullable=False, comment='Suggested impact level'),
    sa.Column('recent', sa.Integer(), nullable=False, comment='Incidents in the recent window'),
    sa.Column('baseline', sa.Float(), nullable=False,
              comment='Mean incidents per window over the baseline'),
    sa.Column('ratio', sa.Float(), nullable=False, comment='recent / max(baseline, 1)'),
    sa.Column('reason', sa.Text(), nullable=False,
              comment='The evidence, as written to the load format'),
    sa.Column('run_id', sa.Integer(), nullable=True, comment='The impact run'),
    sa.Column('computed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'),
              nullable=False),
    sa.CheckConstraint("level IN ('low', 'medium', 'high', 'critical')",
                       name='ck_section_impact_suggestion_level'),
    sa.ForeignKeyConstraint(['run_id'], ['load_run.run_id'], ),
    sa.PrimaryKeyConstraint('section_id'),
    comment='Impact levels suggested by borderwatch analyse impact from incident pressure; never '
            'applied by themselves (the decided level is border_section.impact_level)'
    )


def downgrade() -> None:
    op.drop_table('section_impact_suggestion')
