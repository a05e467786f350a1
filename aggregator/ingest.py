"""The single write path for events: normalize → match → upsert, in bulk.

``ingest_events`` takes what one source listed in one crawl and brings the store in line:

* identity is (source, external id): a link seen before is updated in place when its
  content hash changed, and left alone otherwise (a re-run changes nothing);
* a new link joins an existing event on an exact key (same canonical URL or UID on the
  same day) or a fuzzy match (see ``aggregator.dedupe``), else it creates an event;
* every event's published fields are composed from all its links: each field from the
  most authoritative source (``Source.authority``) that has it, then the most complete;
  provenance goes to ``Event.field_sources``, merge evidence to ``Event.merge_notes``;
* when a source changes the start, end, venue, town, title or status of an event already
  published, an ``EventChange`` row keeps the old and new values (``aggregator.history``);
* links are never moved between events once stored, so an admin's merge or split
  (``aggregator.moderation``, which pins the links) survives every later crawl; an event an
  admin merged into another is no match target any more;
* with ``complete=True`` (the source answered and this is everything it lists now), an
  upcoming event of this source that vanished is cancelled, unless another live source
  still carries it; past events (an occurrence that fell out of the window) are not. A
  listing counts as vanished only once it is missing from ``crawl_gone_after`` such crawls
  in a row, and never when the crawl looks like a collapse (``aggregator.collapse``: the
  source listed none, or lost most, of its upcoming events): the source is then marked
  suspect and keeps its events.

Reads are batched (the source's links, the candidate events of the affected days), writes
are flushed together; the caller commits. Two ingests of one source queue on the source's
row lock; should a concurrent writer still insert the same link first, the flush fails with
IntegrityError and the work is retried once from fresh reads. Ingests of *different*
sources run side by side on PostgreSQL, so before matching its new links an ingest takes
a transaction-scoped advisory lock on each local day they fall on (and the days either
side, the match window): two writers bringing the same new event queue there, and the
second one sees the first one's event and joins it instead of creating a twin. (SQLite
has one writer at a time already.)
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, col, select

from aggregator.collapse import CrawlVerdict, judge_crawl
from aggregator.compose import LinkView, compose_fields, explain_fields
from aggregator.dedupe import PLACE_FIELDS, SINGLE_FIELDS, TIME_FIELDS
from aggregator.history import diff_fields
from aggregator.ingest_plan import Plan, StoredLink, plan
from aggregator.matching import Review, fuse_events, link_key, match_fresh, record_reviews
from aggregator.models import Event, EventChange, EventLink, EventStatus, Source
from aggregator.normalize import NormalizedEvent, normalize
from aggregator.raw import RawEvent, SourceDefaults
from aggregator.regions import Region, load_region
from aggregator.relevance import effective_scope, scope_relevance
from aggregator.settings import Settings
from aggregator.topics import load_taxonomy, source_prior

T = TypeVar("T")
CHUNK = 500
# Sources whose new events wait for an admin (stored hidden): the public single-event form.
HELD_KINDS = frozenset({"form"})


@dataclass
class IngestStats:
    """What one ingest did."""

    found: int = 0
    new: int = 0
    updated: int = 0
    merged: int = 0
    cancelled: int = 0
    skipped: int = 0
    warnings: list[str] = field(default_factory=list)


def _table(model: type[SQLModel]) -> sa.Table:
    return cast(sa.Table, model.__table__)  # type: ignore[attr-defined]


def _id(row: Event | Source) -> int:
    assert row.id is not None
    return row.id


def _chunks(items: Sequence[T], size: int = CHUNK) -> Iterable[Sequence[T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def source_defaults(source: Source, region: Region) -> SourceDefaults:
    """What a source's documents may leave out: its timezone, language and (known) town."""
    town = source.town if region.match_town(source.town) else None
    return SourceDefaults(
        timezone=source.timezone or region.timezone,
        language=source.language or region.language,
        city=town,
    )


