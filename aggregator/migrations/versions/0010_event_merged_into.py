"""event.merged_into: the event a merged-away event went into, as a column

Until now a merge was told only by a ``{"merged_into": <id>, ...}`` note in the JSON column
``event.merge_notes``. The column is backfilled from the last such note (when the event it
names still exists); the notes stay as history.

Revision ID: 0010
Revises: 0009
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

CHUNK = 500


def _last_target(notes: object) -> int | None:
    """The ``merged_into`` of the last note that has one (None: never merged away)."""
    target = None
    for note in notes if isinstance(notes, list) else ():
        if isinstance(note, dict) and isinstance(note.get('merged_into'), int):
            target = note['merged_into']
    return target


def upgrade() -> None:
    # Inline REFERENCES: SQLite adds the column with its foreign key without copying the
    # table; PostgreSQL takes it the same way.
    op.add_column(
        'event',
        sa.Column('merged_into', sa.Integer(), sa.ForeignKey('event.id'), nullable=True),
        inline_references=True,
    )
    op.create_index(op.f('ix_event_merged_into'), 'event', ['merged_into'], unique=False)
    event = sa.table('event', sa.column('id', sa.Integer), sa.column('merge_notes', sa.JSON),
                     sa.column('merged_into', sa.Integer))
    conn = op.get_bind()
    ids = {row.id for row in conn.execute(sa.select(event.c.id))}
    rows = conn.execute(sa.select(event.c.id, event.c.merge_notes)).all()
    targets = [{'eid': row.id, 'target': t} for row in rows
               if (t := _last_target(row.merge_notes)) is not None and t in ids and t != row.id]
    update = (event.update().where(event.c.id == sa.bindparam('eid'))
              .values(merged_into=sa.bindparam('target')))
    for i in range(0, len(targets), CHUNK):
        conn.execute(update, targets[i:i + CHUNK])


def downgrade() -> None:
    # The notes were kept: nothing is lost. SQLite drops the column in place (3.35+).
    op.drop_index(op.f('ix_event_merged_into'), table_name='event')
    op.drop_column('event', 'merged_into')
