"""age signals, guardians' parental consent, and the signals' copy on the user's row

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07

DESIGN section 8: a user's age signals, one per source, each with its provenance and the span of
birth dates it gives; a linked guardian's consent; and the signals as the decision reads them,
on the user's row, so the hot paths read them with the row (no extra statement).
"""
import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('age_signals',
    sa.Column('pk', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('user_pk', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('age_min', sa.Integer(), nullable=False),
    sa.Column('age_max', sa.Integer(), nullable=True),
    sa.Column('born_from', sa.Date(), nullable=True),
    sa.Column('born_to', sa.Date(), nullable=False),
    sa.Column('method', sa.String(length=32), nullable=False),
    sa.Column('assurance', sa.String(length=16), nullable=False),
    sa.Column('observed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('parental_consent', sa.String(length=16), nullable=True),
    sa.Column('client', sa.String(length=128), nullable=False),
    sa.Column('set_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_pk'], ['users.pk'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('pk'),
    sa.UniqueConstraint('user_pk', 'source', name='uq_age_signals_user_source')
    )
    with op.batch_alter_table('guardian_links', schema=None) as batch_op:
        batch_op.add_column(sa.Column('consent', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('consent_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('age_signals', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('age_signals')
    with op.batch_alter_table('guardian_links', schema=None) as batch_op:
        batch_op.drop_column('consent_at')
        batch_op.drop_column('consent')
    op.drop_table('age_signals')