def scaled_relevance(content: float, source: Source, settings: Settings) -> float:
    """Relevance on the scale stored in ``Event.relevance``: 1.0 is the source's bar."""
    taxonomy = load_taxonomy(load_region(settings.region))
    threshold = (
        source.relevance_threshold
        if source.relevance_threshold is not None
        else settings.relevance_threshold
    )
    return scope_relevance(
        content,
        scope=effective_scope(source.scope, source.kind),
        prior=source_prior(source.kind, taxonomy),
        threshold=threshold,
        taxonomy=taxonomy,
    )


# digest of (what normalize reads) -> (the raw event, the region, its normalized event)
_NORMALIZED: dict[bytes, tuple[RawEvent, Region, NormalizedEvent]] = {}
_NORMALIZED_MAX = 10_000


def normalized(raw: RawEvent, defaults: SourceDefaults, region: Region) -> NormalizedEvent:
    """``normalize(raw, ...)``, remembered per process for a listing seen again unchanged.

    ``normalize`` is pure and reads only the raw event, the defaults' timezone, language and
    town, and the region; the memo is keyed by a digest of the ``repr`` of those (exact
    types and values: ``True`` is not ``1``, a time in another zone is another time), so a
    re-crawl that lists the same raw events gets the very result ``normalize`` would give.
    The entry holds the raw event and the region, so no object whose address the key shows
    is reused while the entry lives."""
    what = repr((raw, defaults.timezone, defaults.language, defaults.city, region.name,
                 id(region)))
    memo = hashlib.blake2b(what.encode("utf-8", "surrogatepass"), digest_size=20).digest()
    found = _NORMALIZED.get(memo)
    if found is not None:
        return found[2]
    item = normalize(raw, defaults=defaults, region=region)
    if len(_NORMALIZED) >= _NORMALIZED_MAX:
        _NORMALIZED.clear()
    _NORMALIZED[memo] = (raw, region, item)
    return item


def ingest_events(
    session: Session,
    source: Source,
    events: list[RawEvent],
    *,
    now: datetime,
    complete: bool,
    settings: Settings,
) -> IngestStats:
    """Bring the store in line with what ``source`` lists now (flushes; the caller commits)."""
    region = load_region(settings.region)
    defaults = source_defaults(source, region)
    stats = IngestStats(found=len(events))
    batch: dict[str, NormalizedEvent] = {}
    for raw in events:
        try:
            item = normalized(raw, defaults, region)
        except Exception as exc:  # normalize is total; this guards one bad item anyway
            stats.skipped += 1
            stats.warnings.append(f"could not normalize {getattr(raw, 'title', '')!r}: {exc}")
            continue
        if item.start is None:
            stats.skipped += 1
            stats.warnings.append(f"no usable start time: {item.title!r}")
            continue
        if item.external_id in batch:
            stats.warnings.append(f"listed twice, kept the last: {item.external_id}")
        batch[item.external_id] = item
    _lock_source(session, source)
    verdict = _judge(session, source, batch, now, settings) if complete else None
    if verdict is not None and verdict.collapsed:
        stats.warnings.append(f"suspect: {verdict.message()}")
    for attempt in (1, 2):
        try:
            with session.begin_nested():
                result = _apply(session, source, batch, now, complete, settings, verdict)
            result.found, result.skipped = stats.found, stats.skipped
            result.warnings = stats.warnings + result.warnings
            return result
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _judge(
    session: Session,
    source: Source,
    batch: dict[str, NormalizedEvent],
    now: datetime,
    settings: Settings,
) -> CrawlVerdict:
    """The collapse guard's verdict on this complete crawl, recorded on the source."""
    rows = session.exec(
        select(EventLink.external_id, Event.start, Event.end)
        .join(Event, col(Event.id) == col(EventLink.event_id))
        .where(EventLink.source_id == source.id, col(EventLink.gone_since).is_(None))
    ).all()
    live = {ext for ext, _, _ in rows}
    upcoming = {ext for ext, start, end in rows if _not_over(start, end, now)}
    verdict = judge_crawl(
        batch, live, upcoming, source.missing or {}, gone_after=settings.crawl_gone_after
    )
    if verdict.collapsed:
        if not source.suspect:
            source.suspect_since = now
        source.suspect = True
        source.suspect_reason = verdict.message()
    else:
        source.suspect, source.suspect_reason, source.suspect_since = False, None, None
        source.last_events_found = len(batch)
    source.missing = verdict.missing or None
    session.add(source)
    return verdict


