"""token revocations

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-29

Revoked token ids (`jti`) and until when they stay revoked.
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('token_revocations',
    sa.Column('jti', sa.String(length=256), nullable=False),
    sa.Column('until', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_by', sa.String(length=128), nullable=False),
    sa.PrimaryKeyConstraint('jti')
    )
    with op.batch_alter_table('token_revocations', schema=None) as batch_op:
        batch_op.create_index('ix_token_revocations_until', ['until'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('token_revocations', schema=None) as batch_op:
        batch_op.drop_index('ix_token_revocations_until')
    op.drop_table('token_revocations')
