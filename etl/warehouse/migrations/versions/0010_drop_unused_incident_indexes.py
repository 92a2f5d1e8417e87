"""drop three incident indexes no query uses

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 17:40:00.000000

``ix_incident_h3_r5`` is a prefix of ``ix_incident_h3_r5_time`` (which serves every lookup by
``h3_r5``); no query filters or sorts by ``h3_r7`` (the hex layer and the hotspot job group by
it over rows selected by time) or by ``created_at``. Each index cost every load its upkeep: a
first load of 1,000,000 incidents rebuilt the three in 1.6 s.
"""
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index('ix_incident_h3_r5', table_name='incident')
    op.drop_index('ix_incident_h3_r7', table_name='incident')
    op.drop_index('ix_incident_created_at', table_name='incident')


def downgrade() -> None:
    op.create_index('ix_incident_created_at', 'incident', ['created_at'])
    op.create_index('ix_incident_h3_r7', 'incident', ['h3_r7'])
    op.create_index('ix_incident_h3_r5', 'incident', ['h3_r5'])
