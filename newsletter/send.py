"""Preparing and sending a weekly digest through the resumable delivery ledger.

``prepare_digest`` makes one ``Digest`` per (region, ISO week) and one pending
``Delivery`` per confirmed subscriber with something to read; running it again adds
only what is missing. ``send_digest`` then walks the ledger, one delivery at a time::

    pending --claim, commit--> sending --SMTP transaction--> sent | failed, commit
                                   \\--4xx after retries--> pending (next run)

The window that cannot be closed: the SMTP server accepted a message and the process
died before writing ``sent``. On resume that delivery is found in ``sending``. We
**resend it, with the same Message-ID**: this loses nothing (marking it "failed:
unknown" could drop a digest nobody received), and a receiving side that deduplicates
on Message-ID drops the rare repeat. The window is one SMTP round trip (the reply to
the final ``.``) plus one local commit; a message is never claimed before it is about
to go out, so at most one delivery per sender can be in it.

Every send path (the admin's button, ``techagenda digest send``, the scheduler's job,
workers) calls :func:`send_digest`, so one rule covers them all:

* without ``worker=True`` a run first takes the digest's lease
  (:func:`aggregator.locks.digest_lock_name`); while another run holds it, a second one
  sends nothing and reports ``busy`` (a double click, two CLI runs, CLI + scheduler);
* with ``worker=True`` several runs share the work;
* either way each delivery is claimed with one conditional ``UPDATE ... WHERE status =
  'pending'`` (plus ``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so no two runs ever hold
  the same one, and a starting run only takes back ``sending`` rows no live sender holds:
  its own sender's, a dead process's (``aggregator.locks.holder_alive``), or claims older
  than ``stale_after`` seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from functools import partial

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from aggregator import locks
from aggregator.errors import (
    PermanentMailError,
    TemporaryMailError,
)
from aggregator.models import (
    Delivery,
    DeliveryStatus,
    Digest,
    Subscriber,
    SubscriberStatus,
    utcnow,
)
from aggregator.settings import Settings
from aggregator.weeks import Week
from newsletter import ledger
from newsletter.compose import DigestInputs, content_for, load_inputs, whole_region
from newsletter.gate import GateReport, check_digest, gate_decision
from newsletter.links import personal_links
from newsletter.mailers import Mailer, RateLimiter, make_mailer
from newsletter.messages import build_message, delivery_message_id, list_id
from newsletter.preview import preview_digest, preview_next_digest
from newsletter.render import region_display_name, render_digest, subject_line
from newsletter.select import DigestContent, SubscriberPrefs

Progress = Callable[[int, int], None]
__all__ = ["SendReport", "prepare_digest", "preview_digest", "preview_next_digest", "send_digest"]


@dataclass
class SendReport:
    """What one ``send_digest`` run did (``pending``: still to send after it)."""

    sent: int = 0
    failed: int = 0
    skipped: int = 0
    pending: int = 0
    digest_id: int | None = None
    week: str = ""
    held: str | None = None  # why the send gate kept the digest back (nothing was sent)
    gate: GateReport | None = None
    busy: str | None = None  # another sender holds the digest's lease: who (nothing was sent)
    in_flight: int = 0  # deliveries other live senders are sending right now
    last_error: str | None = None  # the last temporary failure left pending, if any


def _prepare(
    session: Session,
    settings: Settings,
    *,
    week: str,
    now: datetime,
    inputs: DigestInputs | None = None,
    selected: dict[int, tuple[SubscriberPrefs, DigestContent]] | None = None,
) -> tuple[Digest, int]:
    """Create what is missing; ``selected`` (when given) receives each new delivery's
    selection, so the send loop does not compute it a second time."""
    Week.parse(week)  # InvalidWeekError, an InvalidInputError
    region = settings.region
    digest = session.exec(
        select(Digest).where(Digest.region == region, Digest.week == week)
    ).first()
    if digest is None:
        name = region_display_name(settings)
        digest = Digest(region=region, week=week, created_at=now, subject=f"{name} {week}")
        session.add(digest)
        session.flush()
    assert digest.id is not None
    if digest.status == "sent":
        return digest, 0
    known = set(
        session.exec(select(Delivery.subscriber_id).where(Delivery.digest_id == digest.id)).all()
    )
    subscribers = session.exec(
        select(Subscriber)
        .where(Subscriber.status == SubscriberStatus.confirmed)
        .order_by(col(Subscriber.id))
    ).all()
    if inputs is None:
        inputs = load_inputs(session, settings, week=week)
    digest.event_count = whole_region(inputs).size
    session.add(digest)
    skipped = 0
    for sub in subscribers:
        if sub.id in known:
            continue
        assert sub.id is not None
        content = content_for(inputs, sub)
        if content.is_empty and not settings.digest_send_empty:
            skipped += 1
            continue
        if selected is not None:
            selected[sub.id] = (ledger.to_prefs(sub), content)
        session.add(
            Delivery(
                digest_id=digest.id,
                subscriber_id=sub.id,
                message_id=delivery_message_id(
                    settings, region=region, week=week, subscriber_id=sub.id
                ),
                event_ids=list(content.event_ids),
            )
        )
    session.flush()
    return digest, skipped


def prepare_digest(session: Session, settings: Settings, *, week: str, now: datetime) -> Digest:
    """The region's digest for ``week`` with a pending delivery per reader (idempotent)."""
    return _prepare(session, settings, week=week, now=now)[0]