def _not_over(start: datetime | None, end: datetime | None, now: datetime) -> bool:
    last = end or start
    return last is not None and last >= now


def _lock_source(session: Session, source: Source) -> None:
    """Take the write lock first: the source's row on PostgreSQL (same-source ingests queue up,
    other sources run on), the database write lock on SQLite, before anything is read, so a
    writer never works from a snapshot another writer has made stale."""
    table = _table(Source)
    session.connection().execute(
        sa.update(table).where(table.c.id == source.id).values(flagged=table.c.flagged)
    )


def _apply(
    session: Session,
    source: Source,
    batch: dict[str, NormalizedEvent],
    now: datetime,
    complete: bool,
    settings: Settings,
    verdict: CrawlVerdict | None = None,
) -> IngestStats:
    """Read the source's links and the match candidates, plan, apply."""
    assert source.id is not None
    links = {
        link.external_id: link
        for link in session.exec(select(EventLink).where(EventLink.source_id == source.id))
    }
    fresh = [n for ext, n in batch.items() if ext not in links]
    _lock_days(session, fresh)
    days = sorted({d for n in fresh if n.start_date for d in _span_days(n)})
    matched = match_fresh(session, source, fresh, now, days)
    decided = plan(
        batch,
        {ext: StoredLink(ext, link.event_id, link.content_hash, link.gone_since)
         for ext, link in links.items()},
        matched,
        now=now,
        gone=verdict.gone if complete and verdict is not None else None,
        collapsed=verdict is not None and verdict.collapsed,
    )
    return apply(session, decided, source=source, settings=settings, links=links)


