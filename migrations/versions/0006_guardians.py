"""guardians, controls, time requests, purposes

Revision ID: 0006
Revises: 0004
Create Date: 2026-11-29

DESIGN section 7: guardian links (with each guardian's controls), time requests, uncounted use
per purpose and day, a session's purpose, a grant's guardian link, the users' marked uncounted
intervals (their facts version came with 0002).
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('marked', sa.Text(), server_default='[]', nullable=False))
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('purpose', sa.String(length=32), nullable=True))
    with op.batch_alter_table('grants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('link_id', sa.String(length=40), nullable=True))
    op.create_table('uncounted_days',
    sa.Column('user_pk', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('purpose', sa.String(length=32), nullable=False),
    sa.Column('ms', sa.BigInteger(), server_default='0', nullable=False),
    sa.ForeignKeyConstraint(['user_pk'], ['users.pk'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_pk', 'day', 'purpose')
    )
    op.create_table('guardian_links',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('user_pk', sa.Integer(), nullable=False),
    sa.Column('guardian_id', sa.String(length=128), nullable=False),
    sa.Column('linked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('client', sa.String(length=128), nullable=False),
    sa.Column('daily_limit_minutes', sa.Integer(), nullable=True),
    sa.Column('quiet_hours', sa.Text(), nullable=True),
    sa.Column('rest_reminder_minutes', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['user_pk'], ['users.pk'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('user_pk', 'guardian_id', name='uq_guardian_links_user_guardian')
    )
    with op.batch_alter_table('guardian_links', schema=None) as batch_op:
        batch_op.create_index('ix_guardian_links_guardian', ['guardian_id'], unique=False)
    op.create_table('time_requests',
    sa.Column('pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('user_pk', sa.Integer(), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_minutes', sa.Integer(), nullable=True),
    sa.Column('link_id', sa.String(length=40), nullable=True),
    sa.Column('client', sa.String(length=128), nullable=False),
    sa.ForeignKeyConstraint(['user_pk'], ['users.pk'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('pk'),
    sa.UniqueConstraint('id')
    )
    with op.batch_alter_table('time_requests', schema=None) as batch_op:
        batch_op.create_index('ix_time_requests_status_expires', ['status', 'expires_at'], unique=False)
        batch_op.create_index('ix_time_requests_user_status', ['user_pk', 'status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('time_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_time_requests_user_status')
        batch_op.drop_index('ix_time_requests_status_expires')
    op.drop_table('time_requests')
    with op.batch_alter_table('guardian_links', schema=None) as batch_op:
        batch_op.drop_index('ix_guardian_links_guardian')
    op.drop_table('guardian_links')
    op.drop_table('uncounted_days')
    with op.batch_alter_table('grants', schema=None) as batch_op:
        batch_op.drop_column('link_id')
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.drop_column('purpose')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('marked')
