"""Read-side queries shared by the agenda, the exports, the CLI and the digest.

The public agenda shows an event when it is not hidden, relevant (``Event.relevance`` is on
a scale where 1.0 is its source's bar, see ``aggregator.ingest.scaled_relevance``), in the
region or online, and overlaps the window asked for. :func:`explain_exclusion` says, in
words, which of those rules leaves an event out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from aggregator.models import Event, EventLink, Source
from aggregator.regions import Region, fold
from aggregator.settings import Settings

RELEVANT = 1.0  # Event.relevance at or above this is relevant
CHUNK = 500


def _in_region(event: Event, region: Region | None) -> bool:
    if not event.in_region:
        return False
    return region is None or not event.insee or region.commune(event.insee) is not None


def _resolve_towns(towns: Iterable[str], region: Region) -> set[str]:
    codes: set[str] = set()
    for town in towns:
        if region.commune(town):
            codes.add(town)
            continue
        commune = region.match_town(town)
        codes.add(commune.insee if commune else town)
    return codes


def _matches_text(event: Event, words: list[str]) -> bool:
    haystack = fold(
        " ".join(
            filter(None, (event.title, event.description_text, event.venue, event.city,
                          event.organizer))
        )
    )
    return all(word in haystack for word in words)


def agenda_events(
    session: Session,
    *,
    region: Region,
    start: datetime,
    end: datetime,
    topics: Sequence[str] | None = None,
    towns: Sequence[str] | None = None,
    online: bool | None = None,
    text: str | None = None,
    include_hidden: bool = False,
    limit: int | None = None,
    offset: int = 0,
) -> list[Event]:
    """What the public agenda shows in [start, end), ordered by start.

    ``topics``: any of these slugs. ``towns``: INSEE codes (or names/postcodes) of the
    region; in-person events must be in one of them, online events still pass unless
    ``online`` is False. ``online``: True only online, False only in person. ``text``: every
    word in the title, description, venue, town or organizer (accents and case ignored).
    Cancelled events stay listed (shown as cancelled) until they are past.
    """
    ends = sa.func.coalesce(col(Event.end), col(Event.start))
    query = (
        select(Event)
        .where(col(Event.start).is_not(None), col(Event.start) < end, ends >= start)
        .where(col(Event.relevance) >= RELEVANT)
        .where(sa.or_(col(Event.in_region).is_(True), col(Event.online).is_(True)))
        .order_by(col(Event.start), col(Event.id))
    )
    if not include_hidden:
        query = query.where(col(Event.hidden).is_(False))
    if online is True:
        query = query.where(col(Event.online).is_(True))
    elif online is False:
        query = query.where(col(Event.online).is_(False))
    wanted_topics = set(topics or ())
    codes = _resolve_towns(towns or (), region)
    words = fold(text).split() if text else []
    result: list[Event] = []
    skipped = 0
    for event in session.exec(query):
        if not (event.online or _in_region(event, region)):
            continue
        if wanted_topics and not wanted_topics & set(event.topics or ()):
            continue
        if codes and not event.online and event.insee not in codes:
            continue
        if words and not _matches_text(event, words):
            continue
        if skipped < offset:
            skipped += 1
            continue
        result.append(event)
        if limit is not None and len(result) >= limit:
            break
    return result


def list_agenda(
    session: Session,
    *,
    region: Region,
    start: datetime,
    end: datetime,
    settings: Settings | None = None,
    **filters: Any,
) -> list[Event]:
    """``agenda_events`` under the name the CLI uses (``settings`` is accepted, unused)."""
    return agenda_events(session, region=region, start=start, end=end, **filters)


def explain_exclusion(
    event: Event, *, region: Region | None = None, now: datetime | None = None
) -> str | None:
    """Why the public agenda leaves this event out (None: it is shown)."""
    reasons: list[str] = []
    if event.hidden:
        reasons.append("hidden by an admin")
    if event.start is None:
        reasons.append("no start time")
    if event.relevance < RELEVANT:
        reasons.append(f"not tech enough (relevance {event.relevance:.2f} < {RELEVANT:.2f})")
    if not event.online and not _in_region(event, region):
        where = ", ".join(filter(None, (event.venue, event.city, event.postcode))) or "no place"
        reasons.append(f"outside the region and not online ({where})")
    if now is not None and event.start is not None and (event.end or event.start) < now:
        reasons.append("past")
    return "; ".join(reasons) or None


def all_events_with_reasons(
    session: Session,
    *,
    region: Region | None = None,
    now: datetime | None = None,
    settings: Settings | None = None,
) -> list[tuple[Event, str | None]]:
    """Every stored event, by start, with the reason it is left out of the agenda (or None)."""
    query = select(Event).order_by(col(Event.start), col(Event.id))
    return [(e, explain_exclusion(e, region=region, now=now)) for e in session.exec(query)]


def event_sources(session: Session, event_ids: Iterable[int]) -> dict[int, list[str]]:
    """Event id -> the URLs of every source link carrying it (the link's page, else the feed)."""
    ids = sorted(set(event_ids))
    result: dict[int, list[str]] = defaultdict(list)
    for i in range(0, len(ids), CHUNK):
        part = ids[i : i + CHUNK]
        rows = session.exec(
            select(EventLink.event_id, EventLink.url, Source.url)
            .join(Source, col(Source.id) == col(EventLink.source_id))
            .where(col(EventLink.event_id).in_(part))
            .order_by(col(EventLink.event_id), col(EventLink.id))
        ).all()
        for event_id, link_url, source_url in rows:
            url = link_url or source_url
            if url not in result[event_id]:
                result[event_id].append(url)
    return dict(result)


def source_stats(session: Session) -> list[dict[str, Any]]:
    """Per source: events, in-region share, online share, duplicates merged, warnings."""
    shared = (
        select(EventLink.event_id)
        .group_by(col(EventLink.event_id))
        .having(sa.func.count(col(EventLink.id)) > 1)
    )
    as_int = sa.Integer
    rows = session.connection().execute(
        sa.select(
            col(EventLink.source_id),
            sa.func.count(col(EventLink.id)),
            sa.func.sum(sa.cast(col(Event.in_region), as_int)),
            sa.func.sum(sa.cast(col(Event.online), as_int)),
            sa.func.sum(sa.cast(col(EventLink.event_id).in_(shared), as_int)),
            sa.func.sum(sa.cast(col(Event.relevance) >= RELEVANT, as_int)),
        )
        .join(Event, col(Event.id) == col(EventLink.event_id))
        .group_by(col(EventLink.source_id))
    ).all()
    counts = {r[0]: r[1:] for r in rows}
    result = []
    for source in session.exec(select(Source).order_by(col(Source.id))):
        total, in_region, online, merged, relevant = counts.get(source.id or 0, (0, 0, 0, 0, 0))
        warnings = []
        if source.last_error:
            warnings.append(source.last_error)
        if source.consecutive_failures:
            warnings.append(f"{source.consecutive_failures} failed crawls in a row")
        if source.flagged:
            warnings.append("flagged for review")
        result.append(
            {
                "source_id": source.id,
                "name": source.name,
                "state": source.state,
                "events": total,
                "in_region_share": round((in_region or 0) / total, 3) if total else 0.0,
                "online_share": round((online or 0) / total, 3) if total else 0.0,
                "relevant_share": round((relevant or 0) / total, 3) if total else 0.0,
                "duplicates_merged": merged or 0,
                "warnings": warnings,
            }
        )
    return result
