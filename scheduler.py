"""APScheduler wiring: which job runs when. The jobs call ``crawlers`` and ``newsletter``.

Jobs (persisted in the project's database by SQLAlchemyJobStore, table ``apscheduler_jobs``):

    crawl_due          every minute   crawl the sources whose next crawl time has come
                                      (with REDIS_URL: queue them for the crawler workers)
    run_queued_crawls  every 10 s     run the crawls an admin queued (CrawlRun rows 'queued')
    weekly_digest      DIGEST_SCHEDULE (cron, local time)  send this week's digest
    purge_old_runs     daily 03:30    delete crawl records older than the retention
    source_health_mail daily 09:15    mail the organizers of failing, empty or churning sources

Exactly once: many scheduler processes may run against one database, but only the holder
of the leader lease (``aggregator.locks``, renewed every 15 s, expiring after 60 s) loads
the job store and runs jobs; the others wait and take over within a minute when the leader
dies. Every job renews the lease first; a due source is also claimed with an atomic UPDATE,
and the digest is idempotent on its (region, week) row, held under the ``digest`` lease.

A scheduler down over the digest time sends that week's digest once when it comes back
(coalesce, misfire grace of a week) and skips it when the week is already over: the job
checks the ISO week of the scheduled fire time, not of now.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.engine import Engine

from aggregator import jobs, locks, service
from aggregator.db import make_engine
from aggregator.models import utcnow
from aggregator.settings import Settings, parse_interval
from aggregator.weeks import Week
from crawlers.queue import QUEUE_KEY, enqueue_sources
from scheduler_store import JOBS_TABLE as JOBS_TABLE  # re-exported (tests, tools)
from scheduler_store import JOBSTORE, log_job_event, stored_rows, sync_jobs

log = logging.getLogger("techagenda.scheduler")

DIGEST_GRACE = timedelta(days=7)


@dataclass
class Options:
    """Knobs of the scheduler; the defaults are the production ones, tests shorten them."""

    lease_ttl: timedelta = timedelta(seconds=60)
    due_every: timedelta = timedelta(seconds=60)
    queue_every: timedelta = timedelta(seconds=10)
    flag_after: int = jobs.DEFAULT_FLAG_AFTER
    keep_runs: timedelta = timedelta(days=90)
    purge_at: str = "30 3 * * *"
    health_at: str = "15 9 * * *"
    crawl_queue: str = QUEUE_KEY  # the Redis list due sources go to when REDIS_URL is set
    resident_crawler: bool = True  # crawl in one long-lived process (crawlers/resident.py)


@dataclass
class Runner:
    """What one scheduler instance needs to run its jobs: settings, store, identity, clock."""

    settings: Settings
    engine: Engine
    holder: str
    clock: Callable[[], datetime]
    options: Options
    scheduler: BackgroundScheduler | None = None
    crawler: service.RunCrawl | None = None  # the long-lived crawler; None: a process a crawl
    _is_leader: bool = field(default=False, init=False)
    stopping: bool = field(default=False, init=False)

    # -------------------------------------------------------------- leadership
    def renew(self) -> bool:
        """Take or renew the leader lease; True while we are the leader (never once stopping)."""
        if self.stopping:
            return False
        return locks.acquire_lease(
            self.engine, locks.LEADER, self.holder, ttl=self.options.lease_ttl, now=self.clock()
        )

    def heartbeat(self) -> None:
        """Renew the lease; load the job store on becoming leader, drop it on losing."""
        try:
            leader = self.renew()
        except Exception as exc:  # the store is unreachable: act as if the lease were lost
            log.warning("scheduler %s cannot renew the leader lease: %s", self.holder, exc)
            leader = False
        if leader and not self._is_leader:
            log.info("scheduler %s is the leader: loading the jobs", self.holder)
            self._is_leader = True
            if self.scheduler is not None:
                _load_jobs(self.scheduler, self)
        elif not leader and self._is_leader:
            log.warning("scheduler %s lost the leader lease: standing by", self.holder)
            self._is_leader = False
            if self.scheduler is not None and JOBSTORE in self.scheduler._jobstores:
                self.scheduler.remove_jobstore(JOBSTORE, shutdown=False)
        elif not leader:
            log.debug("scheduler %s standing by", self.holder)

    def _lead_or_skip(self, job: str) -> bool:
        if self.renew():
            return True
        log.info("%s skipped: %s is not the leader", job, self.holder)
        return False

    # -------------------------------------------------------------- crawls
    @property
    def default_interval(self) -> timedelta:
        return timedelta(seconds=parse_interval(self.settings.crawl_interval))

    @property
    def crawl_timeout(self) -> int:
        return int(self.settings.crawl_timeout)

    def crawl_due(self) -> int:
        """Crawl the due sources, together in one child process; returns how many were crawled."""
        if not self._lead_or_skip("crawl_due"):
            return 0
        now = self.clock()
        limit = timedelta(seconds=self.crawl_timeout)
        for run_id in jobs.fail_abandoned_runs(
            self.engine, now=now, older_than=2 * limit + timedelta(minutes=10)
        ):
            log.warning("crawl run %s abandoned (its process stopped): marked failed", run_id)
        due = jobs.due_sources(jobs.approved_sources(self.engine), now, self.default_interval)
        if not due:
            log.debug("crawl due: no source")
            return 0
        log.info("crawl due: %d source%s", len(due), "" if len(due) == 1 else "s")
        if self.settings.redis_url:
            return self._enqueue_due(due, limit)
        if not self.renew():
            log.warning("crawl due: leader lease lost, the sources are left for the next leader")
            return 0
        claimed: list[int] = []
        for source in due:
            assert source.id is not None
            if jobs.claim_source(
                self.engine, source.id, now=self.clock(), hold=limit + timedelta(minutes=5)
            ):
                claimed.append(source.id)
            else:
                log.info("source %s: already taken by another scheduler", source.id)
        if len(claimed) == 1:
            return int(self._crawl(claimed[0], None, requested_by="scheduler"))
        return self._crawl_many(claimed) if claimed else 0

    def _crawl_many(self, source_ids: list[int]) -> int:
        """Several due sources in one child process (one Scrapy start, not one per source),
        each under its own crawl lease; returns how many were crawled."""
        result = self._service_crawl(source_ids, None, requested_by="scheduler")
        for source_id in result.busy:
            log.info("%s: a crawl of it is already running elsewhere", _what(source_id))
        if not result.crawled:
            return 0
        run_id = result.run.id if result.run else None
        log.info(
            "crawl %s of %d sources: %s%s",
            run_id,
            len(result.crawled),
            result.status,
            f" ({result.error})" if result.error else "",
        )
        self._log_outcomes(result)
        return len(result.crawled)

    def _service_crawl(
        self, source_ids: list[int] | None, run_id: int | None, *, requested_by: str
    ) -> service.CrawlResult:
        from crawlers.run import run_crawl

        return service.crawl(
            self.engine,
            self.settings,
            source_ids,
            requested_by,
            run=self.crawler or run_crawl,
            holder=self.holder,
            clock=self.clock,
            run_id=run_id,
            flag_after=self.options.flag_after,
        )

    def _enqueue_due(self, due: list[Any], limit: timedelta) -> int:
        """With REDIS_URL: claim the due sources and put them on the shared crawl queue,
        where ``techagenda crawl --worker`` processes take them; returns how many."""
        hold = limit + timedelta(minutes=5)
        claimed = [
            s.id
            for s in due
            if s.id is not None
            and jobs.claim_source(self.engine, s.id, now=self.clock(), hold=hold)
        ]
        if claimed:
            waiting = enqueue_sources(self.settings, claimed, queue=self.options.crawl_queue)
            log.info(
                "crawl due: %d sources queued for the workers (%d waiting)", len(claimed), waiting
            )
        return len(claimed)

    def run_queued_crawls(self) -> int:
        """Run the admin-queued crawls, oldest first, one at a time; returns how many ran."""
        if not self._lead_or_skip("run_queued_crawls"):
            return 0
        ttl = timedelta(seconds=self.crawl_timeout + 120)
        ran = 0
        with locks.lease(
            self.engine, "crawl-queue", holder=self.holder, ttl=ttl, now=self.clock()
        ) as held:
            if not held:
                log.info("queued crawls: another runner is busy")
                return 0
            for run in jobs.queued_runs(self.engine):
                assert run.id is not None
                log.info(
                    "queued crawl %s (%s) by %s: starting",
                    run.id,
                    _what(run.source_id),
                    run.requested_by,
                )
                ran += self._crawl(run.source_id, run.id, requested_by=run.requested_by)
        return ran

    def _crawl(self, source_id: int | None, run_id: int | None, *, requested_by: str) -> bool:
        """One crawl in a child process, under the source's crawl lease, outcome recorded.

        Returns False when another process is crawling that source already.
        """
        what = _what(source_id)
        ids = None if source_id is None else [source_id]
        try:
            result = self._service_crawl(ids, run_id, requested_by=requested_by)
        except Exception as exc:  # no such source or run: recorded on the run by the service
            log.warning("%s: the crawl could not run: %s", what, exc)
            return True
        if result.run is None and result.busy:
            waits = "; the queued crawl waits for it" if run_id is not None else ""
            log.info("%s: a crawl of it is already running elsewhere%s", what, waits)
            return False
        run_id = result.run.id if result.run else run_id
        error = result.error
        log.info(
            "crawl %s of %s: %s%s", run_id, what, result.status, f" ({error})" if error else ""
        )
        self._log_outcomes(result)
        return True

    def _log_outcomes(self, result: service.CrawlResult) -> None:
        """Tell each source's crawl outcome (backoff, flag) in the log."""
        done_at = result.recorded_at or self.clock()
        for out in result.outcomes:
            wait = jobs.humanize(out.next_crawl_at - done_at)
            if out.failed:
                log.warning(
                    "source %s failed %d time%s, next try in %s",
                    out.source_id,
                    out.consecutive_failures,
                    "" if out.consecutive_failures == 1 else "s",
                    wait,
                )
            else:
                log.info("source %s ok, next crawl in %s", out.source_id, wait)
            if out.newly_flagged:
                log.warning(
                    "source %s flagged for the admin after %d consecutive failures",
                    out.source_id,
                    out.consecutive_failures,
                )

    # -------------------------------------------------------------- digest
    def weekly_digest(self) -> str | None:
        """Send the digest of the week of the latest scheduled fire time, unless that week is over.

        Returns the week sent (or resumed), else None.
        """
        from newsletter.send import send_digest

        if not self._lead_or_skip("weekly_digest"):
            return None
        now = self.clock()
        tz = self.settings.tz
        fire = last_fire_time(digest_trigger(self.settings), now)
        if fire is None:
            log.warning(
                "digest: the schedule %r never fired before now", self.settings.digest_schedule
            )
            return None
        week = str(Week.of(fire, tz))
        if jobs.week_is_over(fire, now, tz):
            log.warning(
                "digest %s skipped: its week is over (scheduled %s)", week, fire.isoformat()
            )
            return None
        # send_digest takes the digest's lease itself, as every other send path does
        report = send_digest(self.engine, self.settings, week=week, now=now, holder=self.holder)
        if report.busy:
            log.info("digest %s: another process is sending it (%s)", week, report.busy)
            return None
        if report.held:
            log.warning(
                "digest %s held by the send gate: %s; approve it at /admin/digest/gate, then "
                "send it from /admin/digest or with `techagenda digest send --week %s`",
                week,
                report.held,
                week,
            )
            return week
        log.info(
            "digest %s: %s sent, %s failed, %s skipped, %s pending",
            week,
            report.sent,
            report.failed,
            report.skipped,
            report.pending,
        )
        return week

    # -------------------------------------------------------------- housekeeping
    def purge_old_runs(self) -> tuple[int, int]:
        """Delete finished crawl records older than the retention."""
        if not self._lead_or_skip("purge_old_runs"):
            return (0, 0)
        runs, fetches = jobs.purge_old_runs(
            self.engine, now=self.clock(), keep=self.options.keep_runs
        )
        log.info(
            "purge: %d crawl runs and %d fetch records older than %d days deleted",
            runs,
            fetches,
            self.options.keep_runs.days,
        )
        return runs, fetches

    def source_health_mail(self) -> int:
        """Mail the organizers of unwell sources (at most once a week each)."""
        from newsletter.health import send_health_mails

        if not self._lead_or_skip("source_health_mail"):
            return 0
        report = send_health_mails(self.engine, self.settings, now=self.clock())
        log.info(
            "health mail: %d sent, %d failed, %d waiting for their week",
            len(report.sent),
            len(report.failed),
            len(report.waiting),
        )
        return len(report.sent)


