"""Admin decisions on events: hide, merge, split. Links touched are pinned, so a later
crawl's dedupe never undoes them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from aggregator.errors import InvalidInputError, NotFoundError
from aggregator.models import Event, EventLink

COPIED_FIELDS = (
    "title",
    "description_html",
    "description_text",
    "start",
    "end",
    "all_day",
    "start_date",
    "end_date",
    "timezone",
    "status",
    "venue",
    "address",
    "city",
    "postcode",
    "insee",
    "latitude",
    "longitude",
    "online",
    "in_region",
    "url",
    "image",
    "price",
    "organizer",
    "language",
    "topics",
    "relevance",
    "title_key",
    "content_hash",
)


def _event(session: Session, event_id: int) -> Event:
    event = session.get(Event, event_id)
    if event is None:
        raise NotFoundError(f"no event #{event_id}")
    return event


def set_hidden(session: Session, event_id: int, hidden: bool, *, now: datetime) -> Event:
    event = _event(session, event_id)
    event.hidden = hidden
    event.updated_at = now
    session.add(event)
    return event


def merge_events(session: Session, keep_id: int, other_id: int, *, by: str, now: datetime) -> Event:
    """Move every link of ``other`` onto ``keep`` (pinned) and hide ``other``."""
    if keep_id == other_id:
        raise InvalidInputError("choose two different events to merge")
    keep, other = _event(session, keep_id), _event(session, other_id)
    links = session.exec(select(EventLink).where(EventLink.event_id == other_id)).all()
    for link in links:
        link.event_id = keep_id
        link.pinned = True
        session.add(link)
    for link in session.exec(select(EventLink).where(EventLink.event_id == keep_id)).all():
        link.pinned = True
        session.add(link)
    note: dict[str, Any] = {"merged": other_id, "by": by, "at": now.isoformat(), "manual": True}
    keep.merge_notes = [*keep.merge_notes, note]
    keep.updated_at = now
    other.hidden = True
    other.merge_notes = [*other.merge_notes, {"merged_into": keep_id, "by": by, "manual": True}]
    other.updated_at = now
    session.add(keep)
    session.add(other)
    return keep


def split_link(session: Session, link_id: int, *, by: str, now: datetime) -> Event:
    """Give one link an event of its own (a copy of the current one), pinned there."""
    link = session.get(EventLink, link_id)
    if link is None:
        raise NotFoundError(f"no event link #{link_id}")
    old = _event(session, link.event_id)
    siblings = session.exec(
        select(EventLink).where(EventLink.event_id == old.id, col(EventLink.id) != link_id)
    ).all()
    if not siblings:
        raise InvalidInputError("this event has a single source: nothing to split")
    fresh = Event(**{name: getattr(old, name) for name in COPIED_FIELDS})
    raw_title = link.raw.get("title") if isinstance(link.raw, dict) else None
    if isinstance(raw_title, str) and raw_title.strip():
        fresh.title = raw_title.strip()[:300]
    if link.url:
        fresh.url = link.url
    fresh.merge_notes = [{"split_from": old.id, "by": by, "at": now.isoformat(), "manual": True}]
    fresh.created_at = fresh.updated_at = now
    session.add(fresh)
    session.flush()
    link.event_id = fresh.id or 0
    link.pinned = True
    session.add(link)
    for sibling in siblings:
        sibling.pinned = True
        session.add(sibling)
    old.updated_at = now
    session.add(old)
    return fresh
