"""The use cases of the Source lifecycle, one home each; every entry point goes through here.

    add_source(session, url, ...)             an admin's or an organizer's new source
    check_source(session, settings, id, ...)  fetch and lint a source now (no health change)
    crawl(engine, settings, source_ids, requested_by, run=...)
                                              lease → run → record, the same for the CLI,
                                              the scheduler and the queue workers
    record_fetch(engine, report, events, ...) one source's fetch in the crawl child: ingest,
                                              a SourceFetch row, the source's health
    submit_event(session, raw, ...)           an event typed in the public form, held for
                                              review (nothing else is touched)
    queue_crawl(session, source_id, ...)      an admin's "crawl now" (queued once)
    scheduler_is_running(session, now=...)    whether a scheduler will run queued crawls

One health and backoff policy (:func:`apply_health`): a failure counts once, the next try
waits the interval doubled per consecutive failure (at most a week, ``jobs.backoff``), and
the source is flagged for the admin after ``CRAWL_FLAG_AFTER`` failures in a row, whoever
started the crawl. The web (FastAPI), the CLI (Typer), the scheduler (APScheduler) and the
crawl worker only translate to and from these functions.

The crawl itself runs Scrapy in a child process, which lives in ``crawlers``: it is handed
in as ``run`` (:class:`RunCrawl`, ``crawlers.run.run_crawl``), so this module imports no
framework and nothing above the ``aggregator`` floor.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from aggregator import jobs, locks
from aggregator.errors import NotFoundError, TechagendaError
from aggregator.ingest import IngestStats, ingest_events
from aggregator.models import (
    CrawlRun,
    Lease,
    RunStatus,
    Source,
    SourceFetch,
    SourceState,
    utcnow,
)
from aggregator.raw import RawEvent
from aggregator.settings import Settings, parse_interval
from aggregator.sources import add_source

log = logging.getLogger("techagenda.service")
LEADER_TTL = timedelta(seconds=60)  # the scheduler's leader lease (scheduler.Options.lease_ttl)

__all__ = [
    "CrawlResult",
    "FetchReport",
    "RunCrawl",
    "add_source",
    "apply_health",
    "check_source",
    "crawl",
    "queue_crawl",
    "record_fetch",
    "scheduler_is_running",
    "submit_event",
    "take_crawl_lease",
]


# ---------------------------------------------------------------- seams


class RunCrawl(Protocol):
    """Runs one crawl to its end in a child process and returns the finished run."""

    def __call__(
        self,
        settings: Settings,
        *,
        source_id: int | None = ...,
        run_id: int | None = ...,
        requested_by: str = ...,
        timeout: float | None = ...,
        now: datetime | None = ...,
        queue: str | None = ...,
        source_ids: Sequence[int] | None = ...,
    ) -> CrawlRun: ...


class CheckSource(Protocol):
    """Fetches a stored source once, lints it and records what it saw
    (``crawlers.check.check_source``)."""

    def __call__(
        self,
        session: Session,
        settings: Settings,
        source_id: int,
        *,
        now: datetime,
        refetch_delay: float = ...,
    ) -> Any: ...


class FetchReport(Protocol):
    """How one source's fetch went (``crawlers.items.SourceReport`` has this shape)."""

    source_id: int
    url: str
    http_status: int | None
    bytes: int
    not_modified: bool
    detected_format: str | None
    error: str | None
    etag: str | None
    last_modified: str | None
    complete: bool
    warnings: list[str]


# ---------------------------------------------------------------- health policy


def default_interval(settings: Settings) -> timedelta:
    """The crawl interval of a source that has none of its own."""
    return timedelta(seconds=parse_interval(settings.crawl_interval))


def apply_health(
    source: Source,
    *,
    error: str | None,
    at: datetime,
    interval: timedelta,
    flag_after: int,
) -> None:
    """Write a fetch's outcome on the source row: the one health and backoff policy."""
    source.last_crawl_at = at
    if error is None:
        source.last_success_at = at
        source.consecutive_failures = 0
        source.last_error = None
        source.flagged = False
    else:
        source.consecutive_failures = (source.consecutive_failures or 0) + 1
        source.last_error = error
        if jobs.should_flag(source.consecutive_failures, flag_after):
            source.flagged = True
    failures = source.consecutive_failures
    source.next_crawl_at = at + jobs.backoff(failures, jobs.source_interval(source, interval))