def compose_message(
    settings: Settings,
    sub: Subscriber,
    content: DigestContent,
    *,
    region_name: str,
    message_id: str,
    date: datetime,
) -> EmailMessage:
    """One subscriber's digest as an EmailMessage with its personal links."""
    links = personal_links(settings, sub, content)
    html, text = render_digest(
        content, ledger.to_prefs(sub), settings, region_name=region_name, links=links
    )
    return build_message(
        settings,
        to=sub.email,
        subject=subject_line(content, region_name=region_name),
        text_body=text,
        html_body=html,
        date=date,
        message_id=message_id,
        unsubscribe_url=links.unsubscribe,
        list_id_value=list_id(settings, region=settings.region, region_name=region_name),
    )


def _send_with_retries(mailer: Mailer, msg: EmailMessage, *, attempts: int, backoff: float) -> None:
    """Send, retrying temporary failures with exponential backoff; re-raise the last one."""
    for attempt in range(attempts):
        try:
            mailer.send(msg)
            return
        except TemporaryMailError:
            if attempt == attempts - 1:
                raise
            time.sleep(backoff * (2**attempt))


def send_digest(
    engine: Engine,
    settings: Settings,
    *,
    week: str,
    now: datetime,
    dry_run: bool = False,
    progress: Progress | None = None,
    worker: bool = False,
    holder: str | None = None,
    mailer: Mailer | None = None,
    clock: Callable[[], datetime] = utcnow,
    stale_after: float = 600.0,
    lease_ttl: timedelta = timedelta(minutes=10),
    attempts: int = 3,
    backoff: float = 0.5,
    max_consecutive_failures: int = 10,
) -> SendReport:
    """Prepare (if needed) and send the region's digest for ``week``; resumable.

    The one entry point of every send path (see the module docstring). ``holder`` names
    this sender (default: a fresh :func:`aggregator.locks.new_holder_id`); a run that
    finds the digest's lease held by someone else returns at once with ``busy`` set.
    ``dry_run`` writes nothing and reports in ``pending`` how many would go out. A
    temporary failure is retried ``attempts`` times with backoff, then left pending for
    the next run; after ``max_consecutive_failures`` of those in a row the run pauses.
    A 5xx fails the delivery and counts a hard bounce.
    """
    holder = holder or locks.new_holder_id()
    run = partial(
        _send_held,
        engine,
        settings,
        week=week,
        now=now,
        progress=progress,
        holder=holder,
        mailer=mailer,
        clock=clock,
        stale_after=stale_after,
        attempts=attempts,
        backoff=backoff,
        max_consecutive_failures=max_consecutive_failures,
    )
    if dry_run or worker:
        return run(dry_run=dry_run, renew=None)
    name = locks.digest_lock_name(settings.region, week)
    if not locks.acquire_lease(engine, name, holder, ttl=lease_ttl, now=clock()):
        report = SendReport(week=week)
        report.busy = locks.lease_holder(engine, name, now=clock()) or "another sender"
        return report

    def renew() -> None:
        locks.acquire_lease(engine, name, holder, ttl=lease_ttl, now=clock())

    try:
        return run(dry_run=False, renew=renew)
    finally:
        locks.release_lease(engine, name, holder)


