"""ingest_events on SQLite and PostgreSQL: idempotence, updates, merges, cancellation, scale."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from aggregator.ingest import ingest_events
from aggregator.models import Event, EventLink, Source
from aggregator.raw import RawEvent
from aggregator.settings import Settings

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def meetup(**changes) -> RawEvent:
    base = RawEvent(
        title="Meetup JUG : Kotlin Multiplatform",
        start=datetime(2026, 12, 3, 19, 0),
        end=datetime(2026, 12, 3, 21, 0),
        uid="event_301@meetup.com",
        url="https://www.meetup.com/marseille-jug/events/301/",
        city="Marseille",
        venue="La Coque",
        description="Un talk sur Kotlin.",
    )
    return base.with_(**changes)


def other_talk(**changes) -> RawEvent:
    return RawEvent(
        title="Apéro Python Aix",
        start=datetime(2026, 12, 8, 18, 30),
        uid="event_302@meetup.com",
        city="Aix-en-Provence",
    ).with_(**changes)


@pytest.fixture
def session(engine: Engine):
    with Session(engine, expire_on_commit=False) as s:
        yield s


def add(session: Session, name: str, kind: str, authority: int) -> Source:
    source = Source(name=name, url=f"https://{name}.example/feed", kind=kind, authority=authority,
                    state="approved")
    session.add(source)
    session.commit()
    return source


def events(session: Session) -> list[Event]:
    return list(session.exec(select(Event).order_by(Event.id)))


def test_ingesting_the_same_batch_twice_changes_nothing(session: Session, settings: Settings) -> None:
    src = add(session, "jug", "meetup group", 70)
    first = ingest_events(session, src, [meetup(), other_talk()], now=NOW, complete=True,
                          settings=settings)
    session.commit()
    before = [e.model_dump() for e in events(session)]
    later = NOW + timedelta(hours=6)
    second = ingest_events(session, src, [meetup(), other_talk()], now=later, complete=True,
                           settings=settings)
    session.commit()
    assert (first.found, first.new) == (2, 2)
    assert (second.new, second.updated, second.merged, second.cancelled) == (0, 0, 0, 0)
    assert [e.model_dump() for e in events(session)] == before


def test_a_moved_time_or_fixed_title_updates_the_event_in_place(
    session: Session, settings: Settings
) -> None:
    src = add(session, "jug", "meetup group", 70)
    ingest_events(session, src, [meetup()], now=NOW, complete=True, settings=settings)
    session.commit()
    (event,) = events(session)
    later = NOW + timedelta(days=1)
    stats = ingest_events(
        session, src, [meetup(title="Meetup JUG : Kotlin Multiplatform (salle 2)",
                              start=datetime(2026, 12, 3, 19, 30))],
        now=later, complete=True, settings=settings,
    )
    session.commit()
    (after,) = events(session)
    assert stats.updated == 1 and stats.new == 0
    assert after.id == event.id
    assert after.title.endswith("(salle 2)")
    assert after.start == datetime(2026, 12, 3, 18, 30, tzinfo=UTC)
    assert after.updated_at == later and after.created_at == NOW


def test_an_upcoming_event_that_vanishes_is_cancelled_not_deleted(
    session: Session, settings: Settings
) -> None:
    src = add(session, "jug", "meetup group", 70)
    ingest_events(session, src, [meetup(), other_talk()], now=NOW, complete=True,
                  settings=settings)
    session.commit()
    assert settings.crawl_gone_after == 3
    for hours in (1, 2):  # missing from fewer than CRAWL_GONE_AFTER crawls: not gone yet
        stats = ingest_events(session, src, [other_talk()], now=NOW + timedelta(hours=hours),
                              complete=True, settings=settings)
        assert stats.cancelled == 0
    later = NOW + timedelta(hours=3)
    stats = ingest_events(session, src, [other_talk()], now=later, complete=True,
                          settings=settings)
    session.commit()
    gone = session.exec(select(Event).where(Event.title.startswith("Meetup JUG"))).one()
    assert stats.cancelled == 1
    assert gone.status == "cancelled" and gone.cancelled_at == later
    assert session.exec(select(func.count()).select_from(Event)).one() == 2


def test_an_incomplete_crawl_cancels_nothing(session: Session, settings: Settings) -> None:
    src = add(session, "jug", "meetup group", 70)
    ingest_events(session, src, [meetup(), other_talk()], now=NOW, complete=True,
                  settings=settings)
    stats = ingest_events(session, src, [other_talk()], now=NOW, complete=False,
                          settings=settings)
    assert stats.cancelled == 0
    assert all(e.status == "scheduled" for e in events(session))


def test_a_past_occurrence_that_falls_out_of_the_window_is_not_a_cancellation(
    session: Session, settings: Settings
) -> None:
    src = add(session, "jug", "meetup group", 70)
    ingest_events(session, src, [meetup(), other_talk()], now=NOW, complete=True,
                  settings=settings)
    after_both = datetime(2026, 12, 20, tzinfo=UTC)
    stats = ingest_events(session, src, [], now=after_both, complete=True, settings=settings)
    assert stats.cancelled == 0
    assert all(e.status == "scheduled" for e in events(session))


def test_a_source_saying_cancelled_cancels_and_a_comeback_restores(
    session: Session, settings: Settings
) -> None:
    src = add(session, "jug", "meetup group", 70)
    ingest_events(session, src, [meetup()], now=NOW, complete=True, settings=settings)
    stats = ingest_events(session, src, [meetup(status="CANCELLED")], now=NOW, complete=True,
                          settings=settings)
    assert stats.cancelled == 1 and events(session)[0].status == "cancelled"
    ingest_events(session, src, [meetup()], now=NOW, complete=True, settings=settings)
    (event,) = events(session)
    assert event.status == "scheduled" and event.cancelled_at is None


def test_a_duplicate_from_another_source_merges_and_keeps_every_link(
    session: Session, settings: Settings
) -> None:
    organizer = add(session, "jug", "meetup group", 70)
    agenda = add(session, "agendadulibre", "aggregator", 30)
    ingest_events(session, organizer, [meetup()], now=NOW, complete=True, settings=settings)
    copy = RawEvent(
        title="KOTLIN MULTIPLATFORM - MEETUP JUG | Meetup",
        start=datetime(2026, 12, 3, 18, 0, tzinfo=UTC),
        uid="adl-9911",
        city="MARSEILLE 13002",
        description="Copie longue de l'annonce, avec beaucoup plus de texte que l'originale.",
        image="https://agendadulibre.example/img.png",
    )
    stats = ingest_events(session, agenda, [copy], now=NOW, complete=True, settings=settings)
    (event,) = events(session)
    links = session.exec(select(EventLink).where(EventLink.event_id == event.id)).all()
    assert stats.merged == 1 and len(links) == 2
    assert event.title == "Meetup JUG : Kotlin Multiplatform"  # the organizer's own feed wins
    assert event.field_sources["title"] == organizer.id
    assert event.image == "https://agendadulibre.example/img.png"  # only the copy has one
    assert event.field_sources["image"] == agenda.id
    assert event.merge_notes and event.merge_notes[0]["source_id"] == agenda.id


def test_a_vanished_link_does_not_cancel_an_event_another_source_still_carries(
    session: Session, settings: Settings
) -> None:
    settings = settings.model_copy(update={"crawl_gone_after": 1})
    organizer = add(session, "jug", "meetup group", 70)
    agenda = add(session, "agendadulibre", "aggregator", 30)
    keeps = other_talk()  # each source keeps one event: no collapse, a plain vanishing
    install = RawEvent(title="Install party Linux", start=datetime(2026, 12, 12, 14, 0),
                       uid="adl-2", city="Marseille")
    ingest_events(session, organizer, [meetup(), keeps], now=NOW, complete=True,
                  settings=settings)
    ingest_events(session, agenda, [meetup(uid="adl-1", url=None), install], now=NOW,
                  complete=True, settings=settings)
    stats = ingest_events(session, organizer, [keeps], now=NOW, complete=True,
                          settings=settings)
    assert stats.cancelled == 0
    assert events(session)[0].status == "scheduled"
    ingest_events(session, agenda, [install], now=NOW, complete=True, settings=settings)
    assert events(session)[0].status == "cancelled"


def test_a_city_agenda_contributes_only_relevant_events(
    session: Session, settings: Settings
) -> None:
    city = add(session, "ville", "aggregator", 30)
    batch = [
        RawEvent(title="Concert de jazz", start=datetime(2026, 12, 4, 20, 0), city="Marseille"),
        RawEvent(title="Initiation à Python", start=datetime(2026, 12, 5, 14, 0),
                 city="Marseille", description="Atelier de programmation."),
    ]
    ingest_events(session, city, batch, now=NOW, complete=True, settings=settings)
    relevance = {e.title: e.relevance for e in events(session)}
    assert relevance["Concert de jazz"] < 1.0 <= relevance["Initiation à Python"]


def test_events_without_a_start_are_skipped_with_a_warning(
    session: Session, settings: Settings
) -> None:
    src = add(session, "jug", "meetup group", 70)
    stats = ingest_events(session, src, [RawEvent(title="Bientôt", start=None)], now=NOW,
                          complete=True, settings=settings)
    assert stats.skipped == 1 and stats.warnings and not events(session)


def test_all_day_events_are_stored_as_dates(session: Session, settings: Settings) -> None:
    src = add(session, "kcd", "conference", 70)
    ingest_events(session, src, [RawEvent(title="KCD Provence", start=date(2026, 12, 2),
                                           end=date(2026, 12, 3), city="Aix")],
                  now=NOW, complete=True, settings=settings)
    session.commit()
    session.expire_all()
    (event,) = events(session)
    assert event.all_day and (event.start_date, event.end_date) == (date(2026, 12, 2),
                                                                    date(2026, 12, 3))


@pytest.mark.slow
def test_ten_thousand_events_of_one_source_ingest_in_one_batch(
    session: Session, settings: Settings
) -> None:
    """A big source lands whole in one pass (its speed is measured in benchmarks/, never
    asserted here: a loaded CI machine must not fail a landing)."""
    src = add(session, "big", "meetup group", 70)
    batch = [
        RawEvent(title=f"Talk {i} sur Kubernetes", start=datetime(2026, 12, 1, 18, 0)
                 + timedelta(days=i % 150, minutes=i % 7), uid=f"u{i}", city="Marseille")
        for i in range(10_000)
    ]
    stats = ingest_events(session, src, batch, now=NOW, complete=True, settings=settings)
    session.commit()
    assert (stats.new, stats.merged) == (10_000, 0)
    assert session.exec(select(func.count()).select_from(Event)).one() == 10_000


def test_two_writers_ingesting_the_same_source_at_once_store_each_link_once(
    engine: Engine, settings: Settings
) -> None:
    import threading

    with Session(engine, expire_on_commit=False) as s:
        src = add(s, "jug", "meetup group", 70)
    batch = [meetup(uid=f"e{i}", url=None, start=datetime(2026, 12, 3, 19) + timedelta(days=i))
             for i in range(150)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def writer() -> None:
        try:
            with Session(engine, expire_on_commit=False) as s:
                source = s.get(Source, src.id)
                assert source is not None
                barrier.wait()
                ingest_events(s, source, batch, now=NOW, complete=True, settings=settings)
                s.commit()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(EventLink)).one() == 150
        assert s.exec(select(func.count()).select_from(Event)).one() == 150


def test_a_news_item_placed_by_its_summary_merges_with_the_listing_and_counts_as_merged(
    session: Session, settings: Settings
) -> None:
    blog = add(session, "aixtech", "meetup group", 70)
    ticketing = add(session, "eventbrite", "aggregator", 40)
    news = RawEvent(
        title="Apéro Tech : l'IA générative dans les produits, retours de terrain",
        start=datetime(2026, 11, 30, 18, 30),
        uid="tag:aixtech.example,2026:apero-ia",
        url="https://aixtech.example/events/apero-ia-generative",
        description="<p>Rendez-vous lundi 30 novembre 2026 à 18h30 au Ground Control Aix, "
        "45 avenue de la Grande Thumine, Aix-en-Provence.</p>",
        categories=("IA",),
    )
    listing = RawEvent(
        title="Apéro Tech Aix – IA générative : retours de terrain",
        start=datetime(2026, 11, 30, 18, 30, tzinfo=UTC) - timedelta(hours=1),
        url="https://www.eventbrite.fr/e/apero-tech-aix-ia-generative-tickets-880001",
        venue="Ground Control Aix",
        address="45 avenue de la Grande Thumine",
        city="Aix-en-Provence",
        postcode="13090",
    )
    first = ingest_events(session, blog, [news], now=NOW, complete=True, settings=settings)
    second = ingest_events(session, ticketing, [listing], now=NOW, complete=True,
                           settings=settings)
    (event,) = events(session)
    assert (first.new, first.merged, second.new, second.merged) == (1, 0, 0, 1)
    assert event.title.startswith("Apéro Tech : l'IA")  # the organizer's blog wins the title
    assert (event.venue, event.insee) == ("Ground Control Aix", "13001")  # the venue is kept
    assert event.field_sources["place"] == ticketing.id


def test_a_meetup_export_that_only_restamps_dtstamp_changes_nothing(
        session: Session, settings: Settings) -> None:
    """Meetup rewrites DTSTAMP on every download: that alone is no change to the event."""
    from pathlib import Path

    from aggregator.raw import SourceDefaults
    from crawlers.parsers import parse_document

    body = (Path(__file__).parents[1] / "data/platforms/meetup/group-export.ics").read_bytes()
    restamped = re.sub(rb"DTSTAMP:\d{8}T\d{6}Z", b"DTSTAMP:20991231T235959Z", body)
    assert restamped != body
    src = add(session, "meetup-export", "meetup group", 70)
    before = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)  # the export's events are all ahead
    defaults = SourceDefaults(timezone="Europe/Paris", window_start=before,
                              window_end=before + timedelta(days=400))

    def read(data: bytes) -> list[RawEvent]:
        return parse_document(data, url="https://www.meetup.com/fr-FR/g/events/ical/",
                              headers={"content-type": "text/calendar"},
                              defaults=defaults).events

    first = ingest_events(session, src, read(body), now=before, complete=True, settings=settings)
    session.commit()
    second = ingest_events(session, src, read(restamped), now=before + timedelta(hours=6),
                           complete=True, settings=settings)
    session.commit()
    assert first.new >= 1
    assert (second.new, second.updated, second.cancelled) == (0, 0, 0)
