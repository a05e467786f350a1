"""source.contact_language: the language an organizer submitted in, as a column

The inbox kept it inside the JSON ``source.last_check`` (``{"organizer": {"language"}}``),
which a later check of the source rewrites: the decision mail then fell back to French.
Backfilled from that key; the key stays.

Revision ID: 0011
Revises: 0010
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

CHUNK = 500


def _language(last_check: object) -> str | None:
    organizer = last_check.get('organizer') if isinstance(last_check, dict) else None
    found = organizer.get('language') if isinstance(organizer, dict) else None
    return found if found in ('fr', 'en') else None


def upgrade() -> None:
    op.add_column('source', sa.Column('contact_language', sa.String(length=8), nullable=True))
    source = sa.table('source', sa.column('id', sa.Integer), sa.column('last_check', sa.JSON),
                      sa.column('contact_language', sa.String))
    conn = op.get_bind()
    rows = conn.execute(sa.select(source.c.id, source.c.last_check)).all()
    found = [{'sid': row.id, 'language': lang} for row in rows
             if (lang := _language(row.last_check)) is not None]
    update = (source.update().where(source.c.id == sa.bindparam('sid'))
              .values(contact_language=sa.bindparam('language')))
    for i in range(0, len(found), CHUNK):
        conn.execute(update, found[i:i + CHUNK])


def downgrade() -> None:
    op.drop_column('source', 'contact_language')
