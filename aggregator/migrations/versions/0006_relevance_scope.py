"""source scope (tech/mixed) and an admin's per-event "this is tech" mark

Revision ID: 0006
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0006'
down_revision = '0001'
branch_labels = None
depends_on = None

# Kinds of general agendas (region pack sources.csv): their events must earn relevance.
MIXED_KINDS = ("aggregator", "venue", "city", "library")


def upgrade() -> None:
    with op.batch_alter_table('source', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scope', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('marked_tech', sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    source = sa.table('source', sa.column('kind', sa.String), sa.column('scope', sa.String))
    op.execute(
        source.update()
        .where(sa.func.lower(sa.func.coalesce(source.c.kind, '')).in_(MIXED_KINDS))
        .values(scope='mixed')
    )
    op.execute(source.update().where(source.c.scope.is_(None)).values(scope='tech'))


def downgrade() -> None:
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_column('marked_tech')
    with op.batch_alter_table('source', schema=None) as batch_op:
        batch_op.drop_column('scope')