def record_fetch(
    engine: Engine,
    report: FetchReport,
    events: list[RawEvent],
    *,
    run_id: int,
    now: datetime,
    settings: Settings,
    clock: Callable[[], datetime] = utcnow,
) -> SourceFetch:
    """Ingest one source's events and record the fetch and the source's health (one commit).

    A failure to store the events is that source's error; it never escapes to the crawl.
    """
    with Session(engine, expire_on_commit=False) as session:
        stats: IngestStats | None = None
        error = report.error
        if report.error is None and not report.not_modified:
            source = session.get(Source, report.source_id)
            assert source is not None
            try:
                stats = ingest_events(
                    session, source, events, now=now, complete=report.complete, settings=settings
                )
            except Exception as exc:  # one source's bad data must not stop the crawl
                session.rollback()
                log.exception("ingest failed for source %s", report.source_id)
                reason = str(exc) if isinstance(exc, TechagendaError) else repr(exc)
                error = f"the events were read but could not be stored: {reason}"
        source = session.get(Source, report.source_id)
        assert source is not None
        finished = clock()
        fetch = SourceFetch(
            crawl_run_id=run_id,
            source_id=report.source_id,
            url=report.url,
            http_status=report.http_status,
            bytes=report.bytes,
            not_modified=report.not_modified,
            detected_format=report.detected_format,
            events_found=stats.found if stats else len(events),
            events_new=stats.new if stats else 0,
            events_updated=stats.updated if stats else 0,
            events_merged=stats.merged if stats else 0,
            events_cancelled=stats.cancelled if stats else 0,
            error=error,
            fetched_at=finished,
        )
        session.add(fetch)
        if error is None and not report.not_modified:
            source.detected_format = report.detected_format or source.detected_format
            source.etag = report.etag
            source.last_modified = report.last_modified
        apply_health(
            source,
            error=error,
            at=finished,
            interval=default_interval(settings),
            flag_after=settings.crawl_flag_after,
        )
        session.add(source)
        session.commit()
        for warning in [*report.warnings, *(stats.warnings if stats else [])]:
            log.info("source %s: %s", report.source_id, warning)
        return fetch


# ---------------------------------------------------------------- check


def check_source(
    session: Session,
    settings: Settings,
    source_id: int,
    *,
    check: CheckSource,
    now: datetime,
    refetch_delay: float | None = None,
) -> Any:
    """Fetch and lint one stored source now (never approves it); returns the check's report.

    A check records what it saw (format, findings, an error in plain words) but is not a
    crawl: it never counts a failure, backs a source off or flags it.
    """
    source = session.get(Source, source_id)
    if source is None:
        raise NotFoundError(f"no source {source_id}")
    if refetch_delay is None:
        return check(session, settings, source_id, now=now)
    return check(session, settings, source_id, now=now, refetch_delay=refetch_delay)


# ---------------------------------------------------------------- crawl leases


def take_crawl_lease(
    engine: Engine, source_id: int | None, holder: str, *, ttl: timedelta, now: datetime
) -> bool:
    """Take a source's crawl lease; one held by a dead process of this host is broken at once
    (``locks.acquire_lease``), else it would block the source until its expiry."""
    return locks.acquire_lease(engine, locks.crawl_lock_name(source_id), holder, ttl=ttl, now=now)


# ---------------------------------------------------------------- crawl


@dataclass
class CrawlResult:
    """What :func:`crawl` did: the run (None when nothing could be leased), the sources it
    crawled, those another process was crawling, and each crawled source's outcome."""

    run: CrawlRun | None
    crawled: list[int] = field(default_factory=list)
    busy: list[int | None] = field(default_factory=list)
    outcomes: list[jobs.CrawlOutcome] = field(default_factory=list)
    error: str | None = None
    recorded_at: datetime | None = None  # the ``now`` the outcomes were computed at

    @property
    def status(self) -> str:
        if self.run is None:
            return "busy" if self.busy else RunStatus.failed.value
        return str(self.run.status)


