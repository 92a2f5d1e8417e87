"""raw digests without the fingerprint: it is kept per load, and confirmations per row

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08 00:10:00.000000

0011 mixed the fingerprint of what validated a row (the references, the code, the settings)
into ``incident.raw_digest``, so that any change of them made every digest stale: the reload
that found them stale rewrote every unchanged row's digest, an UPDATE of a 1M-row table that
took 70 s (every row rewritten with its six indexes). Now ``incident.raw_digest`` is the digest
of the row's text alone (and of the file's layout), ``load_run.fingerprint`` says what
validated the rows a load wrote, and a reload that validates stored rows again under another
fingerprint and finds them unchanged appends their digest and content hash to
``raw_digest_confirmed`` (a narrow table, no index) instead of updating them. A row is held as
read when the load that wrote it had the current fingerprint, or a confirmation under it
matches its digest and content hash. Digests written under 0011 match nothing now: those rows
are validated at their next reload, as rows without a digest are.
"""
import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

_DIGEST = ("Digest of the row's text as read (etl.reader.digests, etl.validate.fingerprint); "
           "NULL or 0: none. A reload skips validating the rows it holds")
_OLD_DIGEST = ("Digest of the row's text as read and of what validated it "
               "(etl.validate.fingerprint); NULL or 0: none. A reload skips validating rows it "
               "holds")


def upgrade() -> None:
    op.add_column('load_run', sa.Column(
        'fingerprint', sa.BigInteger(), nullable=True,
        comment="What validated the rows of the load (etl.validate.fingerprint); NULL: not "
                "recorded"))
    op.create_table(
        'raw_digest_confirmed',
        sa.Column('run_id', sa.Integer(), nullable=False,
                  comment="The load that validated the rows again (load_run.run_id; no foreign "
                          "key: a bulk load would check it per row)"),
        sa.Column('raw_digest', sa.BigInteger(), nullable=False),
        sa.Column('content_hash', sa.String(length=32), nullable=False),
        comment="Stored rows that a load validated again under its fingerprint and found "
                "unchanged: their raw digest and content hash (etl.stores.FactStore.known)",
    )
    op.alter_column('incident', 'raw_digest', comment=_DIGEST, existing_comment=_OLD_DIGEST,
                    existing_type=sa.BigInteger(), existing_nullable=True)


def downgrade() -> None:
    op.alter_column('incident', 'raw_digest', comment=_OLD_DIGEST, existing_comment=_DIGEST,
                    existing_type=sa.BigInteger(), existing_nullable=True)
    op.drop_table('raw_digest_confirmed')
    op.drop_column('load_run', 'fingerprint')
