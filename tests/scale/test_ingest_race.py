"""Two sources bring the same new event at the same moment: one event, not two (PostgreSQL).

The source row lock only queues ingests of one source; two crawler workers ingesting
*different* sources that list one new event used to both miss the other's uncommitted
insert and create two events. Ingest now takes a transaction-scoped advisory lock per
local day of its new links before matching, so the second writer waits and merges.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from aggregator.ingest import ingest_events
from aggregator.models import Event, EventLink, Source, SourceState
from aggregator.raw import RawEvent
from aggregator.settings import Settings

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def _meetup(source: str) -> RawEvent:
    return RawEvent(
        title="Meetup Python Aix-Marseille : FastAPI en production",
        start=datetime(2026, 12, 10, 19, 0),
        end=datetime(2026, 12, 10, 21, 30),
        timezone="Europe/Paris",
        uid=f"{source}-4242",
        url=f"https://{source}.example.org/events/4242",
        venue="La Coque",
        address="2 rue Henri Barbusse",
        city="Marseille",
        postcode="13001",
        description="Retours d'expérience sur FastAPI, SQLAlchemy 2 et le déploiement.",
    )


@pytest.mark.postgres
def test_two_sources_ingesting_one_new_event_at_once_make_one_event(
    pg_engine: Engine, settings: Settings
) -> None:
    settings = settings.model_copy(update={"database_url": str(pg_engine.url)})
    with Session(pg_engine) as session:
        rows = [
            Source(
                name="Meetup", url="https://meetup.example.org/feed.ics", state=SourceState.approved
            ),
            Source(
                name="Agenda", url="https://agenda.example.org/feed.ics", state=SourceState.approved
            ),
        ]
        session.add_all(rows)
        session.commit()
        ids = [row.id for row in rows]
    first_ingested = threading.Event()
    release_first = threading.Event()
    errors: list[BaseException] = []

    def ingest(source_id: int | None, name: str, hold: bool) -> None:
        try:
            with Session(pg_engine) as session:
                source = session.get(Source, source_id)
                assert source is not None
                ingest_events(
                    session, source, [_meetup(name)], now=NOW, complete=True, settings=settings
                )
                if hold:  # the first writer has inserted but not committed yet
                    first_ingested.set()
                    release_first.wait(10)
                session.commit()
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
            first_ingested.set()

    first = threading.Thread(target=ingest, args=(ids[0], "meetup", True))
    second = threading.Thread(target=ingest, args=(ids[1], "agenda", False))
    first.start()
    assert first_ingested.wait(10)
    second.start()
    second.join(0.5)  # with the day lock it waits for the first commit; without, it is done
    release_first.set()
    first.join(10)
    second.join(10)
    assert not errors
    with Session(pg_engine) as session:
        assert session.exec(select(func.count()).select_from(Event)).one() == 1
        assert session.exec(select(func.count()).select_from(EventLink)).one() == 2