def apply(
    session: Session,
    decided: Plan[NormalizedEvent],
    *,
    source: Source,
    settings: Settings,
    links: dict[str, EventLink] | None = None,
) -> IngestStats:
    """Write a plan: links, new events, merges and fusions, queued pairs, gone marks, then
    recompose every touched event and record its changes (flushes; the caller commits)."""
    assert source.id is not None
    now = decided.now
    if links is None:
        links = {
            link.external_id: link
            for link in session.exec(select(EventLink).where(EventLink.source_id == source.id))
        }
    stats = IngestStats()
    touched: set[int] = set()
    for ext in decided.unchanged:
        links[ext].last_seen = now
    for item in decided.updated:
        link = links[item.external_id]
        link.last_seen = now
        link.content_hash, link.raw = item.content_hash, item.to_json()
        link.url, link.canonical_url = item.url, item.canonical_url
        link.gone_since = None
        touched.add(link.event_id)
    new_ids: dict[str, int] = {}
    for part in _chunks(decided.new):
        table = _table(Event)
        rows = session.connection().execute(
            sa.insert(table).returning(table.c.id, sort_by_parameter_order=True),
            [_new_event_row(n, source, settings, now) for n in part],
        ).all()
        new_ids.update((n.external_id, row[0]) for n, row in zip(part, rows, strict=True))
    merged_events: dict[int, list[dict[str, Any]]] = defaultdict(list)
    targets = {m.item.external_id: m for m in decided.merged}
    link_rows: list[dict[str, Any]] = []
    for item in _in_batch_order(decided):
        if item.external_id in new_ids:
            event_id = new_ids[item.external_id]
            stats.new += 1
        else:
            merge = targets[item.external_id]
            event_id = merge.event_id
            merged_events[event_id].append(dict(merge.note))
            touched.add(event_id)
            stats.merged += 1
        link_rows.append(
            {
                "event_id": event_id,
                "source_id": source.id,
                "external_id": item.external_id,
                "url": item.url,
                "canonical_url": item.canonical_url,
                "content_hash": item.content_hash,
                "raw": item.to_json(),
                "first_seen": now,
                "last_seen": now,
                "pinned": False,
            }
        )
    for rows_part in _chunks(link_rows):
        session.connection().execute(sa.insert(_table(EventLink)), list(rows_part))
    session.flush()
    for fusion in decided.fusions:  # a new listing showed two stored events are one
        fuse_events(session, fusion.keep, fusion.other, dict(fusion.note), now)
        merged_events[fusion.keep].append({**fusion.note, "merged": fusion.other})
        touched.add(fusion.keep)
    event_of = {**new_ids, **{ext: m.event_id for ext, m in targets.items()}}
    record_reviews(session, [
        Review((link_key(source.id, ext), other_key), (event_of.get(ext), other_event), score,
               reasons)
        for ext, other_key, other_event, score, reasons in decided.reviews
    ], now)
    for ext in decided.gone:
        links[ext].gone_since = now
        touched.add(links[ext].event_id)
    fresh_ids = set(new_ids.values())
    horizon = now + timedelta(days=settings.crawl_window_future_days)
    change_rows: list[dict[str, Any]] = []
    for event, event_links, sources in _load_events(session, touched):
        before = _published(event)
        changed = _compose(event, event_links, sources, settings, now, horizon)
        if event.id in merged_events:
            names = {sid: src.name for sid, src in sources.items()}
            why = explain_fields(_views(event_links, sources, settings), event.field_sources, names)
            event.merge_notes = [*event.merge_notes,
                                 *({**n, "fields": why} for n in merged_events[event.id])]
        if event.id in fresh_ids:
            continue
        change_rows.extend(
            {"event_id": event.id, "field": name, "old": old, "new": new, "at": now,
             "source_id": source.id}
            for name, old, new in diff_fields(before, _published(event))
        )
        if event.id in merged_events:
            continue
        if changed:
            event.updated_at = now
            if event.status == EventStatus.cancelled and before["status"] != EventStatus.cancelled:
                stats.cancelled += 1
            else:
                stats.updated += 1
    session.flush()
    for change_part in _chunks(change_rows):
        session.connection().execute(sa.insert(_table(EventChange)), list(change_part))
    return stats


def _in_batch_order(decided: Plan[NormalizedEvent]) -> list[NormalizedEvent]:
    """The plan's new and merged listings in the order the source listed them."""
    order = {ext: i for i, ext in enumerate(decided.listed)}
    fresh = [*decided.new, *(m.item for m in decided.merged)]
    return sorted(fresh, key=lambda n: order.get(n.external_id, 0))


DAY_LOCK_SPACE = 0x7461  # first key of the (int4, int4) advisory locks on event days


def _lock_days(session: Session, fresh: list[NormalizedEvent]) -> None:
    """On PostgreSQL, hold an advisory lock per day the new links could match on, in day
    order (no deadlock between writers), until the transaction ends."""
    if not fresh or session.get_bind().dialect.name != "postgresql":
        return
    days = sorted({d for n in fresh if n.start_date for d in _around(n.start_date)})
    # One executemany: psycopg sends the statements in a pipeline, in this order, instead
    # of one round trip per day.
    session.connection().execute(
        sa.text("SELECT pg_advisory_xact_lock(:space, :day)"),
        [{"space": DAY_LOCK_SPACE, "day": day.toordinal()} for day in days],
    )


