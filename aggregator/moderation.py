"""Admin decisions on events (hide, merge, split) and the explanation of a merged event.

Every decision pins the links it touches (``EventLink.pinned``). Ingest never moves a stored
link from one event to another, and an event an admin merged away (``Event.merged_into``)
is no match target any more, so the decision survives every later crawl. After a merge or
a split the events' published fields are composed again from their links (the same rules
as ingest), so ``Event.field_sources`` tells where each field now comes from;
``Event.merge_notes`` keeps the decision next to the automatic merges and their scores.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from aggregator.compose import LinkView, compose_fields
from aggregator.errors import InvalidInputError, NotFoundError
from aggregator.history import load_changes
from aggregator.ingest import event_hash
from aggregator.models import Event, EventLink, Source
from aggregator.normalize import NormalizedEvent


def _event(session: Session, event_id: int) -> Event:
    event = session.get(Event, event_id)
    if event is None:
        raise NotFoundError(f"no event #{event_id}")
    return event


def _links(session: Session, event_id: int) -> list[EventLink]:
    query = select(EventLink).where(EventLink.event_id == event_id).order_by(col(EventLink.id))
    return list(session.exec(query))


def _pin(session: Session, links: Sequence[EventLink]) -> None:
    for link in links:
        link.pinned = True
        session.add(link)


def _note(event: Event, note: dict[str, Any]) -> None:
    event.merge_notes = [*event.merge_notes, note]


def recompose(session: Session, event: Event, links: Sequence[EventLink], *, now: datetime) -> None:
    """Compose ``event``'s published fields again from ``links`` (its relevance and, with no
    live link, its status are kept: an admin decision cancels nothing)."""
    sources = {
        s.id: s
        for s in session.exec(
            select(Source).where(col(Source.id).in_(sorted({x.source_id for x in links})))
        )
    }
    views = [
        LinkView(
            source_id=link.source_id,
            link_id=link.id or 0,
            authority=sources[link.source_id].authority if link.source_id in sources else 0,
            live=link.gone_since is None,
            event=NormalizedEvent.from_json(link.raw),
            relevance=event.relevance,
        )
        for link in links
        if link.raw
    ]
    if not views:
        return
    values = compose_fields(
        views, status=event.status, start=event.start, cancelled_at=event.cancelled_at,
        now=now, horizon=now,
    )
    for name, value in values.items():
        setattr(event, name, value)
    event.content_hash = event_hash(values)
    event.updated_at = now


def set_hidden(
    session: Session, event_id: int, hidden: bool, *, now: datetime, by: str = "admin"
) -> Event:
    """Hide an event from the agenda, feeds and digests (or show it again); pins its links."""
    event = _event(session, event_id)
    event.hidden = hidden
    event.updated_at = now
    _pin(session, _links(session, event_id))
    _note(event, {"hidden": hidden, "by": by, "at": now.isoformat(), "manual": True})
    session.add(event)
    session.flush()
    return event


def hide_event(session: Session, event_id: int, *, now: datetime, by: str = "admin") -> Event:
    """Hide an event (it stays stored and keeps being crawled)."""
    return set_hidden(session, event_id, True, now=now, by=by)


def unhide_event(session: Session, event_id: int, *, now: datetime, by: str = "admin") -> Event:
    """Show a hidden event again."""
    return set_hidden(session, event_id, False, now=now, by=by)


def merge_events(
    session: Session, keep_id: int, other_id: int, *, now: datetime, by: str = "admin"
) -> Event:
    """Move every link of ``other`` onto ``keep`` (all pinned); ``other`` is hidden and marked
    merged away, so no later crawl matches anything to it."""
    if keep_id == other_id:
        raise InvalidInputError("choose two different events to merge")
    keep, other = _event(session, keep_id), _event(session, other_id)
    moved = _links(session, other_id)
    for link in moved:
        link.event_id = keep_id
    links = _links(session, keep_id)
    links_all = {link.id: link for link in [*links, *moved]}
    _pin(session, list(links_all.values()))
    session.flush()
    keep.relevance = max(keep.relevance, other.relevance)
    recompose(session, keep, sorted(links_all.values(), key=lambda x: x.id or 0), now=now)
    _note(keep, {"merged": other_id, "links": [x.id for x in moved], "by": by,
                 "at": now.isoformat(), "manual": True, "reasons": ["admin decision"]})
    other.hidden = True
    other.merged_into = keep_id
    other.updated_at = now
    _note(other, {"merged_into": keep_id, "by": by, "at": now.isoformat(), "manual": True})
    session.add(keep)
    session.add(other)
    session.flush()
    return keep


def split_link(session: Session, link_id: int, *, now: datetime, by: str = "admin") -> Event:
    """Give one link an event of its own, composed from that link alone; every link of the
    old event is pinned. Returns the new event."""
    link = session.get(EventLink, link_id)
    if link is None:
        raise NotFoundError(f"no event link #{link_id}")
    old = _event(session, link.event_id)
    siblings = [x for x in _links(session, link.event_id) if x.id != link_id]
    if not siblings:
        raise InvalidInputError("this event has a single source: nothing to split")
    fresh = Event(title=old.title, relevance=old.relevance, hidden=old.hidden,
                  status=old.status, cancelled_at=old.cancelled_at, created_at=now)
    fresh.merge_notes = [{"split_from": old.id, "link": link_id, "by": by,
                          "at": now.isoformat(), "manual": True}]
    session.add(fresh)
    session.flush()
    link.event_id = fresh.id or 0
    _pin(session, [link, *siblings])
    session.flush()
    recompose(session, fresh, [link], now=now)
    recompose(session, old, siblings, now=now)
    _note(old, {"split_off": link_id, "into": fresh.id, "by": by, "at": now.isoformat(),
                "manual": True})
    session.add(fresh)
    session.add(old)
    session.flush()
    return fresh


def _value(event: Event, label: str) -> Any:
    if label == "time":
        return event.start_date.isoformat() if event.all_day and event.start_date else (
            event.start.isoformat() if event.start else None
        )
    if label == "place":
        return ", ".join(x for x in (event.venue, event.city) if x) or None
    value = getattr(event, label, None)
    return value if not isinstance(value, datetime) else value.isoformat()


def explain_event(session: Session, event_id: int) -> dict[str, Any]:
    """Why an event looks the way it does: its links, where each field came from, why its
    links were merged (scores and reasons, admin decisions) and its change history."""
    event = _event(session, event_id)
    links = _links(session, event_id)
    source_ids = sorted({x.source_id for x in links} | {
        v for v in event.field_sources.values() if isinstance(v, int)
    } | {n["source_id"] for n in event.merge_notes
         if isinstance(n, dict) and isinstance(n.get("source_id"), int)})
    names = {
        s.id: s.name
        for s in session.exec(select(Source).where(col(Source.id).in_(source_ids)))
    }
    return {
        "event": {"id": event.id, "title": event.title, "status": event.status,
                  "hidden": event.hidden,
                  "start": event.start.isoformat() if event.start else None},
        "links": [
            {
                "id": link.id,
                "source_id": link.source_id,
                "source": names.get(link.source_id),
                "external_id": link.external_id,
                "url": link.url,
                "title": link.raw.get("title") if isinstance(link.raw, dict) else None,
                "live": link.gone_since is None,
                "pinned": link.pinned,
                "first_seen": link.first_seen.isoformat() if link.first_seen else None,
            }
            for link in links
        ],
        "fields": {
            label: {"source_id": sid, "source": names.get(sid), "value": _value(event, label)}
            for label, sid in sorted(event.field_sources.items())
        },
        "merges": [
            {**note, "source": names.get(note.get("source_id"))} if isinstance(note, dict)
            else {"note": note}
            for note in event.merge_notes
        ],
        "changes": [
            {"field": c.field, "old": c.old, "new": c.new, "at": c.at.isoformat(),
             "source_id": c.source_id, "source": names.get(c.source_id or -1)}
            for c in load_changes(session, [event_id])
        ],
    }