def _send_held(
    engine: Engine,
    settings: Settings,
    *,
    week: str,
    now: datetime,
    dry_run: bool,
    progress: Progress | None,
    holder: str,
    mailer: Mailer | None,
    clock: Callable[[], datetime],
    stale_after: float,
    renew: Callable[[], None] | None,
    attempts: int,
    backoff: float,
    max_consecutive_failures: int,
) -> SendReport:
    """The send itself, once the lease (if any) is held."""
    report = SendReport(week=week)
    report.held, report.gate = _gate(engine, settings, week=week, now=now)
    if report.held is not None:
        if dry_run:
            report.pending = _prepare_committed(
                engine, settings, week=week, now=now, dry_run=True
            )[2]
        return report
    selected: dict[int, tuple[SubscriberPrefs, DigestContent]] = {}
    composed_at = clock()
    with Session(engine, expire_on_commit=False) as session:
        inputs = load_inputs(session, settings, week=week)
    digest_id, report.skipped, would_send = _prepare_committed(
        engine, settings, week=week, now=now, dry_run=dry_run, inputs=inputs, selected=selected
    )
    if dry_run:
        report.pending = would_send
        return report
    report.digest_id = digest_id
    assert digest_id is not None
    region_name = region_display_name(settings)
    limiter = RateLimiter(settings.mail_rate_per_second)
    deferred: set[int] = set()
    consecutive = 0
    with Session(engine, expire_on_commit=False) as session:
        ledger.release_stale(
            session,
            digest_id,
            holder=holder,
            stale_before=clock() - timedelta(seconds=stale_after),
            alive=locks.holder_alive,
        )
        session.commit()
        total = sum(ledger.count_by_status(session, digest_id).values())
        done = total - ledger.count_by_status(session, digest_id).get(DeliveryStatus.pending, 0)
        with mailer or make_mailer(settings.outbox_url) as out:
            while consecutive < max_consecutive_failures:
                delivery = ledger.claim_next(
                    session, digest_id, holder=holder, now=clock(), exclude=deferred
                )
                if delivery is None:
                    break
                outcome = _deliver(
                    session,
                    settings,
                    out,
                    delivery,
                    inputs,
                    composed_at,
                    selected=selected,
                    region_name=region_name,
                    limiter=limiter,
                    clock=clock,
                    attempts=attempts,
                    backoff=backoff,
                )
                session.commit()
                if outcome == DeliveryStatus.pending:
                    assert delivery.id is not None
                    deferred.add(delivery.id)
                    consecutive += 1
                    report.last_error = delivery.last_error
                else:
                    consecutive = 0
                    done += 1
                    if outcome == DeliveryStatus.sent:
                        report.sent += 1
                    elif outcome == DeliveryStatus.failed:
                        report.failed += 1
                    else:
                        report.skipped += 1
                if renew is not None:
                    renew()
                if progress is not None:
                    progress(done, total)
        counts = ledger.count_by_status(session, digest_id)
        report.pending = counts.get(DeliveryStatus.pending, 0)
        report.in_flight = counts.get(DeliveryStatus.sending, 0)
        row = session.get(Digest, digest_id)
        assert row is not None
        if report.pending == 0 and report.in_flight == 0 and row.status != "sent":
            row.status, row.sent_at = "sent", clock()
        elif report.pending or report.in_flight:
            row.status = "sending"
        session.add(row)
        session.commit()
    return report


