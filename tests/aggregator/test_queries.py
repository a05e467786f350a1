"""Read-side queries on SQLite and PostgreSQL: the agenda, exclusion reasons, sources, stats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from aggregator.ingest import ingest_events
from aggregator.models import Event, Source
from aggregator.queries import (
    agenda_events,
    all_events_with_reasons,
    event_sources,
    explain_exclusion,
    source_stats,
)
from aggregator.raw import RawEvent
from aggregator.regions import load_region
from aggregator.settings import Settings

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
REGION = load_region("aix-marseille")
WINDOW = {"start": NOW, "end": NOW + timedelta(days=60)}


@pytest.fixture
def session(engine: Engine, settings: Settings):
    with Session(engine, expire_on_commit=False) as s:
        jug = Source(name="JUG", url="https://jug.example/ics", kind="meetup group",
                     authority=70, state="approved")
        city = Source(name="Ville", url="https://ville.example/agenda", kind="aggregator",
                      authority=30, state="approved", last_error="HTTP 503")
        s.add(jug)
        s.add(city)
        s.flush()
        ingest_events(s, jug, [
            RawEvent(title="Kotlin à Marseille", start=datetime(2026, 12, 3, 19), uid="k",
                     city="Marseille", url="https://jug.example/e/k"),
            RawEvent(title="Python à Aix", start=datetime(2026, 12, 4, 19), uid="p", city="Aix"),
            RawEvent(title="Webinaire Rust", start=datetime(2026, 12, 5, 12), uid="r",
                     online=True),
            RawEvent(title="Meetup Java à Arles", start=datetime(2026, 12, 6, 19), uid="a",
                     city="Arles"),
            RawEvent(title="Kotlin passé", start=datetime(2026, 11, 1, 19), uid="old",
                     city="Marseille"),
        ], now=NOW, complete=True, settings=settings)
        ingest_events(s, city, [
            RawEvent(title="Concert au parc", start=datetime(2026, 12, 3, 20), uid="c",
                     city="Marseille"),
            RawEvent(title="Kotlin à Marseille", start=datetime(2026, 12, 3, 19), uid="k2",
                     city="Marseille 13001", url="https://ville.example/e/42"),
        ], now=NOW, complete=True, settings=settings)
        s.commit()
        yield s


def titles(events: list[Event]) -> list[str]:
    return [e.title for e in events]


def test_the_agenda_shows_relevant_events_in_the_region_or_online_by_start(
    session: Session,
) -> None:
    shown = titles(agenda_events(session, region=REGION, **WINDOW))
    assert shown == ["Kotlin à Marseille", "Python à Aix", "Webinaire Rust"]


def test_the_agenda_filters_by_town_online_topic_and_text(session: Session) -> None:
    assert titles(agenda_events(session, region=REGION, towns=["13001"], online=False,
                                **WINDOW)) == ["Python à Aix"]
    assert titles(agenda_events(session, region=REGION, towns=["Aix"], **WINDOW)) == [
        "Python à Aix", "Webinaire Rust"]
    assert titles(agenda_events(session, region=REGION, online=True, **WINDOW)) == [
        "Webinaire Rust"]
    assert titles(agenda_events(session, region=REGION, topics=["ia-data"], **WINDOW)) == [
        "Python à Aix"]
    assert titles(agenda_events(session, region=REGION, text="kotlin MARSEILLE", **WINDOW)) == [
        "Kotlin à Marseille"]
    assert titles(agenda_events(session, region=REGION, limit=1, offset=1, **WINDOW)) == [
        "Python à Aix"]


def test_hidden_events_are_left_out_unless_asked(session: Session) -> None:
    event = session.exec(select(Event).where(Event.title == "Python à Aix")).one()
    event.hidden = True
    session.commit()
    assert "Python à Aix" not in titles(agenda_events(session, region=REGION, **WINDOW))
    assert "Python à Aix" in titles(
        agenda_events(session, region=REGION, include_hidden=True, **WINDOW))
    assert explain_exclusion(event, region=REGION) == "hidden by an admin"


def test_every_left_out_event_says_why(session: Session) -> None:
    reasons = {e.title: r for e, r in all_events_with_reasons(session, region=REGION, now=NOW)}
    assert reasons["Kotlin à Marseille"] is None
    assert "outside the region" in reasons["Meetup Java à Arles"]
    assert "not tech enough" in reasons["Concert au parc"]
    assert reasons["Kotlin passé"] == "past"


def test_event_sources_lists_every_link(session: Session) -> None:
    event = session.exec(select(Event).where(Event.title == "Kotlin à Marseille")).one()
    assert event.id is not None
    assert event_sources(session, [event.id])[event.id] == [
        "https://jug.example/e/k", "https://ville.example/e/42"]


def test_source_stats_count_events_shares_merges_and_warnings(session: Session) -> None:
    stats = {row["name"]: row for row in source_stats(session)}
    assert stats["JUG"]["events"] == 5
    assert stats["JUG"]["in_region_share"] == 0.6
    assert stats["JUG"]["online_share"] == 0.2
    assert stats["JUG"]["duplicates_merged"] == 1
    assert stats["Ville"]["duplicates_merged"] == 1
    assert stats["Ville"]["warnings"] == ["HTTP 503"]
