"""national strategies and trainings: the programme's second result as two input kinds

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 09:00:00.000000

``national_strategy`` holds each country's IBM strategies and action plans (natural key
country, document, adopted_on); ``training`` the general and specialised trainings that carry
them (natural key country, date, topic, organiser). Both are written by the file loader
(``borderwatch load strategies|trainings``) like flows and benchmark assessments.
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

_DOCUMENTS = ('ibm_strategy', 'action_plan', 'schengen_action_plan', 'other')
_STATUSES = ('in_force', 'under_revision', 'expired', 'superseded')
_TOPICS = (
    'ibm_strategy', 'risk_analysis', 'document_security', 'border_checks', 'border_surveillance',
    'fundamental_rights', 'trafficking_in_human_beings', 'migrant_smuggling', 'integrity',
    'information_systems', 'language', 'other',
)
_AGENCIES = ('border_police', 'customs', 'phytosanitary', 'veterinary', 'police', 'immigration',
             'prosecution', 'coast_guard', 'other')


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _bookkeeping() -> list[sa.Column]:
    return [
        sa.Column('source', sa.Text(), nullable=False),
        sa.Column('attrs', postgresql.JSONB(astext_type=sa.Text()), server_default='{}',
                  nullable=False),
        sa.Column('content_hash', sa.String(length=32), nullable=False),
        sa.Column('run_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'),
                  nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'),
                  nullable=False),
    ]


def upgrade() -> None:
    op.create_table('national_strategy',
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('document', sa.String(length=24), nullable=False,
              comment='ibm_strategy, action_plan, ...'),
    sa.Column('adopted_on', sa.Date(), nullable=False),
    sa.Column('title', sa.Text(), nullable=True),
    sa.Column('valid_until', sa.Date(), nullable=True,
              comment='Last day of validity; NULL: open-ended'),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('measures_implemented_pct', sa.Float(), nullable=True,
              comment='Share of the action-plan measures implemented, 0-100'),
    *_bookkeeping(),
    sa.CheckConstraint(_in('document', _DOCUMENTS), name='ck_national_strategy_document'),
    sa.CheckConstraint(_in('status', _STATUSES), name='ck_national_strategy_status'),
    sa.CheckConstraint('measures_implemented_pct BETWEEN 0 AND 100',
                       name='ck_national_strategy_pct'),
    sa.CheckConstraint('valid_until IS NULL OR valid_until >= adopted_on',
                       name='ck_national_strategy_validity'),
    sa.ForeignKeyConstraint(['country'], ['country.iso2'], ),
    sa.ForeignKeyConstraint(['run_id'], ['load_run.run_id'], ),
    sa.PrimaryKeyConstraint('country', 'document', 'adopted_on'),
    comment='National IBM strategies and action plans (borderwatch load strategies)'
    )
    op.create_table('training',
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('date', sa.Date(), nullable=False, comment='First day of the training'),
    sa.Column('topic', sa.String(length=32), nullable=False),
    sa.Column('organiser', sa.Text(), nullable=False),
    sa.Column('agencies', postgresql.ARRAY(sa.String(length=16)), nullable=False,
              comment='Agencies whose staff took part (AGENCIES vocabulary)'),
    sa.Column('participants', sa.Integer(), nullable=False),
    sa.Column('title', sa.Text(), nullable=True),
    *_bookkeeping(),
    sa.CheckConstraint(_in('topic', _TOPICS), name='ck_training_topic'),
    sa.CheckConstraint('participants >= 0', name='ck_training_participants'),
    sa.CheckConstraint(f"cardinality(agencies) > 0 AND agencies <@ "
                       f"ARRAY[{', '.join(map(repr, _AGENCIES))}]::varchar[]",
                       name='ck_training_agencies'),
    sa.ForeignKeyConstraint(['country'], ['country.iso2'], ),
    sa.ForeignKeyConstraint(['run_id'], ['load_run.run_id'], ),
    sa.PrimaryKeyConstraint('country', 'date', 'topic', 'organiser'),
    comment='General and specialised trainings carrying the national IBM strategies '
            '(borderwatch load trainings)'
    )
    op.create_index('ix_training_date', 'training', ['date'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_training_date', table_name='training')
    op.drop_table('training')
    op.drop_table('national_strategy')
