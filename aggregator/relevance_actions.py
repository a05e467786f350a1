"""An admin's answers to the relevance filter: "this is tech" and "lower this source's bar".

Both are remembered across crawls: the mark is a column ingest never writes
(``Event.marked_tech``, read by the publication rule), the threshold is the source's own
(``Source.relevance_threshold``), and the events the source already carries are rescored at
once. The session is flushed, not committed.
"""

from __future__ import annotations

import math

from sqlmodel import Session, col, select

from aggregator.errors import NotFoundError
from aggregator.ingest import scaled_relevance
from aggregator.models import Event, EventLink, Source
from aggregator.normalize import NormalizedEvent
from aggregator.settings import Settings


def mark_tech(session: Session, event_id: int, marked: bool = True) -> Event:
    """Whitelist an event (or take the mark back): relevant whatever its score."""
    event = session.get(Event, event_id)
    if event is None:
        raise NotFoundError(f"no event {event_id}")
    event.marked_tech = marked
    session.add(event)
    session.flush()
    return event


def lower_threshold_for(
    session: Session, event_id: int, settings: Settings, *, source_id: int | None = None
) -> Source:
    """Lower the bar of the source carrying this event (its first, or ``source_id``) just
    enough for the event to pass, then rescore that source's events.

    An event with no tech word at all (score 0 or less) brings the bar to 0: everything of
    that source passes but what is clearly off topic.
    """
    links = session.exec(
        select(EventLink).where(EventLink.event_id == event_id).order_by(col(EventLink.id))
    ).all()
    if source_id is not None:
        links = [link for link in links if link.source_id == source_id]
    link = next((link for link in links if link.raw), None)
    if link is None:
        raise NotFoundError(f"no source carries event {event_id}")
    source = session.get(Source, link.source_id)
    if source is None:
        raise NotFoundError(f"no source {link.source_id}")
    content = NormalizedEvent.from_json(link.raw).relevance
    source.relevance_threshold = max(math.floor(content * 100) / 100, 0.0)
    session.add(source)
    rescore_source(session, source, settings)
    return source


def rescore_source(session: Session, source: Source, settings: Settings) -> int:
    """Recompute ``Event.relevance`` of every event this source carries (after its scope or
    threshold changed); returns how many changed. Each event keeps the best of its links."""
    assert source.id is not None
    ids = select(EventLink.event_id).where(EventLink.source_id == source.id)
    events = session.exec(select(Event).where(col(Event.id).in_(ids))).all()
    if not events:
        return 0
    by_event: dict[int, list[EventLink]] = {}
    for link in session.exec(
        select(EventLink).where(col(EventLink.event_id).in_([e.id for e in events]))
    ):
        by_event.setdefault(link.event_id, []).append(link)
    sources = {source.id: source}
    changed = 0
    for event in events:
        scores = []
        for link in by_event.get(event.id or 0, []):
            if not link.raw:
                continue
            src = sources.get(link.source_id) or session.get(Source, link.source_id)
            if src is None:
                continue
            sources[link.source_id] = src
            content = NormalizedEvent.from_json(link.raw).relevance
            scores.append(scaled_relevance(content, src, settings))
        if scores and max(scores) != event.relevance:
            event.relevance = max(scores)
            session.add(event)
            changed += 1
    session.flush()
    return changed