def _what(source_id: int | None) -> str:
    return "all sources" if source_id is None else f"source {source_id}"


# ------------------------------------------------------------------ triggers


def digest_trigger(settings: Settings) -> CronTrigger:
    """The weekly send: DIGEST_SCHEDULE read as a five-field cron in local time."""
    return CronTrigger.from_crontab(settings.digest_schedule, timezone=settings.tz)


def last_fire_time(trigger: BaseTrigger, now: datetime) -> datetime | None:
    """The latest time ``trigger`` fires at or before ``now`` (looking back up to a year)."""
    for back in (
        timedelta(minutes=1),
        timedelta(hours=1),
        timedelta(days=1),
        timedelta(days=8),
        timedelta(days=367),
    ):
        fire = trigger.get_next_fire_time(None, now - back)
        if fire is None or fire > now:
            continue
        while True:
            following = trigger.get_next_fire_time(None, fire + timedelta(microseconds=1))
            if following is None or following > now:
                return fire
            fire = following
    return None


# ------------------------------------------------------------------ job functions
# APScheduler stores jobs by reference ("scheduler:job_crawl_due"), so the jobs are plain
# module functions; each finds its Runner in the worker thread of its own scheduler.

_local = threading.local()


def _bind(runner: Runner) -> None:
    _local.runner = runner


