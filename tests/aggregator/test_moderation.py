"""Admin merge, split and hide survive later crawls; a merged event explains itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from aggregator.errors import InvalidInputError, NotFoundError
from aggregator.ingest import ingest_events
from aggregator.models import Event, EventLink, Source
from aggregator.moderation import (
    explain_event,
    hide_event,
    merge_events,
    split_link,
    unhide_event,
)
from aggregator.queries import explain_exclusion
from aggregator.raw import RawEvent
from aggregator.settings import Settings

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=6)


def meetup_k8s() -> RawEvent:
    return RawEvent(
        title="Kubernetes en production : retours d'expérience et GitOps avec Argo CD",
        start=datetime(2026, 12, 1, 19, 0),
        end=datetime(2026, 12, 1, 21, 30),
        uid="event_312000101@meetup.com",
        url="https://www.meetup.com/cloud-native-aix-marseille/events/312000101/",
        address="La Coque (Marseille Innovation) - 2 Rue Henri Barbusse, 13001 Marseille",
        description="Deux talks : Kubernetes sans coupure, GitOps avec Argo CD.",
    )


def adl_k8s() -> RawEvent:
    return RawEvent(
        title="Marseille : Kubernetes en production, retours d'expérience et GitOps",
        start=datetime(2026, 12, 1, 19, 0),
        end=datetime(2026, 12, 1, 21, 30),
        uid="https://www.agendadulibre.org/events/31002",
        url="https://www.agendadulibre.org/events/31002",
        address="La Coque, 2 rue Henri Barbusse, 13001 Marseille",
        image="https://www.agendadulibre.org/images/31002.png",
        categories=("kubernetes", "devops"),
    )


def jug_java() -> RawEvent:
    return RawEvent(
        title="Java 25 : les nouveautés qui changent la vie",
        start=datetime(2026, 12, 4, 19, 0),
        url="https://marsjug.example/2026/java-25",
        venue="Pôle Média Belle de Mai",
        city="Marseille",
    )


def adl_java() -> RawEvent:
    return RawEvent(
        title="Marseille : soirée Java User Group",
        start=datetime(2026, 12, 4, 19, 0),
        uid="https://www.agendadulibre.org/events/31009",
        address="Pôle Média Belle de Mai, 37 rue Guibal, 13003 Marseille",
    )


@pytest.fixture
def session(engine: Engine):
    with Session(engine, expire_on_commit=False) as s:
        yield s


@pytest.fixture
def sources(session: Session) -> tuple[Source, Source]:
    meetup = Source(name="Cloud Native (Meetup)", url="https://meetup.example/ical",
                    kind="meetup group", authority=80, state="approved")
    adl = Source(name="Agenda du Libre", url="https://adl.example/rss", kind="aggregator",
                 authority=30, state="approved")
    session.add(meetup)
    session.add(adl)
    session.commit()
    return meetup, adl


def crawl(session: Session, sources: tuple[Source, Source], settings: Settings,
          at: datetime) -> None:
    meetup, adl = sources
    ingest_events(session, meetup, [meetup_k8s(), jug_java()], now=at, complete=True,
                  settings=settings)
    ingest_events(session, adl, [adl_k8s(), adl_java()], now=at, complete=True,
                  settings=settings)
    session.commit()


def events(session: Session) -> list[Event]:
    return list(session.exec(select(Event).order_by(Event.id)))


def links_of(session: Session, event_id: int | None) -> list[EventLink]:
    return list(session.exec(select(EventLink).where(EventLink.event_id == event_id)))


def k8s(session: Session) -> Event:
    return next(e for e in events(session) if "Kubernetes" in e.title and not e.hidden)


def test_an_automatic_merge_records_its_score_reasons_and_field_sources(
    session: Session, sources: tuple[Source, Source], settings: Settings
) -> None:
    meetup, adl = sources
    crawl(session, sources, settings, NOW)
    event = k8s(session)
    assert len(links_of(session, event.id)) == 2
    (note,) = event.merge_notes
    assert note["source_id"] == adl.id and note["score"] >= 72
    assert "same town" in note["reasons"]
    assert event.field_sources["title"] == meetup.id  # the organizer's own feed wins
    assert event.field_sources["image"] == adl.id  # only the aggregator has one


def test_explain_event_lists_links_field_provenance_and_merge_reasons(
    session: Session, sources: tuple[Source, Source], settings: Settings
) -> None:
    meetup, adl = sources
    crawl(session, sources, settings, NOW)
    event = k8s(session)
    assert event.id is not None
    explained = explain_event(session, event.id)
    assert {x["source"] for x in explained["links"]} == {meetup.name, adl.name}
    assert explained["fields"]["title"]["source"] == meetup.name
    assert explained["fields"]["image"] == {
        "source_id": adl.id, "source": adl.name,
        "value": "https://www.agendadulibre.org/images/31002.png"}
    assert explained["fields"]["time"]["value"] == "2026-12-01T18:00:00+00:00"
    (merge,) = explained["merges"]
    assert merge["source"] == adl.name and merge["score"] >= 72 and merge["reasons"]
    with pytest.raises(NotFoundError):
        explain_event(session, 999_999)


def test_an_admin_split_survives_a_recrawl_of_the_same_batch(
    session: Session, sources: tuple[Source, Source], settings: Settings
) -> None:
    _meetup, adl = sources
    crawl(session, sources, settings, NOW)
    event = k8s(session)
    adl_link = next(x for x in links_of(session, event.id) if x.source_id == adl.id)
    assert adl_link.id is not None
    fresh = split_link(session, adl_link.id, now=NOW, by="admin:camille")
    session.commit()
    assert fresh.title.startswith("Marseille : Kubernetes")  # composed from its own link
    assert fresh.field_sources["title"] == adl.id
    assert fresh.merge_notes[0]["split_from"] == event.id
    session.refresh(event)
    assert event.field_sources.get("image") is None and event.image is None
    crawl(session, sources, settings, LATER)
    kept = [link.event_id for link in links_of(session, event.id)]
    assert len(kept) == 1
    (moved,) = links_of(session, fresh.id)
    assert moved.id == adl_link.id and moved.pinned
    assert len([e for e in events(session) if "Kubernetes" in e.title]) == 2


def test_an_admin_merge_survives_a_recrawl_and_nothing_matches_the_merged_away_event(
    session: Session, sources: tuple[Source, Source], settings: Settings
) -> None:
    meetup, adl = sources
    crawl(session, sources, settings, NOW)
    java = [e for e in events(session) if e.start_date and e.start_date.day == 4]
    assert len(java) == 2  # the titles are too different for an automatic merge
    keep, other = sorted(java, key=lambda e: e.id or 0)
    assert keep.id is not None and other.id is not None
    merged = merge_events(session, keep.id, other.id, now=NOW, by="admin:camille")
    session.commit()
    assert {x.source_id for x in links_of(session, keep.id)} == {meetup.id, adl.id}
    assert merged.field_sources["title"] == meetup.id
    assert merged.merge_notes[-1]["manual"] and merged.merge_notes[-1]["merged"] == other.id
    assert (other.merged_into, keep.merged_into) == (keep.id, None)
    assert explain_exclusion(other) == f"merged into event #{keep.id}"
    crawl(session, sources, settings, LATER)
    session.refresh(other)
    assert other.hidden and links_of(session, other.id) == []
    assert other.merged_into == keep.id
    assert all(x.pinned for x in links_of(session, keep.id))
    assert len(links_of(session, keep.id)) == 2
    third = Source(name="Ville de Marseille", url="https://ville.example/agenda",
                   kind="venue", authority=50, state="approved")
    session.add(third)
    session.commit()
    ingest_events(session, third, [adl_java().with_(uid="ville-77")], now=LATER,
                  complete=True, settings=settings)
    session.commit()
    assert links_of(session, other.id) == []  # the tombstone attracts no new link


def test_an_event_merged_into_another_by_the_column_alone_is_no_match_target(
    session: Session, sources: tuple[Source, Source], settings: Settings
) -> None:
    meetup, adl = sources
    ingest_events(session, meetup, [meetup_k8s(), jug_java()], now=NOW, complete=True,
                  settings=settings)
    session.commit()
    cluster, java = sorted(events(session), key=lambda e: e.start or NOW)
    cluster.merged_into = java.id  # the column says so; no note in merge_notes
    session.add(cluster)
    session.commit()
    assert cluster.merge_notes == []
    stats = ingest_events(session, adl, [adl_k8s()], now=NOW, complete=True, settings=settings)
    session.commit()
    assert (stats.new, stats.merged) == (1, 0)
    assert {x.source_id for x in links_of(session, cluster.id)} == {meetup.id}


def test_a_hidden_event_stays_hidden_after_a_recrawl_and_can_be_shown_again(
    session: Session, sources: tuple[Source, Source], settings: Settings
) -> None:
    crawl(session, sources, settings, NOW)
    event = k8s(session)
    assert event.id is not None
    hide_event(session, event.id, now=NOW)
    session.commit()
    crawl(session, sources, settings, LATER)
    session.refresh(event)
    assert event.hidden
    assert all(x.pinned for x in links_of(session, event.id))
    unhide_event(session, event.id, now=LATER)
    session.commit()
    session.refresh(event)
    assert not event.hidden


def test_splitting_a_single_source_event_or_merging_an_event_with_itself_is_refused(
    session: Session, sources: tuple[Source, Source], settings: Settings
) -> None:
    crawl(session, sources, settings, NOW)
    lone = next(e for e in events(session) if "Java 25" in e.title)
    (link,) = links_of(session, lone.id)
    assert link.id is not None and lone.id is not None
    with pytest.raises(InvalidInputError):
        split_link(session, link.id, now=NOW)
    with pytest.raises(InvalidInputError):
        merge_events(session, lone.id, lone.id, now=NOW)
    with pytest.raises(NotFoundError):
        split_link(session, 999_999, now=NOW)
