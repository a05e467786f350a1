"""The inbox's queue and decisions on SQLite and PostgreSQL: what waits, in which order,
and what approving, rejecting and editing leave behind."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from aggregator.errors import InvalidInputError
from aggregator.inbox import (
    EventEdit,
    approve_event,
    approve_feed,
    count_waiting,
    edit_event,
    record_probe,
    reject_event,
    reject_feed,
    remember_submission,
    waiting,
)
from aggregator.models import Event, Source
from aggregator.raw import RawEvent
from aggregator.regions import load_region
from aggregator.service import add_source, submit_event
from aggregator.settings import Settings

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def _submit(session: Session, settings: Settings, title: str, at: datetime) -> int:
    raw = RawEvent(title=title, start=datetime(2026, 12, 10, 18, 30),
                   end=datetime(2026, 12, 10, 21, 0), timezone="Europe/Paris",
                   venue="La Coque", city="Marseille", organizer="Rust Marseille",
                   uid=f"form-{title}", source_format="form")  # fmt: skip
    source = submit_event(session, raw, contact_email="bureau@rust.example",
                          source_url=f"http://127.0.0.1/submit/event#{title}", now=at,
                          settings=settings)  # fmt: skip
    remember_submission(source, language="en", now=at)
    session.flush()
    (item,) = [i for i in waiting(session) if i.source.id == source.id]
    assert item.event is not None and item.event.id is not None
    return item.event.id


@pytest.fixture
def session(engine: Engine) -> Session:
    with Session(engine) as session:
        yield session  # type: ignore[misc]


def test_submissions_wait_oldest_first_and_leave_the_queue_once_decided(
    session: Session, settings: Settings
) -> None:
    second = _submit(session, settings, "Atelier Rust", NOW)
    feed = add_source(session, "https://fablab-aix.example/agenda.ics", name="Fablab Aix",
                      state="pending", contact_email="contact@fablab-aix.example",
                      now=NOW - timedelta(hours=2))  # fmt: skip
    add_source(session, "https://starter.example/feed", name="Starter", state="pending",
               now=NOW - timedelta(days=3))  # an imported source: nobody to tell  # fmt: skip
    first = _submit(session, settings, "Soirée Python", NOW - timedelta(hours=1))
    assert [i.key for i in waiting(session)] == [f"feed-{feed.id}", f"event-{first}",
                                                 f"event-{second}"]  # fmt: skip
    assert count_waiting(session) == 3
    decision = approve_event(session, first, now=NOW, by="camille")
    assert (decision.approved, decision.language, decision.event_id) == (True, "en", first)
    published = session.get(Event, first)
    assert published is not None and not published.hidden and published.marked_tech
    refused = reject_event(session, second, now=NOW, by="camille", reason=" Hors sujet ")
    assert refused.reason == "Hors sujet"
    held = session.get(Event, second)
    assert held is not None and held.hidden
    assert approve_feed(session, feed.id or 0, now=NOW).kind == "feed"
    assert waiting(session) == [] and count_waiting(session) == 0
    with pytest.raises(InvalidInputError):
        approve_event(session, second, now=NOW, by="camille")  # rejected stays rejected
    with pytest.raises(InvalidInputError):
        reject_feed(session, feed.id or 0, now=NOW)


def test_an_edit_is_normalised_again_and_composed_onto_the_event(
    session: Session, settings: Settings
) -> None:
    event_id = _submit(session, settings, "Atelier Rust", NOW)
    edit = EventEdit(title="ATELIER RUST : PREMIERS PAS", start=datetime(2026, 12, 11, 19, 0),
                     end=datetime(2026, 12, 11, 21, 30), venue="Le Château de l'Informatique",
                     url="https://rust.example/ateliers")  # fmt: skip
    edit_event(session, event_id, edit, region=load_region(settings.region), now=NOW, by="c")
    event = session.get(Event, event_id)
    assert event is not None
    assert event.title == "Atelier Rust : premiers pas"  # no shouting, as ingest stores it
    assert event.start == datetime(2026, 12, 11, 18, 0, tzinfo=UTC)  # Paris is UTC+1
    assert event.venue == "Le Château de l'Informatique" and event.hidden
    assert event.url == "https://rust.example/ateliers"
    assert [i.key for i in waiting(session)] == [f"event-{event_id}"]  # still to decide
    whole_day = EventEdit(title="Journée Rust", start=date(2026, 12, 12), end=None, venue=None,
                          url=None)  # fmt: skip
    edit_event(session, event_id, whole_day, region=load_region(settings.region), now=NOW, by="c")
    assert event.all_day and event.start_date == date(2026, 12, 12)


def test_a_probe_records_its_route_or_why_it_found_none(session: Session) -> None:
    source = add_source(session, "https://fablab-aix.example/", name="Fablab Aix",
                        state="pending", contact_email="c@fablab-aix.example", now=NOW)  # fmt: skip
    remember_submission(source, language="en", now=NOW)
    finding = {"code": "unreachable", "severity": "error", "message_fr": "Le site ne répond pas",
               "message_en": "The site does not answer", "count": 0, "examples": []}  # fmt: skip
    record_probe(source, proposal=None, route=None, finding=finding, now=NOW)
    assert source.adapter is None and source.last_check is not None
    assert source.last_check["probe_failure"] == finding
    assert source.contact_language == "en" and "organizer" in source.last_check  # beside the probe
    proposal = {"adapter": "ical", "url": "https://fablab-aix.example/agenda.ics", "events": 4}
    route = {"name": "Fablab Aix", "adapter": "ical", "url": proposal["url"]}
    record_probe(source, proposal=proposal, route=route, finding=finding, now=NOW)
    assert (source.adapter, source.route) == ("ical", route)
    assert source.last_check["probe_failure"] is None and source.last_check["upcoming"] == 4
    assert isinstance(source, Source)
