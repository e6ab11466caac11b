"""heartbeats rewrite no index: drop the index on sessions.last_seen_at

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29

Every heartbeat moves its session's `last_seen_at`. With that column indexed, PostgreSQL cannot
update the row in place (HOT): each heartbeat wrote a new entry into every index of `sessions`,
and SQLite rewrote an index page. The sweeper, the only reader of that index, now walks the
running sessions through `ix_sessions_user_active` (partial, `ended_at IS NULL`) every 30 s, which
reads each running session once per sweep instead of writing four index entries per heartbeat.
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

_WHERE = {"sqlite_where": sa.text('ended_at IS NULL'), "postgresql_where": sa.text('ended_at IS NULL')}


def upgrade() -> None:
    with op.batch_alter_table('sessions') as batch_op:
        batch_op.drop_index('ix_sessions_stale', **_WHERE)


def downgrade() -> None:
    with op.batch_alter_table('sessions') as batch_op:
        batch_op.create_index('ix_sessions_stale', ['last_seen_at'], unique=False, **_WHERE)