def _deliver(
    session: Session,
    settings: Settings,
    mailer: Mailer,
    delivery: Delivery,
    inputs: DigestInputs,
    composed_at: datetime,
    *,
    selected: dict[int, tuple[SubscriberPrefs, DigestContent]],
    region_name: str,
    limiter: RateLimiter,
    clock: Callable[[], datetime],
    attempts: int,
    backoff: float,
) -> str:
    """Send one claimed delivery and record its outcome (the caller commits)."""
    sub = session.get(Subscriber, delivery.subscriber_id)
    chosen = selected.pop(delivery.subscriber_id, None)  # by this run's _prepare
    content = None
    if sub is not None and sub.status == SubscriberStatus.confirmed:
        prefs = ledger.to_prefs(sub)
        # the same reader and preferences as when prepared: the same selection
        content = chosen[1] if chosen and chosen[0] == prefs else content_for(inputs, prefs)
    if content is not None and content.is_empty and not settings.digest_send_empty:
        content = None
    if sub is None or content is None:
        delivery.status = DeliveryStatus.skipped
        session.add(delivery)
        return delivery.status
    msg = compose_message(
        settings,
        sub,
        content,
        region_name=region_name,
        message_id=delivery.message_id,
        date=clock(),
    )
    limiter.wait()
    try:
        _send_with_retries(mailer, msg, attempts=attempts, backoff=backoff)
    except TemporaryMailError as exc:
        delivery.status, delivery.last_error = DeliveryStatus.pending, str(exc)[:500]
    except PermanentMailError as exc:
        delivery.status, delivery.last_error = DeliveryStatus.failed, str(exc)[:500]
        sub.hard_bounces += 1
        if sub.hard_bounces >= settings.mail_max_hard_bounces:
            sub.status = SubscriberStatus.bounced
        session.add(sub)
    else:
        delivery.status, delivery.sent_at = DeliveryStatus.sent, clock()
        delivery.event_ids, delivery.last_error = list(content.event_ids), None
        delivery.composed_at = composed_at
    session.add(delivery)
    return delivery.status


def _prepare_committed(
    engine: Engine,
    settings: Settings,
    *,
    week: str,
    now: datetime,
    dry_run: bool,
    inputs: DigestInputs | None = None,
    selected: dict[int, tuple[SubscriberPrefs, DigestContent]] | None = None,
) -> tuple[int | None, int, int]:
    """Prepare in its own transaction: ``(digest id, skipped, deliveries left to send)``.

    A dry run rolls everything back. A concurrent worker's insert means a retry.
    """
    for attempt in range(3):
        with Session(engine, expire_on_commit=False) as session:
            try:
                if selected is not None:
                    selected.clear()
                digest, skipped = _prepare(
                    session, settings, week=week, now=now, inputs=inputs, selected=selected
                )
                assert digest.id is not None
                counts = ledger.count_by_status(session, digest.id)
                left = counts.get(DeliveryStatus.pending, 0) + counts.get(DeliveryStatus.sending, 0)
                if dry_run:
                    session.rollback()
                    return None, skipped, left
                session.commit()
                return digest.id, skipped, left
            except IntegrityError:
                session.rollback()
                if attempt == 2:
                    raise
    raise AssertionError("unreachable")


def _gate(
    engine: Engine, settings: Settings, *, week: str, now: datetime
) -> tuple[str | None, GateReport | None]:
    """``(why the digest is held or None, the gate's report)``; a digest already going out
    (resumed after a crash) or sent is never held again."""
    with Session(engine, expire_on_commit=False) as session:
        digest = session.exec(
            select(Digest).where(Digest.region == settings.region, Digest.week == week)
        ).first()
        if digest is not None and digest.id is not None:
            counts = ledger.count_by_status(session, digest.id)
            started = any(counts.get(k) for k in ("sending", "sent", "failed"))
            if digest.status in ("sending", "sent") or started:
                return None, None
        report = check_digest(session, settings, week=week, now=now)
        return gate_decision(report), report
