"""Read-side queries shared by the agenda, the exports, the CLI and the digest.

The public agenda shows an event when it is not hidden, relevant (``Event.relevance`` is on
a scale where 1.0 is its source's bar, see ``aggregator.ingest.scaled_relevance``), in the
region or online, and overlaps the window asked for. :func:`explain_exclusion` says, in
words, which of those rules leaves an event out.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from itertools import pairwise
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from aggregator.models import Event, EventChange, EventLink, Source
from aggregator.regions import Region, fold, load_region
from aggregator.relevance import effective_scope, exclusion_reason
from aggregator.settings import Settings
from aggregator.topics import load_taxonomy

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


def _text_columns() -> tuple[Any, ...]:
    return (col(Event.title), col(Event.description_text), col(Event.venue), col(Event.city),
            col(Event.organizer))


def _matches_words(values: Iterable[str | None], words: list[str]) -> bool:
    """Every searched word is a whole word of the texts (both folded: accents, case and
    punctuation ignored), so "ia" finds "IA" but not "Initiation"."""
    haystack = set(fold(" ".join(filter(None, values))).split())
    return all(word in haystack for word in words)


def _matches_text(event: Event, words: list[str]) -> bool:
    return _matches_words(
        (event.title, event.description_text, event.venue, event.city, event.organizer), words
    )


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def published_conditions(
    region: Region | None = None, *, include_hidden: bool = False
) -> list[Any]:
    """What may appear wherever we publish (agenda, feeds, digest), as SQL conditions:
    relevant, in the region (its communes, when ``region`` is given) or online, not hidden
    (with ``include_hidden``, hidden ones too, but never one merged into another)."""
    placed: Any = col(Event.in_region).is_(True)
    if region is not None:
        placed = sa.and_(
            placed,
            sa.or_(
                col(Event.insee).is_(None),
                col(Event.insee) == "",
                col(Event.insee).in_(sorted(c.insee for c in region.communes)),
            ),
        )
    conditions: list[Any] = [
        sa.or_(col(Event.relevance) >= RELEVANT, col(Event.marked_tech).is_(True)),
        sa.or_(col(Event.online).is_(True), placed),
    ]
    if not include_hidden:
        conditions.append(col(Event.hidden).is_(False))  # merged-away events are hidden too
    else:  # an event merged into another is a husk (its listings moved): never shown
        conditions.append(col(Event.merged_into).is_(None))
    return conditions


def _agenda_conditions(
    *,
    region: Region | None,
    start: datetime,
    end: datetime,
    topics: Sequence[str] | None,
    towns: Sequence[str] | None,
    online: bool | None,
    include_hidden: bool,
) -> list[Any]:
    """The agenda's rules as SQL conditions (everything but the text search)."""
    ends = sa.func.coalesce(col(Event.end), col(Event.start))
    is_online = col(Event.online).is_(True)
    conditions: list[Any] = [
        col(Event.start).is_not(None),
        col(Event.start) < end,
        ends >= start,
        *published_conditions(region, include_hidden=include_hidden),
    ]
    if online is True:
        conditions.append(is_online)
    elif online is False:
        conditions.append(col(Event.online).is_(False))
    wanted = sorted(set(topics or ()))
    if wanted:
        # Topics are a JSON list of slugs: a quoted slug in its text is that topic.
        as_text = sa.cast(col(Event.topics), sa.Text)
        conditions.append(
            sa.or_(*(as_text.like(f"%{_like_escape(json.dumps(t))}%", escape="\\")
                     for t in wanted))
        )
    if towns:
        codes = _resolve_towns(towns, region) if region is not None else set(towns)
        conditions.append(sa.or_(is_online, col(Event.insee).in_(sorted(codes))))
    return conditions


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
    word, as a whole word, in the title, description, venue, town or organizer (accents,
    case and punctuation ignored: "evenement" finds "Événement", "IA" not "Initiation").
    Cancelled events stay listed (shown as cancelled) until they are past.

    Every rule but the text search, the order and the page run in SQL. The text search
    folds accents the way :func:`aggregator.regions.fold` does, which neither SQLite nor
    PostgreSQL do portably: it reads the five text columns of the other rules' matches,
    keeps the page's ids, and loads only those events.
    """
    conditions = _agenda_conditions(
        region=region, start=start, end=end, topics=topics, towns=towns, online=online,
        include_hidden=include_hidden,
    )
    order = (col(Event.start), col(Event.id))
    words = fold(text).split() if text else []
    if not words:
        query = select(Event).where(*conditions).order_by(*order).offset(max(offset, 0))
        if limit is not None:
            query = query.limit(limit)
        return list(session.exec(query))
    rows = session.exec(
        select(col(Event.id), *_text_columns()).where(*conditions).order_by(*order)
    )
    ids: list[int] = []
    skipped = 0
    for event_id, *values in rows:
        if not _matches_words(values, words):
            continue
        if skipped < offset:
            skipped += 1
            continue
        ids.append(event_id)
        if limit is not None and len(ids) >= limit:
            break
    if not ids:
        return []
    events = {e.id: e for e in session.exec(select(Event).where(col(Event.id).in_(ids)))}
    return [events[i] for i in ids if i in events]


def agenda_week_counts(
    session: Session,
    *,
    region: Region,
    bounds: Sequence[datetime],
    topics: Sequence[str] | None = None,
    towns: Sequence[str] | None = None,
    online: bool | None = None,
    text: str | None = None,
    include_hidden: bool = False,
) -> list[int]:
    """How many agenda events start in each [bounds[i], bounds[i + 1]) (one query).

    The same rules as :func:`agenda_events` over [bounds[0], bounds[-1]); an event is
    counted in the interval its start falls in (events that began earlier and still run
    are in the agenda but in no interval).
    """
    if len(bounds) < 2:
        return []
    filters: dict[str, Any] = {"region": region, "topics": topics, "towns": towns,
                               "online": online, "include_hidden": include_hidden}
    pairs = list(pairwise(bounds))
    words = fold(text).split() if text else []
    if not words:
        # One COUNT per interval, glued with UNION ALL; each part's only bounds on start
        # are its own, so each is a short range of the covering index ix_event_agenda (a
        # topic filter alone reads the rows).
        counts_sql = sa.union_all(*(
            sa.select(sa.literal(i).label("i"), sa.func.count().label("n"))
            .select_from(Event)
            .where(*_agenda_conditions(start=bounds[0], end=hi, **filters),
                   col(Event.start) >= lo)
            for i, (lo, hi) in enumerate(pairs)
        ))
        found = dict(session.connection().execute(counts_sql).tuples().all())
        return [int(found.get(i, 0)) for i in range(len(pairs))]
    conditions = _agenda_conditions(start=bounds[0], end=bounds[-1], **filters)
    conditions.append(col(Event.start) >= bounds[0])
    counts = [0] * len(pairs)
    rows = session.exec(select(col(Event.start), *_text_columns()).where(*conditions))
    for event_start, *values in rows:
        if not _matches_words(values, words):
            continue
        for i, (lo, hi) in enumerate(pairs):
            if lo <= event_start < hi:
                counts[i] += 1
                break
    return counts


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
    event: Event,
    *,
    region: Region | None = None,
    now: datetime | None = None,
    relevance_reason: str | None = None,
) -> str | None:
    """Why the public agenda leaves this event out (None: it is shown)."""
    reasons: list[str] = []
    if event.merged_into is not None:
        reasons.append(f"merged into event #{event.merged_into}")
    elif event.hidden:
        reasons.append("hidden by an admin")
    if event.start is None:
        reasons.append("no start time")
    if event.relevance < RELEVANT and not event.marked_tech:
        reasons.append(
            relevance_reason
            or f"not tech enough (relevance {event.relevance:.2f} < {RELEVANT:.2f})"
        )
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
    events = list(session.exec(query))
    why = relevance_reasons(session, [e for e in events if e.relevance < RELEVANT], settings)
    return [
        (e, explain_exclusion(e, region=region, now=now, relevance_reason=why.get(e.id or 0)))
        for e in events
    ]


def relevance_reasons(
    session: Session,
    events: Sequence[Event],
    settings: Settings | None = None,
    language: str = "en",
) -> dict[int, str]:
    """Event id -> why it is not tech enough, naming its words, scope and threshold (from
    the first source that carries it)."""
    ids = [e.id for e in events if e.id is not None]
    first: dict[int, Source] = {}
    for i in range(0, len(ids), CHUNK):
        rows = session.exec(
            select(EventLink.event_id, Source)
            .join(Source, col(Source.id) == col(EventLink.source_id))
            .where(col(EventLink.event_id).in_(ids[i : i + CHUNK]))
            .order_by(col(EventLink.id))
        ).all()
        for event_id, source in rows:
            first.setdefault(event_id, source)
    region_name = settings.region if settings else "aix-marseille"
    taxonomy = load_taxonomy(load_region(region_name))
    default = settings.relevance_threshold if settings else 1.0
    reasons = {}
    for event in events:
        carrier = first.get(event.id or 0)
        if carrier is None:
            continue
        bar = carrier.relevance_threshold
        reasons[event.id or 0] = exclusion_reason(
            event.title,
            event.description_text,
            (),
            taxonomy,
            scope=effective_scope(carrier.scope, carrier.kind),
            threshold=default if bar is None else bar,
            language=language,
        )
    return reasons


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
            if url and url not in result[event_id]:
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


def series_dates(
    session: Session, event: Event, *, region: Region | None, now: datetime, limit: int = 12
) -> list[Event]:
    """The other published, not yet ended dates of ``event``'s series, by start."""
    if not event.series_uid:
        return []
    ends = sa.func.coalesce(col(Event.end), col(Event.start))
    query = (
        select(Event)
        .where(col(Event.series_uid) == event.series_uid, col(Event.id) != event.id,
               col(Event.start).is_not(None), ends >= now, *published_conditions(region))
        .order_by(col(Event.start), col(Event.id))
        .limit(limit)
    )
    return list(session.exec(query))


def event_changes(session: Session, event_id: int) -> list[EventChange]:
    """The recorded changes of one event, oldest first."""
    return list(session.exec(
        select(EventChange).where(EventChange.event_id == event_id).order_by(col(EventChange.id))
    ))