def _new_event_row(
    item: NormalizedEvent, source: Source, settings: Settings, now: datetime
) -> dict[str, Any]:
    """The row of an event seen through one link so far (as ``_compose`` would make it)."""
    view = LinkView(
        source_id=source.id or 0,
        link_id=0,
        authority=source.authority,
        live=True,
        event=item,
        relevance=scaled_relevance(item.relevance, source, settings),
    )
    horizon = now + timedelta(days=settings.crawl_window_future_days)
    values = compose_fields(
        [view], status=EventStatus.scheduled, start=item.start, cancelled_at=None, now=now, horizon=horizon
    )
    return {
        **values,
        "hidden": source.kind in HELD_KINDS,
        "content_hash": event_hash(values),
        "merge_notes": [],
        "created_at": now,
        "updated_at": now,
    }


def _span_days(item: NormalizedEvent) -> set[Any]:
    """The local days a listing covers (at most five), and the day either side."""
    assert item.start_date is not None
    last = item.end_date if item.end_date and item.end_date >= item.start_date else item.start_date
    count = min((last - item.start_date).days, 4) + 1
    return {d for n in range(count) for d in _around(item.start_date + timedelta(days=n))}


def _around(day: Any) -> tuple[Any, ...]:
    return (day - timedelta(days=1), day, day + timedelta(days=1))


def _load_events(
    session: Session, ids: set[int]
) -> list[tuple[Event, list[EventLink], dict[int, Source]]]:
    ordered = sorted(ids)
    events: dict[int, Event] = {}
    by_event: dict[int, list[EventLink]] = defaultdict(list)
    for part in _chunks(ordered):
        for event in session.exec(select(Event).where(col(Event.id).in_(part))):
            events[_id(event)] = event
        for link in session.exec(select(EventLink).where(col(EventLink.event_id).in_(part))):
            by_event[link.event_id].append(link)
    source_ids = sorted({link.source_id for links in by_event.values() for link in links})
    sources: dict[int, Source] = {}
    for part in _chunks(source_ids):
        for src in session.exec(select(Source).where(col(Source.id).in_(part))):
            sources[_id(src)] = src
    return [(events[i], by_event[i], sources) for i in ordered if i in events]


def _published(event: Event) -> dict[str, Any]:
    names = (*TIME_FIELDS, *PLACE_FIELDS, *SINGLE_FIELDS, "status", "topics", "relevance")
    return {name: getattr(event, name) for name in names}


def _views(
    links: list[EventLink], sources: dict[int, Source], settings: Settings
) -> list[LinkView]:
    views = []
    for link in links:
        if not link.raw:
            continue
        item = NormalizedEvent.from_json(link.raw)
        src = sources.get(link.source_id)
        views.append(
            LinkView(
                source_id=link.source_id,
                link_id=link.id or 0,
                authority=src.authority if src else 0,
                live=link.gone_since is None,
                event=item,
                relevance=scaled_relevance(item.relevance, src, settings) if src else 0.0,
            )
        )
    return views


def _compose(
    event: Event,
    links: list[EventLink],
    sources: dict[int, Source],
    settings: Settings,
    now: datetime,
    horizon: datetime,
) -> bool:
    """Set the event's published fields from its links; True when anything changed."""
    views = _views(links, sources, settings)
    if not views:
        return False
    values = compose_fields(
        views,
        status=event.status,
        start=event.start,
        cancelled_at=event.cancelled_at,
        now=now,
        horizon=horizon,
    )
    changed = False
    for name, value in values.items():
        if getattr(event, name) != value:
            setattr(event, name, value)
            changed = changed or name not in ("field_sources", "title_key")
    event.content_hash = event_hash(values)
    return changed


def event_hash(values: dict[str, Any]) -> str:
    """The content hash of an event's published fields."""
    names = (*TIME_FIELDS, *PLACE_FIELDS, *SINGLE_FIELDS, "status", "topics", "relevance")
    published = {name: values.get(name) for name in names}
    return hashlib.sha256(json.dumps(published, default=str, sort_keys=True).encode()).hexdigest()[:32]
