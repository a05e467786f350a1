"""Change history: ingest records moved, renamed and cancelled events; pure helpers group them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from aggregator.history import (
    changes_since,
    is_cancelled,
    is_moved,
    load_changes,
    net_changes,
)
from aggregator.ingest import ingest_events
from aggregator.models import Event, EventChange, Source
from aggregator.raw import RawEvent
from aggregator.settings import Settings

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def talk(**changes) -> RawEvent:
    return RawEvent(
        title="Observabilité : OpenTelemetry de bout en bout",
        start=datetime(2026, 12, 15, 18, 30),
        end=datetime(2026, 12, 15, 21, 0),
        uid="event_312000102@meetup.com",
        venue="The Babel Community",
        city="Aix-en-Provence",
    ).with_(**changes)


@pytest.fixture
def session(engine: Engine):
    with Session(engine, expire_on_commit=False) as s:
        yield s


def source(session: Session, name: str = "cloud-native", authority: int = 80) -> Source:
    src = Source(name=name, url=f"https://{name}.example/ical", kind="meetup group",
                 authority=authority, state="approved")
    session.add(src)
    session.commit()
    return src


def recorded(session: Session) -> list[EventChange]:
    return list(session.exec(select(EventChange).order_by(EventChange.id)))


def test_a_first_insert_and_an_unchanged_recrawl_record_no_change(
    session: Session, settings: Settings
) -> None:
    src = source(session)
    ingest_events(session, src, [talk()], now=NOW, complete=True, settings=settings)
    ingest_events(session, src, [talk()], now=NOW + timedelta(hours=6), complete=True,
                  settings=settings)
    session.commit()
    assert recorded(session) == []


def test_a_moved_time_and_venue_are_recorded_with_old_and_new_values(
    session: Session, settings: Settings
) -> None:
    src = source(session)
    ingest_events(session, src, [talk()], now=NOW, complete=True, settings=settings)
    later = NOW + timedelta(days=1)
    ingest_events(
        session, src,
        [talk(start=datetime(2026, 12, 15, 19, 0), end=datetime(2026, 12, 15, 21, 30),
              venue="Cité du Livre")],
        now=later, complete=True, settings=settings,
    )
    session.commit()
    (event,) = session.exec(select(Event)).all()
    changes = {c.field: c for c in recorded(session)}
    assert set(changes) == {"start", "end", "venue"}
    assert changes["start"].old == "2026-12-15T17:30:00+00:00"
    assert changes["start"].new == "2026-12-15T18:00:00+00:00"
    assert (changes["venue"].old, changes["venue"].new) == ("The Babel Community", "Cité du Livre")
    assert all(c.event_id == event.id and c.at == later and c.source_id == src.id
               for c in changes.values())


def test_a_vanished_upcoming_event_records_its_cancellation(
    session: Session, settings: Settings
) -> None:
    settings = settings.model_copy(update={"crawl_gone_after": 1})
    src = source(session)
    other = talk(title="Atelier Rust", uid="rust-1", start=datetime(2026, 12, 9, 19, 0),
                 end=datetime(2026, 12, 9, 21, 0), venue="Le Zinc", city="Marseille")
    ingest_events(session, src, [talk(), other], now=NOW, complete=True, settings=settings)
    ingest_events(session, src, [other], now=NOW + timedelta(hours=1), complete=True,
                  settings=settings)
    session.commit()
    (change,) = recorded(session)
    assert (change.field, change.old, change.new) == ("status", "scheduled", "cancelled")


def test_load_changes_reads_one_events_history_after_a_watermark(
    session: Session, settings: Settings
) -> None:
    src = source(session)
    ingest_events(session, src, [talk()], now=NOW, complete=True, settings=settings)
    for hours, title in ((1, "OpenTelemetry en pratique"), (5, "OpenTelemetry de A à Z")):
        ingest_events(session, src, [talk(title=title)], now=NOW + timedelta(hours=hours),
                      complete=True, settings=settings)
    session.commit()
    (event,) = session.exec(select(Event)).all()
    assert event.id is not None
    assert [c.new for c in load_changes(session, [event.id])] == [
        "OpenTelemetry en pratique", "OpenTelemetry de A à Z"]
    assert [c.new for c in load_changes(session, [event.id], NOW + timedelta(hours=2))] == [
        "OpenTelemetry de A à Z"]


def change(event_id: int, field: str, old: str | None, new: str | None, hours: int,
           ident: int = 0) -> EventChange:
    return EventChange(id=ident or None, event_id=event_id, field=field, old=old, new=new,
                       at=NOW + timedelta(hours=hours), source_id=1)


def test_changes_since_groups_per_event_oldest_first_after_the_watermark() -> None:
    history = [
        change(2, "start", "a", "b", 3),
        change(1, "title", "x", "y", 1),
        change(2, "venue", "v", "w", 2),
        change(1, "status", "scheduled", "cancelled", 5),
    ]
    grouped = changes_since(history, NOW + timedelta(hours=1, minutes=30))
    assert list(grouped) == [2, 1]
    assert [c.field for c in grouped[2]] == ["venue", "start"]
    assert [c.field for c in grouped[1]] == ["status"]
    assert sum(len(v) for v in changes_since(history, None).values()) == 4


def test_net_changes_span_from_what_the_reader_was_told_to_now() -> None:
    moved_back = [change(1, "start", "19:00", "19:30", 1), change(1, "start", "19:30", "19:00", 2)]
    assert net_changes(moved_back) == {}
    assert not is_moved(net_changes(moved_back))
    twice = [change(1, "venue", "La Coque", "Station A", 1),
             change(1, "venue", "Station A", "La Friche", 2)]
    net = net_changes(twice)
    assert (net["venue"].old, net["venue"].new) == ("La Coque", "La Friche")
    assert is_moved(net) and not is_cancelled(net)
    assert is_cancelled(net_changes([change(1, "status", "scheduled", "cancelled", 1)]))
    assert not is_moved(net_changes([change(1, "title", "a", "b", 1)]))
    assert not is_moved(net_changes([change(1, "venue", None, "La Coque", 1)]))
