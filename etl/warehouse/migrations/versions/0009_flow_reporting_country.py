"""flow reporting country: each side of a crossing reports its own counts

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 09:30:00.000000

A flow row now says which of the BCP's two services counted it (``reporting_country``), and its
``direction`` is seen from that country; the primary key gains the column, so the two sides'
rows for the same day, direction and category live side by side. Existing rows were all
written under the old convention (``direction`` seen from the BCP's ``country_a``) and get
``country_a``. Their content hash stays as it was: the first reload of an old file after this
migration counts its rows as *updated* once (the loader now hashes the reporting country too).

Downgrade is lossy: the old key cannot hold both sides, so rows reported by ``country_b`` are
deleted.
"""
import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

_OLD_KEY = ['bcp_code', 'date', 'direction', 'category']
_NEW_KEY = ['bcp_code', 'date', 'reporting_country', 'direction', 'category']


def upgrade() -> None:
    op.add_column('flow', sa.Column(
        'reporting_country', sa.String(length=2), nullable=True,
        comment="The side whose service counted: one of the BCP's two countries"))
    op.execute("UPDATE flow f SET reporting_country = b.country_a FROM bcp b WHERE b.code = f.bcp_code")
    op.alter_column('flow', 'reporting_country', existing_type=sa.String(length=2), nullable=False,
                    existing_comment="The side whose service counted: one of the BCP's two countries")
    op.alter_column('flow', 'direction', existing_type=sa.String(length=5), existing_nullable=False,
                    comment='Seen from reporting_country: entry = entering it')
    op.create_foreign_key('flow_reporting_country_fkey', 'flow', 'country',
                          ['reporting_country'], ['iso2'])
    op.drop_constraint('flow_pkey', 'flow', type_='primary')
    op.create_primary_key('flow_pkey', 'flow', _NEW_KEY)


def downgrade() -> None:
    op.execute("DELETE FROM flow f USING bcp b WHERE b.code = f.bcp_code "
               "AND f.reporting_country <> b.country_a")
    op.drop_constraint('flow_pkey', 'flow', type_='primary')
    op.create_primary_key('flow_pkey', 'flow', _OLD_KEY)
    op.drop_constraint('flow_reporting_country_fkey', 'flow', type_='foreignkey')
    op.alter_column('flow', 'direction', existing_type=sa.String(length=5), existing_nullable=False,
                    comment=None, existing_comment='Seen from reporting_country: entry = entering it')
    op.drop_column('flow', 'reporting_country')
