"""The moderation inbox: organizers' submissions waiting for an admin, and the decisions.

Two kinds of items wait, oldest first:

- a **single event** typed in the public form (``service.submit_event``): an event linked
  to a ``form`` source still paused (not rejected), hidden, and never decided by an admin
  (no manual hide/unhide, no merge away, no inbox decision in ``Event.merge_notes``);
- a **feed or page** an organizer submitted: a ``pending`` source with a contact address.

The decisions, each a use case the web and the CLI call:

    approve_event   unhide it (``moderation.unhide_event``) and mark it tech: an admin said
                    "publish this", the relevance filter does not second-guess that
    reject_event    keep it hidden, note the reason, and reject its form source
    edit_event      new title / times / venue / link, normalised again as ingest would
    approve_feed    ``sources.set_source_state(approved)``
    reject_feed     ``sources.set_source_state(rejected)``

Each returns a :class:`Decision` (who to tell, in which language, with which link) for the
organizer mail (``newsletter.organizer_mail``). :func:`check_schedule` is the pure check of
a day and two clock times shared with the public form. What an organizer submission says
about its submitter (page language) and what the route probe found are kept in
``Source.last_check`` (:func:`remember_submission`, :func:`record_probe`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from typing import Any

import sqlalchemy as sa
from sqlalchemy import func
from sqlmodel import Session, col, select

from aggregator.errors import InvalidInputError, NotFoundError
from aggregator.ingest import source_defaults
from aggregator.models import Event, EventLink, Source, SourceState
from aggregator.moderation import recompose, set_hidden, unhide_event
from aggregator.normalize import NormalizedEvent, as_raw, normalize
from aggregator.regions import Region
from aggregator.relevance_actions import mark_tech
from aggregator.sources import set_source_state

FORM_KIND = "form"
LAST_YEAR = 2100  # an event further ahead is a typo
EDIT_LIMITS = {"title": 200, "day": 10, "start_time": 5, "end_time": 5, "venue": 200,
               "url": 2000}  # fmt: skip


@dataclass(frozen=True)
class InboxItem:
    """One submission waiting: a single event (``event`` set) or a feed (``event`` None)."""

    kind: str  # "event" or "feed"
    source: Source
    event: Event | None
    submitted_at: datetime | None

    @property
    def key(self) -> str:
        return f"{self.kind}-{self.event.id if self.event else self.source.id}"

    @property
    def proposal(self) -> dict[str, Any] | None:
        """The route the probe proposed at submission (or the last check), if any."""
        found = (self.source.last_check or {}).get("route_proposal")
        return found if isinstance(found, dict) else None

    @property
    def probe_failure(self) -> dict[str, Any] | None:
        """Why the probe at submission found nothing (a finding, both languages)."""
        found = (self.source.last_check or {}).get("probe_failure")
        return found if isinstance(found, dict) else None


@dataclass(frozen=True)
class Decision:
    """What an admin decided, for the organizer's mail."""

    kind: str  # "event" or "feed"
    approved: bool
    name: str  # the event's title or the source's name
    contact_email: str | None
    language: str
    event_id: int | None = None
    reason: str | None = None


@dataclass(frozen=True)
class EventEdit:
    """An admin's corrections to a submitted event; times are floating local values."""

    title: str
    start: date | datetime
    end: datetime | None
    venue: str | None
    url: str | None


# ------------------------------------------------------------------ pure


def _clock(value: str) -> time | None:
    try:
        return time.fromisoformat(value.strip()) if value.strip() else None
    except ValueError:
        raise InvalidInputError("Heure invalide : utilisez le format HH:MM.") from None