def crawl(
    engine: Engine,
    settings: Settings,
    source_ids: Sequence[int] | None,
    requested_by: str,
    *,
    run: RunCrawl,
    holder: str | None = None,
    clock: Callable[[], datetime] = utcnow,
    run_id: int | None = None,
    queue: str | None = None,
    flag_after: int | None = None,
) -> CrawlResult:
    """Lease, run and record one crawl: of every approved source (``source_ids`` None),
    of one source whatever its state, or of the approved sources among several.

    Each source is crawled under its crawl lease (``crawl:all`` for every source); a source
    another process is crawling is left out (``busy``). A queued run (``run_id``) is
    taken over; when its lease is busy it stays queued. Afterwards each source's outcome
    (failure count, backoff, flag) is recorded the same way whoever asked.
    """
    holder = holder or locks.new_holder_id()
    timeout = int(settings.crawl_timeout)
    ttl = timedelta(seconds=timeout + 120)
    wanted: list[int | None] = [None] if source_ids is None else list(dict.fromkeys(source_ids))
    result = CrawlResult(run=None)
    held: list[int | None] = []
    try:
        for source_id in wanted:
            if take_crawl_lease(engine, source_id, holder, ttl=ttl, now=clock()):
                held.append(source_id)
            else:
                result.busy.append(source_id)
        if not held:
            return result
        ids = [i for i in held if i is not None]
        before = jobs.failure_snapshot(engine)
        try:
            result.run = run(
                settings,
                source_id=ids[0] if len(wanted) == 1 and ids else None,
                source_ids=ids if len(wanted) > 1 else None,
                run_id=run_id,
                requested_by=requested_by,
                timeout=timeout,
                now=clock(),
                queue=queue,
            )
            result.error = result.run.error
        except NotFoundError as exc:  # no such source or run: the request was wrong
            if run_id is not None:
                jobs.fail_run(engine, run_id, str(exc), now=clock())
            raise
        except Exception as exc:
            log.exception("the crawl requested by %s could not run", requested_by)
            result.error = f"the crawl could not run: {exc}"
            if run_id is not None:
                jobs.fail_run(engine, run_id, result.error, now=clock())
        result.crawled = ids
        result.recorded_at = clock()
        result.outcomes = jobs.record_crawl_outcome(
            engine,
            result.run.id if result.run else run_id,
            source_ids=ids,
            before=before,
            now=result.recorded_at,
            default_interval=default_interval(settings),
            flag_after=settings.crawl_flag_after if flag_after is None else flag_after,
        )
        return result
    finally:
        for source_id in held:
            locks.release_lease(engine, locks.crawl_lock_name(source_id), holder)


def queue_crawl(
    session: Session, source_id: int | None, requested_by: str, *, now: datetime
) -> tuple[CrawlRun, bool]:
    """An admin's "crawl now": queue a run for the scheduler, unless one for the same source
    (or for every source) is queued already; returns the run and whether it is new."""
    waiting = session.exec(
        select(CrawlRun)
        .where(
            CrawlRun.status == RunStatus.queued,
            col(CrawlRun.source_id).is_(None)
            if source_id is None
            else col(CrawlRun.source_id) == source_id,
        )
        .order_by(col(CrawlRun.id))
    ).first()
    if waiting is not None:
        return waiting, False
    run = CrawlRun(
        source_id=source_id, status=RunStatus.queued, requested_by=requested_by, created_at=now
    )
    session.add(run)
    session.flush()
    return run, True


SCHEDULER_SILENCE = timedelta(minutes=2)


def scheduler_last_seen(session: Session) -> datetime | None:
    """When a scheduler last renewed its leader lease (every 15 s while one runs), if ever."""
    lease = session.get(Lease, locks.LEADER)
    if lease is None or lease.expires_at.year < 1971:  # handed back by a stopping scheduler
        return None
    return lease.expires_at - LEADER_TTL


def scheduler_is_running(session: Session, *, now: datetime) -> bool:
    """True when a scheduler was seen within ``SCHEDULER_SILENCE``: queued crawls will run."""
    seen = scheduler_last_seen(session)
    return seen is not None and now - seen <= SCHEDULER_SILENCE


# ---------------------------------------------------------------- the single-event form


def submit_event(
    session: Session,
    raw: RawEvent,
    *,
    contact_email: str,
    source_url: str,
    now: datetime,
    settings: Settings,
) -> Source:
    """Store an event typed in the public form, held for review under its own form source.

    The form source is of kind ``form`` (held for review, see ``ingest.HELD_KINDS``) and
    paused (never crawled): ingest creates the event it alone lists hidden, until an admin
    unhides it; an event it merges into, one already published from a feed, only gains a
    link and never leaves the agenda. Nothing is changed after the fact.
    """
    source = Source(
        name=f"Formulaire : {raw.organizer or contact_email}",
        url=source_url,
        kind="form",
        state=SourceState.paused,
        contact_email=contact_email,
        created_at=now,
        authority=0,  # its version never outweighs a feed's in a merged event
    )
    session.add(source)
    session.flush()
    ingest_events(session, source, [raw], now=now, complete=False, settings=settings)
    return source
