"""Revision 0010 turns the ``merged_into`` notes of ``event.merge_notes`` into a column,
on SQLite and PostgreSQL, and its downgrade gives the old schema back."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from alembic import command

from aggregator.db import alembic_config, current_revision, make_engine, upgrade

NOTES = {
    "kept": [{"merged": 2, "by": "admin", "manual": True}],
    "merged by dedupe": [{"score": 0.9}, {"merged_into": 1, "by": "dedupe"}],
    "merged twice": [{"merged_into": 2, "by": "dedupe"}, {"hidden": True},
                     {"merged_into": 1, "by": "admin:camille", "manual": True}],
    "split, never merged": [{"split_from": 1, "link": 4}],
    "names a missing event": [{"merged_into": 99, "by": "dedupe"}],
    "junk notes": ["a string", {"merged_into": "1"}],
}


def _insert_events(conn: sa.Connection) -> None:
    for title, notes in NOTES.items():
        conn.execute(sa.text(
            "INSERT INTO event (title, all_day, timezone, status, end_before_start, online,"
            " in_region, topics, relevance, hidden, title_key, content_hash, field_sources,"
            " merge_notes, marked_tech) VALUES (:title, false, 'Europe/Paris', 'scheduled',"
            " false, false, true, '[]', 1.0, :hidden, '', '', '{}', :notes, false)"),
            {"title": title, "hidden": title != "kept", "notes": json.dumps(notes)})


def test_the_last_merged_into_note_becomes_the_column_and_downgrade_drops_it(
    blank_url: str,
) -> None:
    engine = make_engine(blank_url)
    upgrade(engine, "0009")
    with engine.begin() as conn:
        _insert_events(conn)
    upgrade(engine, "0010")
    with engine.connect() as conn:
        rows = dict(conn.execute(sa.text("SELECT title, merged_into FROM event")).all())
        ids = dict(conn.execute(sa.text("SELECT title, id FROM event")).all())
    assert rows == {"kept": None, "merged by dedupe": ids["kept"], "merged twice": ids["kept"],
                    "split, never merged": None, "names a missing event": None,
                    "junk notes": None}
    # the column is a foreign key to event.id
    with engine.begin() as conn, pytest.raises(sa.exc.IntegrityError), conn.begin_nested():
        conn.execute(sa.text("UPDATE event SET merged_into = 12345 WHERE title = 'kept'"))
    command.downgrade(alembic_config(engine), "0009")
    assert current_revision(engine) == "0009"
    columns = {c["name"] for c in sa.inspect(engine).get_columns("event")}
    assert "merged_into" not in columns and "merge_notes" in columns
    with engine.connect() as conn:  # the notes, the history, are all still there
        notes = dict(conn.execute(sa.text("SELECT title, merge_notes FROM event")).all())
    assert {t: n if isinstance(n, list) else json.loads(n) for t, n in notes.items()} == NOTES
    upgrade(engine)  # and back up again
    with engine.connect() as conn:
        again = dict(conn.execute(sa.text("SELECT title, merged_into FROM event")).all())
    assert again == rows
    engine.dispose()