def check_schedule(
    values: Mapping[str, str], today: date
) -> tuple[date | datetime | None, datetime | None, dict[str, str]]:
    """(start, end, problems) of a form's ``day``, ``start_time`` and ``end_time``.

    The day is today or later and before 2101; an end time follows the start time (and
    needs one). Problems are field -> French message. Pure: ``today`` is the local day."""
    problems: dict[str, str] = {}
    day: date | None = None
    raw_day = values.get("day", "").strip()
    try:
        day = date.fromisoformat(raw_day) if raw_day else None
    except ValueError:
        problems["day"] = "Date invalide : utilisez le format AAAA-MM-JJ."
    if day is None and "day" not in problems:
        problems["day"] = "Ce champ est obligatoire."
    elif day is not None and day < today:
        problems["day"] = "Cette date est passée : choisissez aujourd'hui ou un jour à venir."
    elif day is not None and day.year > LAST_YEAR:
        problems["day"] = "Cette date est trop lointaine : choisissez un jour avant 2101."
    clocks: dict[str, time | None] = {}
    for name in ("start_time", "end_time"):
        try:
            clocks[name] = _clock(values.get(name, ""))
        except InvalidInputError as exc:
            problems[name] = str(exc)
            clocks[name] = None
    begins, ends = clocks["start_time"], clocks["end_time"]
    if ends is not None and begins is None and "start_time" not in problems:
        problems["start_time"] = "Indiquez l'heure de début avant l'heure de fin."
    elif begins is not None and ends is not None and ends <= begins:
        problems["end_time"] = "L'heure de fin doit suivre l'heure de début."
    if problems or day is None:
        return None, None, problems
    start: date | datetime = datetime.combine(day, begins) if begins else day
    end = datetime.combine(day, ends) if begins and ends else None
    return start, end, {}


def check_event_edit(
    values: Mapping[str, str], today: date
) -> tuple[EventEdit | None, dict[str, str]]:
    """An admin's edit of a submitted event, checked like the public form (pure)."""
    problems = {
        name: "Ce texte est trop long."
        for name, longest in EDIT_LIMITS.items()
        if len(values.get(name, "")) > longest
    }
    title = values.get("title", "").strip()
    if len(title) < 3:
        problems["title"] = "Donnez un titre d'au moins trois caractères."
    url = values.get("url", "").strip()
    if url and not url.lower().startswith(("http://", "https://")):
        problems["url"] = "Adresse invalide : elle doit commencer par https:// ou http://"
    start, end, timing = check_schedule(values, today)
    problems.update(timing)
    if problems or start is None:
        return None, problems
    venue = values.get("venue", "").strip() or None
    return EventEdit(title=title, start=start, end=end, venue=venue, url=url or None), {}


def decided(event: Event) -> bool:
    """An admin already decided on this event (hid, showed, merged it away, or the inbox)."""
    if event.merged_into is not None:
        return True
    for note in event.merge_notes:
        if not isinstance(note, dict):
            continue
        if note.get("inbox") in ("approved", "rejected"):
            return True
        if "hidden" in note and note.get("manual"):
            return True
    return False


def organizer_language(source: Source) -> str:
    """The page language the organizer submitted in (French when not known)."""
    found = source.contact_language
    return found if found in ("fr", "en") else "fr"


# ------------------------------------------------------------------ the queue


def _event_items(session: Session) -> list[InboxItem]:
    rows = session.exec(
        select(Event, Source)
        .join(EventLink, col(EventLink.event_id) == col(Event.id))
        .join(Source, col(Source.id) == col(EventLink.source_id))
        .where(
            Source.kind == FORM_KIND,
            Source.state == SourceState.paused,
            col(Event.hidden).is_(True),
        )
        .order_by(col(Source.created_at), col(Event.id))
    ).all()
    seen: set[int] = set()
    items = []
    for event, source in rows:
        if event.id in seen or decided(event):
            continue
        seen.add(event.id or 0)
        items.append(InboxItem("event", source, event, source.created_at or event.created_at))
    return items


def _feed_items(session: Session) -> list[InboxItem]:
    sources = session.exec(
        select(Source)
        .where(
            Source.state == SourceState.pending,
            col(Source.contact_email).is_not(None),
            col(Source.contact_email) != "",
            col(Source.url).is_not(None),
        )
        .order_by(col(Source.created_at), col(Source.id))
    ).all()
    return [InboxItem("feed", s, None, s.created_at) for s in sources if s.kind != FORM_KIND]


