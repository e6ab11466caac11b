"""the hot path: a version of each user's facts and their stored decision

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29

`facts_version` is bumped by every change of what a decision depends on (verification, settings,
lock, grants); `outlook` holds the last decision of a running session and what moves it
(governor/domain/fastpath.py), so that most heartbeats skip the full decision.
"""
import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('facts_version', sa.Integer(), server_default='0', nullable=False))
        batch.add_column(sa.Column('outlook', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.drop_column('outlook')
        batch.drop_column('facts_version')
