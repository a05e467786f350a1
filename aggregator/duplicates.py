"""Possible duplicates: the admin's review queue, its decisions, and matching the whole store
again (``techagenda events rematch``).

A pair scored in the review band (see :mod:`aggregator.dedupe`) waits in ``PairDecision``
as ``pending``. "Merge" merges the two listings' events like an admin merge (links pinned,
so no crawl undoes it); "not the same" marks the pair ``distinct``: ingest and rematch never
fuse events across a distinct pair, and the pair is not queued again.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlmodel import Session, col, select

from aggregator.dedupe import find_matches
from aggregator.errors import InvalidInputError, NotFoundError
from aggregator.matching import Review, fuse_events, load_listings, record_reviews
from aggregator.models import Event, EventLink, PairDecision
from aggregator.moderation import merge_events, recompose

STATUSES = ("pending", "merged", "distinct")


@dataclass(frozen=True, slots=True)
class PairView:
    """One queued pair as the admin page shows it."""

    id: int
    score: float
    reasons: list[str]
    status: str
    left: Event | None
    right: Event | None
    decided_by: str | None
    decided_at: datetime | None


def pending_pairs(session: Session, *, limit: int = 200) -> list[PairView]:
    """Pending pairs whose two listings are still in two different visible events, best
    score first."""
    rows = session.exec(select(PairDecision).where(PairDecision.status == "pending")
                        .order_by(col(PairDecision.score).desc(), col(PairDecision.id))).all()
    views = []
    for row in rows:
        left, right = _event_of(session, row.left_key), _event_of(session, row.right_key)
        if left is None or right is None or left.id == right.id or left.hidden or right.hidden:
            continue
        assert row.id is not None
        views.append(PairView(row.id, row.score, [str(r) for r in row.reasons], row.status,
                              left, right, row.decided_by, row.decided_at))
        if len(views) >= limit:
            break
    return views


def _event_of(session: Session, key: str) -> Event | None:
    source_id, _, external_id = key.partition(":")
    if not source_id.isdigit():
        return None
    link = session.exec(select(EventLink).where(
        EventLink.source_id == int(source_id), EventLink.external_id == external_id)).first()
    return session.get(Event, link.event_id) if link else None


def decide_pair(session: Session, pair_id: int, status: str, *, now: datetime,
                by: str = "admin") -> PairDecision:
    """Record an admin's decision on a queued pair; "merged" merges the two events."""
    if status not in ("merged", "distinct"):
        raise InvalidInputError(f"unknown decision {status!r}")
    row = session.get(PairDecision, pair_id)
    if row is None:
        raise NotFoundError(f"no possible duplicate #{pair_id}")
    if status == "merged":
        left, right = _event_of(session, row.left_key), _event_of(session, row.right_key)
        if left is None or right is None:
            raise NotFoundError("one of the two events is gone")
        if left.id != right.id:
            assert left.id is not None and right.id is not None
            keep, other = sorted((left.id, right.id))
            merge_events(session, keep, other, now=now, by=by)
    row.status, row.decided_by, row.decided_at = status, by, now
    session.add(row)
    session.flush()
    return row


@dataclass
class RematchStats:
    listings: int = 0
    fused: int = 0
    reviews: int = 0
    fusions: list[tuple[int, int]] = field(default_factory=list)


def rematch_store(session: Session, *, now: datetime, since: date | None = None,
                  until: date | None = None) -> RematchStats:
    """Score every pair of stored listings again (after a change of the rules or of the
    data): events whose listings match at ``MERGE`` are fused (lowest id kept, pinned and
    admin-distinct ones left alone), review-band pairs go to the queue. Only fuses, never
    splits: a split is an admin's decision. The outcome does not depend on storage order."""
    days = None
    if since is not None and until is not None:
        days = [since + timedelta(days=n) for n in range((until - since).days + 1)]
    stored = load_listings(session, days)
    stats = RematchStats(listings=len(stored.candidates))
    event_keys: dict[int, set[str]] = defaultdict(set)
    for c in stored.candidates:
        if (k := stored.key_of.get(c.key[2])):  # type: ignore[index]
            event_keys[c.key[1]].add(k)  # type: ignore[index]
    parent: dict[int, int] = {}

    def root(e: int) -> int:
        while parent.get(e, e) != e:
            e = parent[e]
        return e

    reviews: list[Review] = []
    matches = sorted(find_matches(stored.candidates), key=lambda m: (-m.score, str(m.left), str(m.right)))
    for match in matches:
        ea, eb = match.left[1], match.right[1]  # type: ignore[index]
        if ea == eb:
            continue
        if not match.merge:
            ka, kb = stored.key_of.get(match.left[2]), stored.key_of.get(match.right[2])  # type: ignore[index]
            if ka and kb:
                reviews.append(Review((ka, kb), (ea, eb), match.score, match.reasons))
            continue
        if {ea, eb} & stored.pinned_events and not {ea, eb} <= stored.pinned_events | {root(ea), root(eb)}:
            continue
        if any(frozenset((x, y)) in stored.distinct for x in event_keys[ea] for y in event_keys[eb]):
            continue
        a, b = root(ea), root(eb)
        if a != b and not ({a, b} <= stored.pinned_events):
            parent[max(a, b)] = min(a, b)
    for other in sorted(parent):
        keep = root(other)
        if keep != other:
            fuse_events(session, keep, other, {"reasons": ["rematch"]}, now)
            stats.fusions.append((keep, other))
    session.flush()
    for keep in sorted({k for k, _ in stats.fusions}):
        event = session.get(Event, keep)
        if event is not None:
            links = list(session.exec(select(EventLink).where(EventLink.event_id == keep)
                                      .order_by(col(EventLink.id))))
            recompose(session, event, links, now=now)
            event.merge_notes = [*event.merge_notes, {
                "merged": [o for k, o in stats.fusions if k == keep], "by": "rematch",
                "at": now.isoformat(), "reasons": ["listings match (events rematch)"]}]
            session.add(event)
    session.flush()
    stats.fused = len(stats.fusions)
    live = {root(e) for e in event_keys}
    stats.reviews = record_reviews(
        session, [r for r in reviews if root(r.events[0] or 0) != root(r.events[1] or 0)
                  or r.events[0] not in live], now)
    return stats
