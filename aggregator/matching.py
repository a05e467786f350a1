"""The store side of dedupe: stored listings as candidates, new listings matched to them,
the whole store matched again, and the review queue of possible duplicates.

Matching is done listing to listing (each ``EventLink``'s own version of the event, with
the names of the group its source speaks for), so the evidence of every source of a stored
event counts, not only the fields its composition kept. Decisions follow the score bands
of :mod:`aggregator.dedupe`: a new listing joins the event it matches best at ``MERGE``;
when it matches several stored events at ``MERGE``, they are one event and are fused
(the lowest id stays, the others are hidden, their ``Event.merged_into`` set), unless an admin
pinned them or said the pair is distinct. Pairs in the review band go to the
``PairDecision`` queue (named by the listings' stable keys, so a decision survives every
crawl). ``aggregator.duplicates`` does the same over the whole store and holds the admin's queue.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from aggregator.blocking import StoredIndex
from aggregator.candidate import Candidate
from aggregator.dedupe import Match, candidate_of, find_matches
from aggregator.ingest_plan import MatchDecision, ReviewPair
from aggregator.models import Event, EventLink, PairDecision, Source
from aggregator.normalize import NormalizedEvent

CHUNK = 500
AGGREGATOR_KINDS = ("aggregator", "agenda", "media", "city", "calendar", "newsletter", "portal")


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def link_key(source_id: int, external_id: str) -> str:
    """The stable name of one listing: "<source id>:<external id>"."""
    return f"{source_id}:{external_id}"


def source_names(source: Any) -> tuple[str, ...]:
    """The group a source speaks for, from its name ("Calanques Python (Meetup)" → "Calanques
    Python"); none for aggregators (a shared calendar names nobody's event)."""
    kind = (getattr(source, "kind", None) or "").lower()
    name = (getattr(source, "name", None) or "").strip()
    if not name or any(k in kind for k in AGGREGATOR_KINDS):
        return ()
    for sep in (" (", " – ", " - ", " | ", " — "):
        name = name.split(sep, 1)[0]
    return (name.strip(),) if name.strip() else ()


@dataclass
class StoredListings:
    """The stored listings of the events around some days, as candidates."""

    candidates: list[Candidate] = field(default_factory=list)
    key_of: dict[int, str] = field(default_factory=dict)  # link id -> stable key
    pinned_events: set[int] = field(default_factory=set)
    distinct: set[frozenset[str]] = field(default_factory=set)  # admin: not the same
    store: str = ""  # the database they were read from


_LINK_COLUMNS = ("id", "event_id", "source_id", "external_id", "content_hash", "pinned",
                 "gone_since")  # fmt: skip
_BASES: dict[tuple[str, int, str], Candidate | None] = {}  # (store, link id, hash) -> base
_BASES_MAX = 200_000


_MISSING: Any = object()


def _store_name(session: Session) -> str:
    """The database a session reads (cache keys must not mix two stores' link ids)."""
    return session.connection().engine.url.render_as_string(hide_password=True)


def _candidate_bases(
    session: Session, store: str, links: Sequence[Any]
) -> dict[int, Candidate | None]:
    """Each listing's candidate before its key, source and names are set, by link id.

    A link's stored version (``raw``) is only ever written together with its
    ``content_hash``, so a (link, hash) pair always means the same version: its candidate is
    built once per process and reused by every later batch (a crawl reads the same days'
    listings once per source); only the versions not seen yet are read and decoded."""
    found: dict[int, Candidate | None] = {}
    missing: list[int] = []
    for link in links:
        cached = _BASES.get((store, link.id, link.content_hash), _MISSING)
        if cached is _MISSING:
            missing.append(link.id)
        else:
            found[link.id] = cached  # type: ignore[assignment]
    if missing:
        if len(_BASES) + len(missing) > _BASES_MAX:
            _BASES.clear()
        table = EventLink.__table__  # type: ignore[attr-defined]
        query = sa.select(table.c.id, table.c.content_hash, table.c.raw)
        for part in _chunks(missing):
            for row in session.connection().execute(query.where(table.c.id.in_(part))):
                base = (candidate_of(NormalizedEvent.from_json(row.raw), None, None)
                        if row.raw else None)  # fmt: skip
                found[row.id] = _BASES[(store, row.id, row.content_hash)] = base
    return found


# store -> its stored candidates filed for blocking, kept across batches and crawls
_INDEXES: dict[str, StoredIndex] = {}


def _index(store: str) -> StoredIndex:
    found = _INDEXES.get(store)
    if found is None:
        found = _INDEXES[store] = StoredIndex()
    return found


# (store, link id, hash, event id, source id, names) -> the finished candidate
_CANDIDATES: dict[tuple[Any, ...], Candidate] = {}


def _candidate(store: str, link: Any, base: Candidate, source_id: int | None,
               names: tuple[str, ...]) -> Candidate:
    """``base`` with the link's key, the source it counts for and its group names, made
    once per process for each such tuple: the same object every batch (``find_matches``
    keeps what it derives from a candidate on the object's identity)."""
    memo = (store, link.id, link.content_hash, link.event_id, source_id, names)
    found = _CANDIDATES.get(memo)
    if found is None:
        if len(_CANDIDATES) >= _BASES_MAX:
            _CANDIDATES.clear()
        found = _CANDIDATES[memo] = replace(
            base, key=("e", link.event_id, link.id), source_id=source_id,
            names=tuple(dict.fromkeys((*base.names, *names))))
    return found


def load_listings(session: Session, days: Sequence[date] | None,
                  own_source: int | None = None) -> StoredListings:
    """Candidates for every listing of the events starting on ``days`` (or spanning one of
    them; all events when ``days`` is None), events merged into another left out. With
    ``own_source``, the listings of an event that source already carries count as that
    source's (it never gets a second one).

    Read in one pass over the listings' light columns (``ix_event_start_date``); each
    listing version's candidate is built once per process (see :func:`_candidate_bases`)."""
    table = Event.__table__  # type: ignore[attr-defined]
    link_table = EventLink.__table__  # type: ignore[attr-defined]
    # "not merged away" written so that no planner takes the merged_into index for it
    # (nearly every event has none): the days' index is what narrows the read
    query = (sa.select(*(link_table.c[name] for name in _LINK_COLUMNS))
             .join(table, table.c.id == link_table.c.event_id)
             .where(sa.func.coalesce(table.c.merged_into, 0) == 0))
    conn = session.connection()
    links: list[Any] = []
    if days is None:
        links.extend(conn.execute(query))
    else:
        ordered = sorted(set(days))
        for part in _chunks(ordered):
            links.extend(conn.execute(query.where(table.c.start_date.in_(part))))
        if ordered:
            links.extend(conn.execute(query.where(
                table.c.start_date < ordered[0], table.c.start_date >= ordered[0] - timedelta(days=4),
                table.c.end_date >= ordered[0])))
    links.sort(key=lambda link: (link.event_id, link.id))
    sources = Source.__table__  # type: ignore[attr-defined]
    names_of: dict[int, tuple[str, ...]] = {}
    source_ids = sorted({link.source_id for link in links})
    for part in _chunks(source_ids):
        names_of.update((row.id, source_names(row)) for row in conn.execute(
            sa.select(sources.c.id, sources.c.name, sources.c.kind).where(sources.c.id.in_(part))))
    own = {link.event_id for link in links if own_source is not None and link.source_id == own_source}
    live = [link for link in links if link.gone_since is None]
    store = _store_name(session)
    bases = _candidate_bases(session, store, live)
    stored = StoredListings(store=store)
    for link in links:
        if link.pinned:
            stored.pinned_events.add(link.event_id)
    for link in live:
        base = bases.get(link.id)
        if base is None:  # a listing without its stored version (never read)
            continue
        stored.key_of[link.id] = link_key(link.source_id, link.external_id)
        stored.candidates.append(_candidate(
            store, link, base, own_source if link.event_id in own else link.source_id,
            names_of.get(link.source_id, ())))
    keys = set(stored.key_of.values())
    if keys:  # an admin's "not the same" decisions: few, read by their status
        decisions = PairDecision.__table__  # type: ignore[attr-defined]
        for left, right in conn.execute(sa.select(decisions.c.left_key, decisions.c.right_key)
                                        .where(decisions.c.status == "distinct")):
            if left in keys or right in keys:
                stored.distinct.add(frozenset((left, right)))
    return stored


@dataclass(frozen=True, slots=True)
class Review:
    """A pair in the review band: two listings' stable keys, their events, the evidence."""

    keys: tuple[str, str]
    events: tuple[int | None, int | None]
    score: float
    reasons: tuple[str, ...]


def _note(match: Match, now: datetime, **extra: Any) -> dict[str, Any]:
    return {**extra, "score": match.score, "reasons": list(match.reasons), "at": now.isoformat()}


def match_fresh(session: Session, source: Source, fresh: Sequence[NormalizedEvent],
                now: datetime, days: Sequence[date]) -> MatchDecision:
    """Match a source's new listings against the stored listings around ``days``: which
    stored event each one is, which stored events it shows to be one, which pairs to queue."""
    if not fresh:
        return MatchDecision()
    assert source.id is not None
    stored = load_listings(session, days, own_source=source.id)
    names = source_names(source)
    new = [candidate_of(n, ("n", n.external_id), source.id, names) for n in fresh]
    best: dict[str, dict[int, Match]] = defaultdict(dict)
    for match in find_matches(new, stored.candidates, among_new=False, index=_index(stored.store)):
        left, right = match.left, match.right
        if left[0] != "n":  # type: ignore[index]
            left, right = right, left
        if left[0] != "n" or right[0] != "e":  # type: ignore[index]
            continue
        event_id: int = right[1]  # type: ignore[index]
        kept = best[left[1]].get(event_id)  # type: ignore[index]
        if kept is None or match.score > kept.score:
            best[left[1]][event_id] = Match(left, right, match.score, match.reasons)  # type: ignore[index]
    parent: dict[int, int] = {}

    def root(e: int) -> int:
        while parent.get(e, e) != e:
            e = parent[e]
        return e

    fuse_notes: dict[int, dict[str, Any]] = {}
    targets: dict[str, tuple[int, dict[str, Any]]] = {}
    reviews: list[ReviewPair] = []
    for ext in sorted(best):
        per_event = best[ext]
        merges = sorted((m for m in per_event.values() if m.merge), key=lambda m: (-m.score, m.right[1]))  # type: ignore[index]
        if merges:
            target = merges[0].right[1]  # type: ignore[index]
            targets[ext] = (target, _note(merges[0], now, source_id=source.id, external_id=ext))
            for extra in merges[1:]:
                eid = extra.right[1]  # type: ignore[index]
                if eid in stored.pinned_events or _said_distinct(stored, per_event, target, eid):
                    continue
                a, b = root(target), root(eid)
                if a != b:
                    parent[max(a, b)] = min(a, b)
                    fuse_notes[max(a, b)] = _note(extra, now, source_id=source.id, external_id=ext,
                                                  bridge=True)
        for match in per_event.values():
            if match.merge:
                continue
            stored_key = stored.key_of.get(match.right[2])  # type: ignore[index]
            if stored_key:
                reviews.append((ext, stored_key, match.right[1], match.score, match.reasons))  # type: ignore[index]
    fusions = [(root(event), event, fuse_notes.get(event, {}))
               for event in sorted(parent) if root(event) != event]
    return MatchDecision(
        targets={ext: (root(eid), note) for ext, (eid, note) in targets.items()},
        fusions=fusions, reviews=reviews)


def _said_distinct(stored: StoredListings, per_event: dict[int, Match], a: int, b: int) -> bool:
    """An admin said some listing of event ``a`` and some listing of ``b`` are not the same."""
    keys_a = {k for c in stored.candidates if c.key[1] == a  # type: ignore[index]
              if (k := stored.key_of.get(c.key[2]))}  # type: ignore[index]
    keys_b = {k for c in stored.candidates if c.key[1] == b  # type: ignore[index]
              if (k := stored.key_of.get(c.key[2]))}  # type: ignore[index]
    return any(frozenset((x, y)) in stored.distinct for x in keys_a for y in keys_b)


def fuse_events(session: Session, keep: int, other: int, note: dict[str, Any],
                now: datetime) -> None:
    """Move every listing of ``other`` onto ``keep``; ``other`` is hidden and merged into
    ``keep`` (the column; the note keeps the evidence)."""
    links = EventLink.__table__  # type: ignore[attr-defined]
    session.connection().execute(
        sa.update(links).where(links.c.event_id == other).values(event_id=keep))
    row = session.get(Event, other)
    if row is not None:
        row.hidden = True
        row.merged_into = keep
        row.merge_notes = [*row.merge_notes, {"merged_into": keep, "by": "dedupe", **note}]
        row.updated_at = now
        session.add(row)


def record_reviews(session: Session, reviews: Iterable[Review], now: datetime) -> int:
    """Add review-band pairs to the queue (a pair already there keeps its decision; a
    pending one gets the new score). Returns how many were added."""
    wanted: dict[tuple[str, str], Review] = {}
    for review in reviews:
        (a, b), (ea, eb) = review.keys, review.events
        if a == b or (ea is not None and ea == eb):
            continue
        if b < a:
            review = Review((b, a), (eb, ea), review.score, review.reasons)
        wanted[review.keys] = review
    if not wanted:
        return 0
    existing: dict[tuple[str, str], PairDecision] = {}
    lefts = sorted({k[0] for k in wanted})
    for part in _chunks(lefts):
        for row in session.exec(select(PairDecision).where(col(PairDecision.left_key).in_(part))):
            existing[(row.left_key, row.right_key)] = row
    added = 0
    for keys, review in sorted(wanted.items()):
        found = existing.get(keys)
        if found is None:
            session.add(PairDecision(left_key=keys[0], right_key=keys[1],
                                     left_event_id=review.events[0], right_event_id=review.events[1],
                                     score=review.score, reasons=list(review.reasons),
                                     created_at=now))
            added += 1
        elif found.status == "pending":
            found.score, found.reasons = review.score, list(review.reasons)
            found.left_event_id, found.right_event_id = review.events
            session.add(found)
    session.flush()
    return added
