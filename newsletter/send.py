"""Preparing and sending a weekly digest through the resumable delivery ledger.

``prepare_digest`` makes one ``Digest`` per (region, ISO week) and one pending
``Delivery`` per confirmed subscriber with something to read; running it again adds
only what is missing. Subscribers are read and prepared ``PREPARE_BATCH`` at a time,
each batch sent before the next is prepared, so memory does not grow with the list.
``send_digest`` walks the ledger::

    pending --claim, commit--> sending --SMTP transaction--> sent | failed, commit
                                   \\--4xx after retries--> pending (next run)

Messages go out over ``SMTP_CONNECTIONS`` connections at once
(:class:`newsletter.mailers.MailerPool`, one worker thread each): this thread claims a
few deliveries (``4 × connections``, each its own conditional UPDATE, one commit),
composes each copy once (flattened bytes), hands it to one connection, and records each
result (one commit for the results that came in together) as soon as it arrives. A
connection that fails reports its message's error; the message is never handed to a
second connection, so a failure neither loses nor doubles it.

The window that cannot be closed: the SMTP server accepted a message and the process
died before writing ``sent``. On resume that delivery is found in ``sending``. We
**resend it, with the same Message-ID**: this loses nothing (marking it "failed:
unknown" could drop a digest nobody received), and a receiving side that deduplicates
on Message-ID drops the rare repeat. The window is one SMTP round trip (the reply to
the final ``.``) plus the time to the next commit of results (at most one message's
composition); at most one delivery per connection can be in it. A claimed delivery not
yet handed over is resent on resume too, which is no repeat: it never went out.

Every send path (the admin's button, ``techagenda digest send``, the scheduler's job,
workers) calls :func:`send_digest`, so one rule covers them all:

* without ``worker=True`` a run first takes the digest's lease
  (:func:`aggregator.locks.digest_lock_name`); while another run holds it, a second one
  sends nothing and reports ``busy`` (a double click, two CLI runs, CLI + scheduler);
* with ``worker=True`` several runs share the work;
* with ``SEND_PROCESSES`` above 1 the run holding the lease starts that many minus one
  ``worker=True`` runs of the same digest in helper processes (:mod:`newsletter.fanout`:
  composing is CPU work, one process uses one core), waits for them and adds up their
  counts; a helper that dies leaves its claims to the stale-claim rule below;
* either way each delivery is claimed with one conditional ``UPDATE ... WHERE status =
  'pending'`` (plus ``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so no two runs ever hold
  the same one, and a starting run only takes back ``sending`` rows no live sender holds:
  its own sender's, a dead process's (``aggregator.locks.holder_alive``), or claims older
  than ``stale_after`` seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import func
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
from newsletter import fanout, ledger
from newsletter.compose import DigestInputs, content_for, load_inputs, whole_region
from newsletter.gate import GateReport, check_digest, gate_decision
from newsletter.links import personal_links
from newsletter.mailers import Cancelled, Mailer, MailerPool, RateLimiter, Result, make_mailer
from newsletter.messages import (
    Outgoing,
    build_message,
    build_raw_message,
    delivery_message_id,
    list_id,
)
from newsletter.preview import preview_digest, preview_next_digest
from newsletter.render import DigestLinks, region_display_name, render_digest, subject_line
from newsletter.select import DigestContent, SubscriberPrefs

Progress = Callable[[int, int], None]
PREPARE_BATCH = 500  # subscribers read, selected and prepared at a time
RENEW_EVERY = 5.0  # at most seconds between renewals of the digest's lease while sending
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
    skipped_at_claim: int = 0  # of `skipped`: readers gone or with nothing left when claimed
    processes: int = 1  # sending processes this run used (SEND_PROCESSES)


def _prepare(
    session: Session,
    settings: Settings,
    *,
    week: str,
    now: datetime,
    inputs: DigestInputs | None = None,
    selected: dict[int, tuple[SubscriberPrefs, DigestContent]] | None = None,
    after: int = 0,
    batches: int | None = None,
) -> tuple[Digest, int, int | None]:
    """Create what is missing for the subscribers after id ``after``, ``PREPARE_BATCH``
    at a time (``batches`` of them, or all): ``(digest, skipped, where to go on or None
    when every subscriber was looked at)``. ``selected`` (when given) receives each new
    delivery's selection, so the send loop does not compute it a second time."""
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
        return digest, 0, None
    if inputs is None:
        inputs = load_inputs(session, settings, week=week)
    if after == 0:
        digest.event_count = whole_region(inputs).size
        session.add(digest)
    skipped, done = 0, 0
    while batches is None or done < batches:
        done += 1
        subscribers = session.exec(
            select(Subscriber)
            .where(Subscriber.status == SubscriberStatus.confirmed, col(Subscriber.id) > after)
            .order_by(col(Subscriber.id))
            .limit(PREPARE_BATCH)
        ).all()
        ids = [sub.id for sub in subscribers]
        known = set(
            session.exec(
                select(Delivery.subscriber_id).where(
                    Delivery.digest_id == digest.id, col(Delivery.subscriber_id).in_(ids)
                )
            ).all()
        ) if ids else set()
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
        if len(subscribers) < PREPARE_BATCH:
            return digest, skipped, None
        after = int(ids[-1] or 0)
    return digest, skipped, after


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
    raw: bool = False,
) -> Outgoing:
    """One subscriber's digest with its personal links: an EmailMessage, or with ``raw``
    the bytes SMTP sends, flattened once (:func:`newsletter.messages.build_raw_message`)."""
    links = personal_links(settings, sub, content)
    html, text = render_digest(
        content, ledger.to_prefs(sub), settings, region_name=region_name, links=links
    )
    subject = subject_line(content, region_name=region_name)
    lid = list_id(settings, region=settings.region, region_name=region_name)
    build = partial(build_raw_message if raw else build_message, settings, to=sub.email,
                    subject=subject, text_body=text, html_body=html, date=date,
                    message_id=message_id, unsubscribe_url=links.unsubscribe, list_id_value=lid)
    return build()


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
    run = partial(_send_held, engine, settings, week=week, now=now, progress=progress,
                  holder=holder, mailer=mailer, clock=clock, stale_after=stale_after,
                  attempts=attempts, backoff=backoff,
                  max_consecutive_failures=max_consecutive_failures)
    if dry_run or worker:
        return run(dry_run=dry_run, renew=None)
    name = locks.digest_lock_name(settings.region, week)
    if not locks.acquire_lease(engine, name, holder, ttl=lease_ttl, now=clock()):
        report = SendReport(week=week)
        report.busy = locks.lease_holder(engine, name, now=clock()) or "another sender"
        return report

    every = min(RENEW_EVERY, lease_ttl.total_seconds() / 4)
    renewed = [time.monotonic()]

    def renew() -> None:  # at most every `every` seconds
        if time.monotonic() - renewed[0] >= every:
            locks.acquire_lease(engine, name, holder, ttl=lease_ttl, now=clock())
            renewed[0] = time.monotonic()

    try:
        return run(dry_run=False, renew=renew)
    finally:
        locks.release_lease(engine, name, holder)