def _runner() -> Runner:
    runner: Runner = _local.runner
    return runner


def job_heartbeat() -> None:
    _runner().heartbeat()


def job_crawl_due() -> None:
    _runner().crawl_due()


def job_run_queued_crawls() -> None:
    _runner().run_queued_crawls()


def job_weekly_digest() -> None:
    _runner().weekly_digest()


def job_purge_old_runs() -> None:
    _runner().purge_old_runs()


def job_source_health_mail() -> None:
    _runner().source_health_mail()


def job_specs(settings: Settings, options: Options) -> list[dict[str, Any]]:
    """The persisted jobs: id, function, trigger and misfire policy."""
    tz = settings.tz
    return [
        dict(
            id="crawl_due",
            func=job_crawl_due,
            trigger=IntervalTrigger(seconds=int(options.due_every.total_seconds()), timezone=tz),
            coalesce=True,
            misfire_grace_time=int(options.due_every.total_seconds()),
            max_instances=1,
        ),
        dict(
            id="run_queued_crawls",
            func=job_run_queued_crawls,
            trigger=IntervalTrigger(seconds=int(options.queue_every.total_seconds()), timezone=tz),
            coalesce=True,
            misfire_grace_time=30,
            max_instances=1,
        ),
        dict(
            id="weekly_digest",
            func=job_weekly_digest,
            trigger=digest_trigger(settings),
            coalesce=True,
            misfire_grace_time=int(DIGEST_GRACE.total_seconds()),
            max_instances=1,
        ),
        dict(
            id="purge_old_runs",
            func=job_purge_old_runs,
            trigger=CronTrigger.from_crontab(options.purge_at, timezone=tz),
            coalesce=True,
            misfire_grace_time=86400,
            max_instances=1,
        ),
        dict(
            id="source_health_mail",
            func=job_source_health_mail,
            trigger=CronTrigger.from_crontab(options.health_at, timezone=tz),
            coalesce=True,
            misfire_grace_time=86400,
            max_instances=1,
        ),
    ]


