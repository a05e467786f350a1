"""source routes (adapter + route) and the collapse guard (suspect, missing counts)

Revision ID: 0009
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import aggregator.models


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('source', schema=None) as batch_op:
        batch_op.add_column(sa.Column('adapter', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column('route', sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column('suspect', sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(
            sa.Column('suspect_since', aggregator.models.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column('suspect_reason', sqlmodel.sql.sqltypes.AutoString(), nullable=True)
        )
        batch_op.add_column(sa.Column('last_events_found', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('missing', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('source', schema=None) as batch_op:
        for name in ('missing', 'last_events_found', 'suspect_reason', 'suspect_since',
                     'suspect', 'route', 'adapter'):
            batch_op.drop_column(name)