def _send_held(
    engine: Engine, settings: Settings, *, week: str, now: datetime, dry_run: bool,
    progress: Progress | None, holder: str, mailer: Mailer | None,
    clock: Callable[[], datetime], stale_after: float, renew: Callable[[], None] | None,
    attempts: int, backoff: float, max_consecutive_failures: int,
) -> SendReport:
    """The send itself, once the lease (if any) is held (with helpers, when it is)."""
    report = SendReport(week=week)
    report.held, report.gate = _gate(engine, settings, week=week, now=now)
    if report.held is not None:
        if dry_run:
            report.pending = _prepare_committed(
                engine, settings, week=week, now=now, dry_run=True
            )[2]
        return report
    composed_at = clock()
    with Session(engine, expire_on_commit=False) as session:
        inputs = load_inputs(session, settings, week=week)
    if dry_run:
        _id, report.skipped, report.pending, _next = _prepare_committed(
            engine, settings, week=week, now=now, dry_run=True, inputs=inputs
        )
        return report
    selected: dict[int, tuple[SubscriberPrefs, DigestContent]] = {}
    digest_id, report.skipped, _left, after = _prepare_committed(
        engine, settings, week=week, now=now, dry_run=False, inputs=inputs, selected=selected,
        batches=1,
    )
    report.digest_id = digest_id
    assert digest_id is not None
    if mailer is not None:
        factory, size = (lambda: mailer), 1
    else:
        url = settings.outbox_url
        one = not url.lower().startswith(("smtp://", "smtps://"))
        factory, size = (lambda: make_mailer(url)), 1 if one else settings.smtp_connections
    # helpers only beside the lease's holder, and not for a mailer passed in code
    report.processes = settings.send_processes if renew and mailer is None else 1
    rate = settings.mail_rate_per_second / report.processes  # shared by the processes
    if report.processes > 1:  # templates and locales loaded once, before helpers fork
        for prefs, content in {p.language: (p, c) for p, c in selected.values()}.values():
            render_digest(content, prefs, settings, region_name=region_display_name(settings),
                          links=DigestLinks(unsubscribe="", preferences=""))
    helpers = fanout.start(send_digest, engine, settings.model_copy(update={
        "send_processes": 1, "mail_rate_per_second": rate}), report.processes - 1, {
        "week": week, "now": now, "worker": True, "stale_after": stale_after,
        "attempts": attempts, "backoff": backoff,
        "max_consecutive_failures": max_consecutive_failures}) if report.processes > 1 else None
    with Session(engine, expire_on_commit=False) as session:
        ledger.release_stale(
            session,
            digest_id,
            holder=holder,
            stale_before=clock() - timedelta(seconds=stale_after),
            alive=locks.holder_alive,
        )
        session.commit()
        pool = MailerPool(
            factory,
            size,
            limiter=RateLimiter(rate),
            attempts=attempts,
            backoff=backoff,
        )
        run = _Run(session, settings, inputs, pool, report, holder=holder,
                   composed_at=composed_at, region_name=region_display_name(settings),
                   clock=clock, progress=progress, selected=selected,
                   max_consecutive_failures=max_consecutive_failures)
        try:
            while True:
                run.count(digest_id, after)
                while not run.stopped:
                    batch = ledger.claim_batch(
                        session, digest_id, holder=holder, now=clock(), limit=4 * pool.size,
                        exclude=run.deferred,
                    )
                    if not batch:
                        break
                    run.send(batch)
                    if renew is not None:
                        renew()
                if run.stopped or after is None:
                    break
                _id, skipped, _left, after = _prepare_committed(
                    engine, settings, week=week, now=now, dry_run=False, inputs=inputs,
                    selected=selected, after=after, batches=1,
                )
                report.skipped += skipped
        except BaseException:
            pool.cancel()  # the ledger may not be writable: send nothing more
            if helpers is not None:
                helpers.stop()
            raise
        finally:
            run.finish()
        if helpers is not None and helpers.join(report, tick=renew):
            ledger.release_stale(  # a helper died: its claims are pending again
                session, digest_id, holder=holder,
                stale_before=clock() - timedelta(seconds=stale_after), alive=locks.holder_alive,
            )
            session.commit()
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
    if run.error is not None:
        raise run.error
    return report


