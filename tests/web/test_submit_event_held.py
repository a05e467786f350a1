"""The single-event form holds a submission for review and never hides a published event.

Regression: the form used to ingest the submission, then hide every event linked to its
form source; a submission that ingest merged into an event already published from a feed
took that event off the agenda (one anonymous POST was enough).
"""

from __future__ import annotations

from datetime import datetime

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from aggregator.db import session_scope
from aggregator.ingest import ingest_events
from aggregator.models import Event, EventLink, Source, SourceState
from aggregator.raw import RawEvent
from aggregator.settings import Settings
from tests.web.conftest import NOW, post_form

TITLE = "Meetup Python Marseille : typage et asyncio"
PAGE = "https://python-marseille.example/meetups/2026-12-09"


def _publish_from_a_feed(engine: Engine, settings: Settings) -> int:
    with session_scope(engine) as session:
        feed = Source(
            name="Python Marseille",
            url="https://python-marseille.example/agenda.ics",
            kind="meetup group",
            state=SourceState.approved,
            authority=70,
            created_at=NOW,
        )
        session.add(feed)
        session.flush()
        raw = RawEvent(
            title=TITLE,
            start=datetime(2026, 12, 9, 19, 0),
            end=datetime(2026, 12, 9, 21, 30),
            timezone="Europe/Paris",
            url=PAGE,
            venue="La Coque",
            address="2 rue Henri Barbusse",
            city="Marseille",
            uid="meetup-2026-12-09@python-marseille.example",
            source_format="ical",
        )
        ingest_events(session, feed, [raw], now=NOW, complete=False, settings=settings)
        (event,) = session.exec(select(Event)).all()
        assert not event.hidden and event.id is not None
        return event.id


def test_a_submission_merged_into_a_published_event_leaves_it_on_the_agenda(
    client: TestClient, sqlite_engine: Engine, settings: Settings
) -> None:
    published = _publish_from_a_feed(sqlite_engine, settings)
    agenda = "/?from=2026-12-09&to=2026-12-09"
    assert "typage et asyncio" in client.get(agenda).text
    response = post_form(
        client,
        "/submit/event",
        {
            "title": TITLE,
            "day": "2026-12-09",
            "start_time": "19:00",
            "end_time": "21:30",
            "venue": "La Coque",
            "address": "2 rue Henri Barbusse",
            "city": "Marseille",
            "url": PAGE,
            "organizer": "Python Marseille",
            "contact_email": "bureau@python-marseille.example",
        },
    )
    assert response.status_code == 200 and "Merci" in response.text
    with session_scope(sqlite_engine) as session:
        form = session.exec(select(Source).where(Source.kind == "form")).one()
        linked = session.exec(
            select(EventLink.event_id).where(col(EventLink.source_id) == form.id)
        ).all()
        event = session.get(Event, published)
        assert event is not None
        assert list(linked) == [published]  # ingest merged the submission into it
        assert not event.hidden
    assert "typage et asyncio" in client.get(agenda).text


def test_a_new_submission_is_held_until_an_admin_publishes_it(
    client: TestClient, sqlite_engine: Engine
) -> None:
    response = post_form(
        client,
        "/submit/event",
        {
            "title": "Install party Linux au Fablab",
            "day": "2026-12-12",
            "start_time": "10:00",
            "city": "Marseille",
            "organizer": "Fablab Marseille",
            "contact_email": "contact@fablab13.example",
        },
    )
    assert response.status_code == 200
    with session_scope(sqlite_engine) as session:
        (event,) = session.exec(select(Event)).all()
        assert event.hidden
    assert "Install party" not in client.get("/?from=2026-12-12&to=2026-12-12").text
