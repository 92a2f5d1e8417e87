"""accounts: dashboard users and roles, API tokens, failed-login counters, the audit log

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 10:00:00.000000

Access control (issue 10). ``app_role`` lists the four roles (their rules live in
``dashboard/queries/scope.py``); ``app_user`` holds argon2 password hashes, never passwords;
``api_token`` holds sha256 hashes of tokens; ``login_throttle`` counts failed logins per account
name and per network address. ``audit_log`` is append-only for the application: a trigger
refuses UPDATE, DELETE and TRUNCATE.
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

ROLES = [
    ("admin", "Everything: every incident in detail, user management, the audit log"),
    ("regional_analyst", "Every incident of every country in detail"),
    ("national_officer", "Own country's incidents and those shared with it in detail; the rest as "
                         "aggregates"),
    ("forum_viewer", "Aggregates, section levels, benchmarks, strategies, trainings, the briefing; "
                     "no single incident"),
]

APPEND_ONLY_SQL = [
    """
    CREATE FUNCTION audit_log_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END $$
    """,
    """
    CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()
    """,
    """
    CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()
    """,
]


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'),
                  nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'),
                  nullable=False),
    ]


def upgrade() -> None:
    role = op.create_table('app_role',
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('role'),
    comment='The roles of dashboard users (filled by the migration; the rules live in code)'
    )
    op.bulk_insert(role, [{"role": r, "description": d} for r, d in ROLES])
    op.create_table('app_user',
    sa.Column('user_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False, comment='Lower case; unique'),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=True,
              comment="ISO alpha-2 of a national officer's service"),
    sa.Column('password_hash', sa.Text(), nullable=False,
              comment='argon2id (argon2-cffi), never the password'),
    sa.Column('disabled', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('session_epoch', sa.Integer(), server_default='0', nullable=False,
              comment='Raised on password change or disable: every older session ends'),
    sa.Column('password_changed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'),
              nullable=False),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    *_timestamps(),
    sa.CheckConstraint("role <> 'national_officer' OR country IS NOT NULL",
                       name='ck_app_user_officer_country'),
    sa.CheckConstraint('username = lower(username)', name='ck_app_user_username_lower'),
    sa.ForeignKeyConstraint(['role'], ['app_role.role'], ),
    sa.PrimaryKeyConstraint('user_id')
    )
    op.create_index('uq_app_user_username', 'app_user', ['username'], unique=True)
    op.create_table('api_token',
    sa.Column('token_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('prefix', sa.String(length=12), nullable=False,
              comment='First characters, to recognise a token in lists'),
    sa.Column('token_hash', sa.String(length=64), nullable=False,
              comment='sha256 of the token (never the token)'),
    sa.Column('label', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'),
              nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.user_id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token_id')
    )
    op.create_index('uq_api_token_hash', 'api_token', ['token_hash'], unique=True)
    op.create_index('ix_api_token_user', 'api_token', ['user_id'], unique=False)
    op.create_table('login_throttle',
    sa.Column('key', sa.Text(), nullable=False, comment="'user:<name>' or 'addr:<address>'"),
    sa.Column('failures', sa.Integer(), server_default='0', nullable=False,
              comment='Failed logins in a row (user) or in the current window (address)'),
    sa.Column('window_start', sa.DateTime(timezone=True), server_default=sa.text('now()'),
              nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('key'),
    comment='Failed-login counters per account name (known or not) and per network address'
    )
    op.create_table('audit_log',
    sa.Column('audit_id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('actor', sa.Text(), nullable=False,
              comment="Username, or 'cli:<system user>' for commands"),
    sa.Column('role', sa.String(length=20), nullable=True, comment="The actor's role at the time"),
    sa.Column('address', sa.Text(), nullable=True,
              comment='Client address, or the host name for commands'),
    sa.Column('action', sa.String(length=40), nullable=False,
              comment='e.g. login, login_failed, export, user_add'),
    sa.Column('target', sa.Text(), nullable=True,
              comment='What the action was about (a user, a file, a page)'),
    sa.Column('detail', postgresql.JSONB(astext_type=sa.Text()), server_default='{}',
              nullable=False),
    sa.PrimaryKeyConstraint('audit_id'),
    comment='Append-only: a trigger refuses UPDATE, DELETE and TRUNCATE'
    )
    op.create_index('ix_audit_log_at', 'audit_log', ['at'], unique=False)
    op.create_index('ix_audit_log_actor_at', 'audit_log', ['actor', 'at'], unique=False)
    for statement in APPEND_ONLY_SQL:
        op.execute(statement)


def downgrade() -> None:
    op.drop_index('ix_audit_log_actor_at', table_name='audit_log')
    op.drop_index('ix_audit_log_at', table_name='audit_log')
    op.drop_table('audit_log')
    op.execute("DROP FUNCTION audit_log_append_only()")
    op.drop_table('login_throttle')
    op.drop_index('ix_api_token_user', table_name='api_token')
    op.drop_index('uq_api_token_hash', table_name='api_token')
    op.drop_table('api_token')
    op.drop_index('uq_app_user_username', table_name='app_user')
    op.drop_table('app_user')
    op.drop_table('app_role')
