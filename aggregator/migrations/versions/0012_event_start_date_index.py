"""event.start_date indexed: matching reads the stored events of a batch's days

Ingest matches each source's new listings against the stored events starting on the
batch's days (``aggregator.matching.load_listings``); without an index every batch read the
whole event table.

Revision ID: 0012
Revises: 0011
"""
from alembic import op


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_event_start_date', 'event', ['start_date'])


def downgrade() -> None:
    op.drop_index('ix_event_start_date', table_name='event')
