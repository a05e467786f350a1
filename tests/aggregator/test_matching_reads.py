"""Matching reads the stored listings of a batch's days through ``ix_event_start_date``,
however many other events the store holds (before revision 0012 every batch read the whole
event table: SQLite took the ``merged_into`` index, which nearly every event matches)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from aggregator.ingest import ingest_events
from aggregator.matching import load_listings
from aggregator.models import Event, Source
from aggregator.raw import RawEvent
from aggregator.settings import Settings

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_a_batch_reads_its_days_by_their_index(sqlite_engine: Engine, settings: Settings) -> None:
    with Session(sqlite_engine) as session:  # a year of other days' events
        session.add_all(Event(title=f"Atelier {n}", start_date=date(2025, 1, 1) + timedelta(days=n % 300),
                              start=datetime(2025, 1, 1, 18, tzinfo=UTC) + timedelta(days=n % 300),
                              timezone="Europe/Paris") for n in range(600))
        session.commit()
    with Session(sqlite_engine, expire_on_commit=False) as session:
        source = Source(name="JUG Marseille (Meetup)", url="https://jug.example/feed", state="approved")
        session.add(source)
        session.commit()
        ingest_events(session, source, [RawEvent(
            title="Meetup JUG : Kotlin", start=datetime(2026, 12, 3, 19, 0), uid="301@jug",
            city="Marseille")], now=NOW, complete=True, settings=settings)
        session.commit()
        plans: list[str] = []

        @sa.event.listens_for(sqlite_engine, "before_cursor_execute")
        def explain(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
            if "JOIN event ON" in statement and not statement.startswith("EXPLAIN"):
                rows = cursor.connection.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)
                plans.append(" | ".join(str(row[-1]) for row in rows))

        stored = load_listings(session, [date(2026, 12, 2), date(2026, 12, 3), date(2026, 12, 4)])
        sa.event.remove(sqlite_engine, "before_cursor_execute", explain)
    assert [c.title for c in stored.candidates] == ["Meetup JUG : Kotlin"]
    assert plans and all("ix_event_start_date" in plan for plan in plans), plans
    assert not any("merged_into" in plan for plan in plans), plans