def waiting(session: Session) -> list[InboxItem]:
    """Every submission waiting for an admin, oldest first."""
    items = [*_event_items(session), *_feed_items(session)]
    oldest = datetime.min.replace(tzinfo=None)
    return sorted(
        items,
        key=lambda i: (i.submitted_at.replace(tzinfo=None) if i.submitted_at else oldest, i.key),
    )


def count_waiting(session: Session) -> int:
    """How many submissions wait (the admin menu's badge)."""
    feeds = session.exec(
        select(func.count(col(Source.id))).where(
            Source.state == SourceState.pending,
            col(Source.contact_email).is_not(None),
            col(Source.contact_email) != "",
            col(Source.url).is_not(None),
            sa.or_(col(Source.kind).is_(None), col(Source.kind) != FORM_KIND),
        )
    ).one()
    return len(_event_items(session)) + int(feeds)


# ------------------------------------------------------------------ events


def _form_link(session: Session, event_id: int) -> tuple[Event, EventLink, Source]:
    """A waiting submitted event, its form link and source (NotFoundError otherwise)."""
    event = session.get(Event, event_id)
    row = session.exec(
        select(EventLink, Source)
        .join(Source, col(Source.id) == col(EventLink.source_id))
        .where(EventLink.event_id == event_id, Source.kind == FORM_KIND)
        .order_by(col(EventLink.id))
    ).first()
    if event is None or row is None:
        raise NotFoundError(f"no submitted event #{event_id}")
    link, source = row
    if not event.hidden or decided(event) or source.state != SourceState.paused:
        raise InvalidInputError("this event was already decided")
    return event, link, source


def is_waiting_event(session: Session, event_id: int) -> bool:
    """The event is an organizer's submission still waiting for a decision."""
    try:
        _form_link(session, event_id)
    except (NotFoundError, InvalidInputError):
        return False
    return True


def already_listed(session: Session, source: Source) -> int | None:
    """The published event a form source's one listing joined (the organizer's event was
    already on the agenda, from a feed), or None when it waits for a decision."""
    row = session.exec(
        select(Event.id, Event.hidden)
        .join(EventLink, col(EventLink.event_id) == col(Event.id))
        .where(EventLink.source_id == source.id)
    ).first()
    if row is None or row[1]:
        return None
    return row[0]


def _note(event: Event, note: dict[str, Any]) -> None:
    event.merge_notes = [*event.merge_notes, note]


def approve_event(session: Session, event_id: int, *, now: datetime, by: str) -> Decision:
    """Publish a submitted event (it stays published across crawls: the link is pinned)."""
    event, _link, source = _form_link(session, event_id)
    unhide_event(session, event_id, now=now, by=by)
    mark_tech(session, event_id, True)
    _note(event, {"inbox": "approved", "by": by, "at": now.isoformat()})
    session.add(event)
    session.flush()
    return Decision("event", True, event.title, source.contact_email,
                    organizer_language(source), event_id=event_id)  # fmt: skip


def reject_event(
    session: Session, event_id: int, *, now: datetime, by: str, reason: str | None = None
) -> Decision:
    """Refuse a submitted event: it stays hidden, noted rejected, its form source too."""
    event, _link, source = _form_link(session, event_id)
    reason = (reason or "").strip()[:1000] or None
    set_hidden(session, event_id, True, now=now, by=by)
    _note(event, {"inbox": "rejected", "reason": reason, "by": by, "at": now.isoformat()})
    session.add(event)
    set_source_state(session, source.id or 0, SourceState.rejected, now=now)
    return Decision("event", False, event.title, source.contact_email,
                    organizer_language(source), event_id=event_id, reason=reason)  # fmt: skip


