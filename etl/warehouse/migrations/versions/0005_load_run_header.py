"""load_run.header: the header of a loaded file as written

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 05:00:00.000000

``rejected_row.raw`` is jsonb, which does not keep the order of a row's columns; the run keeps
the file's header so that ``borderwatch rejects --csv`` lists the columns as the file had them.
Runs that are not file loads (geodata, deletes, jobs) leave it empty.
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('load_run', sa.Column('header', postgresql.ARRAY(sa.Text()), nullable=True,
                                        comment='Header of the file as written (file loads)'))


def downgrade() -> None:
    op.drop_column('load_run', 'header')
