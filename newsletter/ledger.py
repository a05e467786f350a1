"""The store's edge for the digest: reading events and history, claiming deliveries.

Claims are committed before a message goes out (a few at a time, each claim its own
conditional UPDATE), and every result is committed as soon as the sender learns it, so
the ledger on disk is behind the SMTP server by at most the messages in flight (see
:mod:`newsletter.send` for the window that remains).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, update
from sqlmodel import Session, col, select

from aggregator.models import (
    Delivery,
    DeliveryStatus,
    Digest,
    Event,
    Subscriber,
    SubscriberStatus,
)
from aggregator.queries import published_conditions
from newsletter.select import EventView, SubscriberPrefs


def to_view(event: Event) -> EventView:
    """The stored event mapped to the plain shape selection works on."""
    assert event.id is not None
    return EventView(
        id=event.id,
        title=event.title,
        start=event.start,
        end=event.end,
        all_day=event.all_day,
        start_date=event.start_date,
        end_date=event.end_date,
        timezone=event.timezone,
        status=event.status,
        online=event.online,
        insee=event.insee,
        city=event.city,
        venue=event.venue,
        address=event.address,
        url=event.url,
        description=event.description_text,
        organizer=event.organizer,
        topics=tuple(event.topics or ()),
        created_at=event.created_at,
        updated_at=event.updated_at,
        series_uid=event.series_uid,
        title_key=event.title_key,
        cancelled_at=event.cancelled_at,
    )


def to_prefs(sub: Subscriber) -> SubscriberPrefs:
    return SubscriberPrefs(
        email=sub.email,
        language=sub.language,
        topics=frozenset(sub.topics or ()),
        towns=frozenset(sub.towns or ()),
        include_online=sub.include_online,
        id=sub.id,
        topic_weights={str(k): float(v) for k, v in (sub.topic_weights or {}).items()},
    )


def load_events(session: Session, *, first_day: date, days: int = 14) -> list[EventView]:
    """Agenda events (visible, relevant, in the region or online) that may fall in ``days``
    from ``first_day``: the same rule as the public agenda (``aggregator.queries``).

    The window is widened by a day on each side for time zones; selection is exact.
    """
    lo = datetime.combine(first_day - timedelta(days=1), time(0), tzinfo=UTC)
    hi = datetime.combine(first_day + timedelta(days=days + 1), time(0), tzinfo=UTC)
    last_day = first_day + timedelta(days=days)
    stmt = select(Event).where(
        *published_conditions(),
        or_(
            and_(col(Event.start) >= lo, col(Event.start) < hi),
            and_(col(Event.start_date) >= first_day, col(Event.start_date) <= last_day),
            and_(col(Event.start_date) < first_day, col(Event.end_date) >= first_day),
        ),
    )
    return [to_view(e) for e in session.exec(stmt.order_by(col(Event.id)))]


@dataclass(frozen=True, slots=True)
class History:
    """What earlier digests of the region told each subscriber: their own watermark.

    ``told_at[subscriber][event]`` is when the events of the latest sent digest that
    showed that event to that subscriber were read (``Delivery.composed_at``, else its
    ``sent_at``): changes recorded after it are news to them.
    """

    announced: dict[int, frozenset[int]]
    last_sent: dict[int, datetime]
    told_at: dict[int, dict[int, datetime]] = field(default_factory=dict)


def load_history(
    session: Session, *, region: str, before_week: str, include_week: bool = False
) -> History:
    """Events announced to each subscriber by sent digests of earlier weeks.

    ``include_week`` counts the digest of ``before_week`` itself too (a preview of the
    next issue "as if sent now", after this week's went out).
    """
    week_rule = col(Digest.week) <= before_week if include_week else col(Digest.week) < before_week
    rows = session.exec(
        select(Delivery.subscriber_id, Delivery.event_ids, Delivery.sent_at, Delivery.composed_at)
        .join(Digest, col(Digest.id) == col(Delivery.digest_id))
        .where(Digest.region == region, week_rule, Delivery.status == DeliveryStatus.sent)
    ).all()
    announced: dict[int, set[int]] = {}
    last_sent: dict[int, datetime] = {}
    told_at: dict[int, dict[int, datetime]] = {}
    for sub_id, event_ids, sent_at, composed_at in rows:
        announced.setdefault(sub_id, set()).update(event_ids or ())
        if sent_at is not None and (sub_id not in last_sent or sent_at > last_sent[sub_id]):
            last_sent[sub_id] = sent_at
        told = composed_at or sent_at
        if told is None:
            continue
        mine = told_at.setdefault(sub_id, {})
        for event_id in event_ids or ():
            if event_id not in mine or told > mine[event_id]:
                mine[event_id] = told
    return History({k: frozenset(v) for k, v in announced.items()}, last_sent, told_at)


def claim_next(
    session: Session,
    digest_id: int,
    *,
    holder: str,
    now: datetime,
    exclude: Collection[int] = (),
) -> Delivery | None:
    """Move the next pending delivery to ``sending`` for ``holder``, commit, return it
    (:func:`claim_batch` of one). None when nothing is left."""
    taken = claim_batch(session, digest_id, holder=holder, now=now, limit=1, exclude=exclude)
    return taken[0] if taken else None


def claim_batch(
    session: Session,
    digest_id: int,
    *,
    holder: str,
    now: datetime,
    limit: int,
    exclude: Collection[int] = (),
) -> list[Delivery]:
    """Move up to ``limit`` pending deliveries to ``sending`` for ``holder``, commit once,
    return them in id order (empty when nothing is left).

    The claim is one conditional ``UPDATE ... WHERE id IN (...) AND status = 'pending'
    RETURNING id``: a row another sender took first is neither changed nor returned, so
    two senders never hold the same delivery. PostgreSQL also skips rows another transaction
    is claiming (``FOR UPDATE SKIP LOCKED``).
    """
    postgres = session.get_bind().dialect.name == "postgresql"
    while True:
        stmt = (
            select(Delivery.id)
            .where(Delivery.digest_id == digest_id, Delivery.status == DeliveryStatus.pending)
            .order_by(col(Delivery.id))
            .limit(max(1, limit))
        )
        if exclude:
            stmt = stmt.where(col(Delivery.id).not_in(list(exclude)))
        if postgres:
            stmt = stmt.with_for_update(skip_locked=True)
        candidates = list(session.exec(stmt).all())
        if not candidates:
            session.commit()
            return []
        # one statement, still a conditional claim per row: a row another sender moved
        # out of `pending` first is not updated and not returned
        taken = list(session.execute(
            update(Delivery)
            .where(
                col(Delivery.id).in_(candidates), col(Delivery.status) == DeliveryStatus.pending
            )
            .values(
                status=DeliveryStatus.sending,
                claimed_by=holder,
                claimed_at=now,
                attempts=col(Delivery.attempts) + 1,
            )
            .returning(col(Delivery.id))
            .execution_options(synchronize_session=False)
        ).scalars())
        session.commit()
        if taken:
            rows = session.exec(
                select(Delivery)
                .where(col(Delivery.id).in_(taken))
                .order_by(col(Delivery.id))
                .execution_options(populate_existing=True)
            ).all()
            return list(rows)


def mark_sent(
    session: Session, sent: Collection[tuple[int, list[int]]], *, at: datetime,
    composed_at: datetime,
) -> None:
    """Record ``(delivery id, event ids)`` as sent: one Core UPDATE, executed for each row
    (the caller commits)."""
    if sent:
        session.connection().execute(
            _mark_sent_statement(),
            [{"row_id": row_id, "ids": ids, "at": at, "told": composed_at} for row_id, ids in sent],
        )


@cache
def _mark_sent_statement() -> Any:
    """The UPDATE of :func:`mark_sent`, built once (only its parameters change)."""
    table = Delivery.__table__  # type: ignore[attr-defined]
    return (
        table.update()
        .where(table.c.id == bindparam("row_id"))
        .values(status=DeliveryStatus.sent, last_error=None, event_ids=bindparam("ids"),
                sent_at=bindparam("at"), composed_at=bindparam("told"))
    )


def release_claims(session: Session, ids: Collection[int], *, holder: str) -> int:
    """Put back to pending ``holder``'s claimed rows among ``ids`` it will not send now
    (a run that stops early); commit; return how many."""
    if not ids:
        return 0
    result = session.execute(
        update(Delivery)
        .where(
            col(Delivery.id).in_(list(ids)),
            col(Delivery.status) == DeliveryStatus.sending,
            col(Delivery.claimed_by) == holder,
        )
        .values(status=DeliveryStatus.pending, claimed_by=None)
    )
    session.commit()
    return _rowcount(result)


def release_stale(
    session: Session,
    digest_id: int,
    *,
    holder: str,
    stale_before: datetime,
    alive: Callable[[str], bool],
) -> int:
    """Put back to pending the ``sending`` rows no live sender holds; return how many.

    A row is taken back when its claim is ``holder``'s own (a run of the same sender that
    stopped midway), its claimer is dead (``alive`` says False), it has no claimer (left
    by an older version) or it was claimed before ``stale_before``. Another live sender's
    in-flight rows are never touched: each reset is conditional on the claimer read.
    """
    rows = session.exec(
        select(Delivery.id, Delivery.claimed_by, Delivery.claimed_at).where(
            Delivery.digest_id == digest_id, Delivery.status == DeliveryStatus.sending
        )
    ).all()
    released = 0
    for row_id, by, at in rows:
        stale = at is None or at < stale_before
        if not (by is None or by == holder or stale or not alive(by)):
            continue
        claimer = col(Delivery.claimed_by)
        same_claim = claimer.is_(None) if by is None else claimer == by
        result = session.execute(
            update(Delivery)
            .where(
                col(Delivery.id) == row_id,
                col(Delivery.status) == DeliveryStatus.sending,
                same_claim,
            )
            .values(status=DeliveryStatus.pending, claimed_by=None)
        )
        released += _rowcount(result)
    session.commit()
    return released


def _rowcount(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def count_by_status(session: Session, digest_id: int) -> dict[str, int]:
    rows = session.exec(
        select(Delivery.status, func.count())
        .where(Delivery.digest_id == digest_id)
        .group_by(Delivery.status)
    ).all()
    return {status: int(n) for status, n in rows}


@dataclass(frozen=True, slots=True)
class SendState:
    """Where one week's send stands, for the admin's send console."""

    readers: int  # confirmed subscribers now
    sent_at: datetime | None = None
    counts: dict[str, int] = field(default_factory=dict)  # deliveries by status
    reasons: tuple[tuple[str, str, int], ...] = ()  # (status, last error, how many)

    @property
    def recorded(self) -> int:
        return sum(self.counts.values())

    @property
    def to_send(self) -> int:
        """Confirmed readers who have not received it yet (what "send to all" would reach)."""
        return max(0, self.readers - self.counts.get(DeliveryStatus.sent, 0))

    @property
    def nothing_to_say(self) -> int:
        """Confirmed readers with no delivery: nothing of theirs in the week's events."""
        return max(0, self.readers - self.recorded) if self.counts else 0


def send_state(session: Session, *, region: str, week: str) -> SendState:
    """The week's deliveries by status, the errors that held or failed some, the readers."""
    readers = int(session.exec(
        select(func.count()).select_from(Subscriber)
        .where(Subscriber.status == SubscriberStatus.confirmed)
    ).one())
    digest = session.exec(
        select(Digest).where(Digest.region == region, Digest.week == week)
    ).first()
    if digest is None or digest.id is None:
        return SendState(readers)
    rows = session.exec(
        select(col(Delivery.status), col(Delivery.last_error), func.count())
        .where(Delivery.digest_id == digest.id,
               col(Delivery.status).in_([DeliveryStatus.failed, DeliveryStatus.pending]),
               col(Delivery.last_error).is_not(None))
        .group_by(col(Delivery.status), col(Delivery.last_error))
        .order_by(func.count().desc())
        .limit(10)
    ).all()
    return SendState(readers, digest.sent_at, count_by_status(session, digest.id),
                     tuple((status, error or "", int(n)) for status, error, n in rows))