@dataclass
class _Run:
    """One run's send loop: compose in this thread, deliver through the pool, record."""

    session: Session
    settings: Settings
    inputs: DigestInputs
    pool: MailerPool
    report: SendReport
    holder: str
    composed_at: datetime
    region_name: str
    clock: Callable[[], datetime]
    progress: Progress | None
    max_consecutive_failures: int
    selected: dict[int, tuple[SubscriberPrefs, DigestContent]] = field(default_factory=dict)
    in_flight: dict[int, tuple[Delivery, Subscriber, DigestContent]] = field(default_factory=dict)
    deferred: set[int] = field(default_factory=set)
    consecutive: int = 0
    done: int = 0
    total: int = 0
    error: BaseException | None = None

    @property
    def stopped(self) -> bool:
        return self.error is not None or self.consecutive >= self.max_consecutive_failures

    def count(self, digest_id: int, after: int | None) -> None:
        """Progress: recorded deliveries plus the confirmed readers not prepared yet."""
        counts = ledger.count_by_status(self.session, digest_id)
        self.done = sum(counts.values()) - counts.get(DeliveryStatus.pending, 0)
        self.done -= counts.get(DeliveryStatus.sending, 0) - len(self.in_flight)
        later = 0
        if after is not None:
            later = int(self.session.exec(
                select(func.count()).select_from(Subscriber).where(
                    Subscriber.status == SubscriberStatus.confirmed, col(Subscriber.id) > after
                )
            ).one())
        self.total = sum(counts.values()) + later

    def send(self, batch: list[Delivery]) -> None:
        """Hand each claimed delivery to a connection (recording results meanwhile);
        once stopped, give the rest back to pending."""
        ids = [d.subscriber_id for d in batch]
        subs = {s.id: s for s in self.session.exec(
            select(Subscriber).where(col(Subscriber.id).in_(ids))
        ).all()}
        for i, delivery in enumerate(batch):
            while self.pool.full() and not self.stopped:
                self.record(self.pool.results(wait=1.0))
            if self.stopped:
                ledger.release_claims(
                    self.session, [d.id for d in batch[i:] if d.id is not None],
                    holder=self.holder,
                )
                return
            self.hand_over(delivery, subs.get(delivery.subscriber_id))
            self.record(self.pool.results())
        self.session.commit()  # the skipped ones

    def hand_over(self, delivery: Delivery, sub: Subscriber | None) -> None:
        """Compose ``delivery``'s copy and queue it, or mark it skipped."""
        chosen = self.selected.pop(delivery.subscriber_id, None)  # by this run's _prepare
        content = None
        if sub is not None and sub.status == SubscriberStatus.confirmed:
            prefs = ledger.to_prefs(sub)
            # the same reader and preferences as when prepared: the same selection
            content = chosen[1] if chosen and chosen[0] == prefs else content_for(
                self.inputs, prefs
            )
        if content is not None and content.is_empty and not self.settings.digest_send_empty:
            content = None
        if sub is None or content is None:
            delivery.status = DeliveryStatus.skipped
            self.session.add(delivery)
            self.report.skipped += 1
            self.report.skipped_at_claim += 1
            self.done += 1
            return
        msg = compose_message(
            self.settings, sub, content, region_name=self.region_name,
            message_id=delivery.message_id, date=self.clock(), raw=True,
        )
        assert delivery.id is not None
        self.in_flight[delivery.id] = (delivery, sub, content)
        self.pool.submit(delivery.id, msg)

    def record(self, results: list[Result]) -> None:
        """Write what the connections reported; one commit for them all."""
        if not results:
            return
        sent: list[tuple[int, list[int]]] = []
        for key, exc in results:
            delivery, sub, content = self.in_flight.pop(key)
            if exc is None:
                sent.append((key, list(content.event_ids)))
                self.report.sent += 1
                self.consecutive = 0
                self.done += 1
                continue
            if isinstance(exc, TemporaryMailError):
                delivery.status, delivery.last_error = DeliveryStatus.pending, str(exc)[:500]
                self.deferred.add(key)
                self.consecutive += 1
                self.report.last_error = delivery.last_error
                self.session.add(delivery)
                continue
            elif isinstance(exc, PermanentMailError):
                delivery.status, delivery.last_error = DeliveryStatus.failed, str(exc)[:500]
                sub.hard_bounces += 1
                if sub.hard_bounces >= self.settings.mail_max_hard_bounces:
                    sub.status = SubscriberStatus.bounced
                self.session.add(sub)
                self.report.failed += 1
            elif isinstance(exc, Cancelled):  # never went out: claimable again
                self.deferred.add(key)
                ledger.release_claims(self.session, [key], holder=self.holder)
                continue
            else:  # not a mail error: the outcome is unknown, the row stays in `sending`
                self.error = self.error or exc
                continue
            self.consecutive = 0
            self.done += 1
            self.session.add(delivery)
        self.session.flush()
        ledger.mark_sent(self.session, sent, at=self.clock(), composed_at=self.composed_at)
        self.session.commit()
        if self.progress is not None:
            self.progress(self.done, self.total)

    def finish(self) -> None:
        """Record every message still out (even when this run stops on an error)."""
        try:
            while self.pool.outstanding:
                self.record(self.pool.results(wait=1.0))
        finally:
            self.pool.close()
        self.record(self.pool.results())
        self.session.commit()


def _prepare_committed(
    engine: Engine,
    settings: Settings,
    *,
    week: str,
    now: datetime,
    dry_run: bool,
    inputs: DigestInputs | None = None,
    selected: dict[int, tuple[SubscriberPrefs, DigestContent]] | None = None,
    after: int = 0,
    batches: int | None = None,
) -> tuple[int | None, int, int, int | None]:
    """Prepare in its own transaction: ``(digest id, skipped, deliveries left to send,
    where to go on or None)`` (see :func:`_prepare`).

    A dry run rolls everything back. A concurrent worker's insert means a retry.
    """
    for attempt in range(3):
        with Session(engine, expire_on_commit=False) as session:
            try:
                if selected is not None:
                    selected.clear()
                digest, skipped, more = _prepare(
                    session, settings, week=week, now=now, inputs=inputs, selected=selected,
                    after=after, batches=batches,
                )
                assert digest.id is not None
                counts = ledger.count_by_status(session, digest.id)
                left = counts.get(DeliveryStatus.pending, 0) + counts.get(DeliveryStatus.sending, 0)
                if dry_run:
                    session.rollback()
                    return None, skipped, left, more
                session.commit()
                return digest.id, skipped, left, more
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
