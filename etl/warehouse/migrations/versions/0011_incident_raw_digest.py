"""incident raw digest: a reload skips validating the rows it loaded before

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 23:50:00.000000

``incident.raw_digest`` holds a 64-bit digest of the row's text as read, mixed with the
fingerprint of what validated it (``etl.validate.fingerprint``). A reload of the same file
recognises those rows by their digest and does not parse or validate them again: they are
unchanged. Existing rows get NULL, which matches nothing (nor does 0, written for rows read
without a digest): they are validated at the next reload as before, until written again.
"""
import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

_COMMENT = ("Digest of the row's text as read and of what validated it "
            "(etl.validate.fingerprint); NULL or 0: none. A reload skips validating rows it holds")


def upgrade() -> None:
    op.add_column('incident', sa.Column('raw_digest', sa.BigInteger(), nullable=True,
                                        comment=_COMMENT))


def downgrade() -> None:
    op.drop_column('incident', 'raw_digest')