def _load_jobs(scheduler: BackgroundScheduler, runner: Runner) -> None:
    """Attach the database job store and bring its jobs in line with the settings."""
    sync_jobs(scheduler, runner.engine, job_specs(runner.settings, runner.options))


# ------------------------------------------------------------------ entry points


def build_scheduler(
    settings: Settings,
    engine: Engine,
    *,
    clock: Callable[[], datetime] | None = None,
    holder: str | None = None,
    options: Options | None = None,
) -> BackgroundScheduler:
    """A not-yet-started scheduler; on start it competes for the leader lease.

    ``clock`` gives the jobs their ``now`` (APScheduler itself runs on the real clock).
    """
    runner = Runner(
        settings, engine, holder or locks.new_holder_id(), clock or utcnow, options or Options()
    )
    pool = {"initializer": _bind, "initargs": (runner,)}
    scheduler = BackgroundScheduler(
        jobstores={"memory": MemoryJobStore()},
        executors={
            "default": ThreadPoolExecutor(4, pool_kwargs=pool),
            "leader": ThreadPoolExecutor(1, pool_kwargs=pool),
        },
        timezone=settings.tz,
    )
    runner.scheduler = scheduler
    if runner.options.resident_crawler:
        from crawlers.resident import ResidentCrawler

        runner.crawler = ResidentCrawler(settings)  # started by the first crawl
    scheduler.add_listener(log_job_event, EVENT_JOB_ERROR | EVENT_JOB_MISSED)
    beat = max(1, int(runner.options.lease_ttl.total_seconds() / 4))
    scheduler.add_job(
        job_heartbeat,
        IntervalTrigger(seconds=beat),
        id="heartbeat",
        jobstore="memory",
        executor="leader",
        next_run_time=utcnow(),
        coalesce=True,
        max_instances=1,
        misfire_grace_time=beat,
    )
    scheduler.runner = runner  # type: ignore[attr-defined]
    return scheduler