def edit_event(
    session: Session, event_id: int, edit: EventEdit, *, region: Region, now: datetime, by: str
) -> Event:
    """Correct a submitted event: its form listing is normalised again (as ingest would
    store it: title case, place, topics) and the event composed again from its links."""
    event, link, source = _form_link(session, event_id)
    before = as_raw(NormalizedEvent.from_json(link.raw))
    raw = replace(
        before,
        title=edit.title,
        start=edit.start,
        end=edit.end,
        timezone=region.timezone if isinstance(edit.start, datetime) else None,
        venue=edit.venue,
        url=edit.url,
    )
    item = normalize(raw, defaults=source_defaults(source, region), region=region)
    link.raw = item.to_json()
    link.content_hash = item.content_hash
    link.url = item.url
    link.canonical_url = item.canonical_url
    link.last_seen = now
    session.add(link)
    session.flush()
    links = list(session.exec(
        select(EventLink).where(EventLink.event_id == event_id).order_by(col(EventLink.id))
    ))  # fmt: skip
    recompose(session, event, links, now=now)
    _note(event, {"inbox": "edited", "by": by, "at": now.isoformat()})
    session.add(event)
    session.flush()
    return event


def edit_values(event: Event, tz: Any) -> dict[str, str]:
    """The edit form's values for an event (local day and clock times in ``tz``)."""
    values = {"title": event.title, "venue": event.venue or "", "url": event.url or ""}
    if event.all_day or event.start is None:
        values["day"] = event.start_date.isoformat() if event.start_date else ""
        return values
    start = event.start.astimezone(tz)
    values.update(day=start.date().isoformat(), start_time=start.strftime("%H:%M"))
    if event.end is not None:
        values["end_time"] = event.end.astimezone(tz).strftime("%H:%M")
    return values


# ------------------------------------------------------------------ feeds


def is_submitted_feed(source: Source) -> bool:
    """A feed an organizer submitted and nobody has decided yet (it is in the inbox)."""
    return (
        source.kind != FORM_KIND
        and source.state == SourceState.pending
        and bool(source.contact_email)
    )


def _pending_feed(session: Session, source_id: int) -> Source:
    source = session.get(Source, source_id)
    if source is None or source.kind == FORM_KIND:
        raise NotFoundError(f"no submitted source #{source_id}")
    if source.state != SourceState.pending:
        raise InvalidInputError("this source was already decided")
    return source


def approve_feed(session: Session, source_id: int, *, now: datetime) -> Decision:
    """Approve a submitted feed: the scheduler crawls it from now on."""
    source = _pending_feed(session, source_id)
    set_source_state(session, source_id, SourceState.approved, now=now)
    return Decision("feed", True, source.name, source.contact_email, organizer_language(source))


def reject_feed(
    session: Session, source_id: int, *, now: datetime, reason: str | None = None
) -> Decision:
    """Refuse a submitted feed (it is never crawled)."""
    source = _pending_feed(session, source_id)
    set_source_state(session, source_id, SourceState.rejected, now=now)
    reason = (reason or "").strip()[:1000] or None
    return Decision("feed", False, source.name, source.contact_email,
                    organizer_language(source), reason=reason)  # fmt: skip


# ------------------------------------------------------------------ submission records


def remember_submission(source: Source, *, language: str, now: datetime) -> None:
    """Keep the organizer's page language on the source (for the decision mail)."""
    source.contact_language = language if language in ("fr", "en") else "fr"
    source.last_check = {
        **(source.last_check or {}),
        "organizer": {"submitted_at": now.isoformat()},
    }


def record_probe(
    source: Source,
    *,
    proposal: dict[str, Any] | None,
    route: dict[str, Any] | None,
    finding: dict[str, Any],
    now: datetime,
) -> None:
    """Record what the route probe found at submission, in the shape of a check.

    With a proposal its adapter and route go on the source (the crawl reads it that way
    once approved); without one ``finding`` says why (both languages) and the source stays
    as it was: the submission is accepted either way."""
    if proposal is not None and proposal.get("adapter") and route is not None:
        source.adapter = str(proposal["adapter"])
        source.route = route
    source.last_check = {
        **(source.last_check or {}),
        "at": now.isoformat(),
        "format": None,
        "upcoming": (proposal or {}).get("events") or 0,
        "http_status": None,
        "error": None,
        "findings": [finding],
        "route_proposal": proposal,
        "probe_failure": None if proposal and proposal.get("adapter") else finding,
    }
