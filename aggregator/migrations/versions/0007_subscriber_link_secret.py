"""links bound to one person, revocable admin sessions, counted feedback votes

* ``subscriber.link_secret``: a random value every signed link carries; existing rows get
  their own random one (their old links, which carry none, stop working).
* ``subscriber.confirm_mails``: when the last day's confirmation mails left (limits).
* ``adminuser.session_version``: in the session cookie; bumped at logout and password change.
* ``feedbackvote``: one row per counted click, so a replayed click counts once.

Revision ID: 0007
Revises: 0005
"""
import secrets

from alembic import op
import sqlalchemy as sa
import sqlmodel
import aggregator.models


revision = '0007'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('subscriber', schema=None) as batch_op:
        batch_op.add_column(sa.Column('link_secret', sa.String(length=32), nullable=True))
        batch_op.add_column(
            sa.Column('confirm_mails', sa.JSON(), server_default='[]', nullable=False)
        )
    conn = op.get_bind()
    subscriber = sa.table('subscriber', sa.column('id', sa.Integer),
                          sa.column('link_secret', sa.String))
    ids = [row[0] for row in conn.execute(sa.select(subscriber.c.id))]
    for sub_id in ids:
        conn.execute(
            subscriber.update()
            .where(subscriber.c.id == sub_id)
            .values(link_secret=secrets.token_urlsafe(18))
        )
    with op.batch_alter_table('subscriber', schema=None) as batch_op:
        batch_op.alter_column('link_secret', existing_type=sa.String(length=32), nullable=False)
        batch_op.alter_column('confirm_mails', existing_type=sa.JSON(), server_default=None)
    with op.batch_alter_table('adminuser', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('session_version', sa.Integer(), server_default='0', nullable=False)
        )
    op.create_table('feedbackvote',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subscriber_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('direction', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_at', aggregator.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['subscriber_id'], ['subscriber.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('subscriber_id', 'event_id', 'direction')
    )
    with op.batch_alter_table('feedbackvote', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_feedbackvote_subscriber_id'), ['subscriber_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('feedbackvote', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feedbackvote_subscriber_id'))
    op.drop_table('feedbackvote')
    with op.batch_alter_table('adminuser', schema=None) as batch_op:
        batch_op.drop_column('session_version')
    with op.batch_alter_table('subscriber', schema=None) as batch_op:
        batch_op.drop_column('confirm_mails')
        batch_op.drop_column('link_secret')