def stop_scheduler(scheduler: BackgroundScheduler) -> None:
    """Shut down and hand the leader lease back so another process takes over at once.

    APScheduler's ``shutdown(wait=True)`` waits for running jobs while holding its job-store
    lock, which a heartbeat loading the jobs at that moment needs: a deadlock. So the runner
    stops renewing first, the scheduler shuts down without waiting, and only then do we wait
    for the jobs still running, outside the lock.
    """
    runner: Runner = scheduler.runner  # type: ignore[attr-defined]
    runner.stopping = True
    if scheduler.running:
        scheduler.shutdown(wait=False)
        for executor in list(scheduler._executors.values()):
            pool = getattr(executor, "_pool", None)
            if pool is not None:
                pool.shutdown(wait=True)
    locks.release_lease(runner.engine, locks.LEADER, runner.holder)
    close = getattr(runner.crawler, "close", None)
    if close is not None:
        close()


def options_from(settings: Settings) -> Options:
    """Options from the settings ``crawl_flag_after`` and ``crawl_runs_keep_days``."""
    options = Options()
    options.flag_after = settings.crawl_flag_after
    options.keep_runs = timedelta(days=settings.crawl_runs_keep_days)
    return options


def run_scheduler(settings: Settings) -> None:
    """Run until SIGINT/SIGTERM (``techagenda scheduler``), logging each action to stderr."""
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    engine = make_engine(settings.db_url)
    scheduler = build_scheduler(settings, engine, options=options_from(settings))
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    scheduler.start()
    log.info(
        "scheduler started (timezone %s, digest %r)", settings.timezone, settings.digest_schedule
    )
    try:
        stop.wait()
    finally:
        log.info("scheduler stopping")
        stop_scheduler(scheduler)
        engine.dispose()


def list_jobs(
    settings: Settings, *, now: datetime | None = None
) -> list[tuple[str, str, datetime | None]]:
    """The scheduled jobs with their triggers and next run times (stored ones when present;
    else the first fire after ``now``, default the current time).

    Reads the job store without running a scheduler loop, so listing never fires or
    advances a job (a missed digest stays due for the next scheduler start).
    """
    return stored_rows(settings, job_specs(settings, Options()), now=now or utcnow())
