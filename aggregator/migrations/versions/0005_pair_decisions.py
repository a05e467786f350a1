"""pair decisions: the admin's "possible duplicates" queue

Revision ID: 0005
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import aggregator.models


revision = '0005'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('pairdecision',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('left_key', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('right_key', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('left_event_id', sa.Integer(), nullable=True),
    sa.Column('right_event_id', sa.Integer(), nullable=True),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('decided_by', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('decided_at', aggregator.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', aggregator.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['left_event_id'], ['event.id'], ),
    sa.ForeignKeyConstraint(['right_event_id'], ['event.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('left_key', 'right_key')
    )
    with op.batch_alter_table('pairdecision', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pairdecision_left_event_id'), ['left_event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_pairdecision_right_event_id'), ['right_event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_pairdecision_status'), ['status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('pairdecision', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pairdecision_status'))
        batch_op.drop_index(batch_op.f('ix_pairdecision_right_event_id'))
        batch_op.drop_index(batch_op.f('ix_pairdecision_left_event_id'))
    op.drop_table('pairdecision')
