"""The scheduler's persisted jobs: the database job store, kept in line with the job specs.

APScheduler's ``SQLAlchemyJobStore`` keeps the jobs in table ``apscheduler_jobs`` of the
project's database. The leader attaches it and syncs it with the specs the settings give
(:func:`sync_jobs`); ``techagenda scheduler --list`` reads it without running a loop
(:func:`stored_rows`). The job functions themselves stay in ``scheduler`` (APScheduler
stores them by reference, ``scheduler:job_crawl_due``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from apscheduler.events import EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.engine import Engine

from aggregator.db import make_engine
from aggregator.settings import Settings

log = logging.getLogger("techagenda.scheduler")

JOBSTORE = "db"
JOBS_TABLE = "apscheduler_jobs"
_OPTIONS = ("coalesce", "misfire_grace_time", "max_instances")


def same_trigger(a: BaseTrigger, b: BaseTrigger) -> bool:
    """True when two triggers fire at the same times (a stored job keeps its next run)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, IntervalTrigger) and isinstance(b, IntervalTrigger):
        return a.interval == b.interval and str(a.timezone) == str(b.timezone)
    return str(a) == str(b) and str(getattr(a, "timezone", "")) == str(getattr(b, "timezone", ""))


def sync_jobs(
    scheduler: BackgroundScheduler, engine: Engine, specs: Sequence[dict[str, Any]]
) -> None:
    """Attach the database job store and bring its jobs in line with ``specs``.

    A stored job whose trigger is unchanged keeps its stored next run time, so a run missed
    while no scheduler was up is caught up (within its misfire grace) rather than forgotten.
    """
    if JOBSTORE not in scheduler._jobstores:
        scheduler.add_jobstore(SQLAlchemyJobStore(engine=engine, tablename=JOBS_TABLE), JOBSTORE)
    for spec in specs:
        job = scheduler.get_job(spec["id"], JOBSTORE)
        if job is None:
            scheduler.add_job(jobstore=JOBSTORE, replace_existing=True, **spec)
            log.info("job %s added: %s", spec["id"], spec["trigger"])
            continue
        if not same_trigger(job.trigger, spec["trigger"]):
            scheduler.reschedule_job(spec["id"], JOBSTORE, trigger=spec["trigger"])
            log.info("job %s rescheduled: %s", spec["id"], spec["trigger"])
        options = {k: spec[k] for k in _OPTIONS}
        if any(getattr(job, k) != v for k, v in options.items()):
            scheduler.modify_job(spec["id"], JOBSTORE, **options)


def stored_rows(
    settings: Settings, specs: Sequence[dict[str, Any]], *, now: datetime
) -> list[tuple[str, str, datetime | None]]:
    """``(id, trigger, next run)`` per spec: the stored job's when its trigger is unchanged,
    else the first fire after ``now``. Reads the store; never fires or advances a job."""
    engine = make_engine(settings.db_url)
    store = SQLAlchemyJobStore(engine=engine, tablename=JOBS_TABLE)
    try:
        store.start(BackgroundScheduler(timezone=settings.tz), JOBSTORE)
        stored = {job.id: job for job in store.get_all_jobs()}
    finally:
        store.shutdown()
        engine.dispose()
    local = now.astimezone(settings.tz)
    rows: list[tuple[str, str, datetime | None]] = []
    for spec in specs:
        job = stored.get(spec["id"])
        if job is not None and same_trigger(job.trigger, spec["trigger"]):
            rows.append((spec["id"], str(job.trigger), job.next_run_time))
        else:
            rows.append(
                (spec["id"], str(spec["trigger"]), spec["trigger"].get_next_fire_time(None, local))
            )
    return rows


def log_job_event(event: JobExecutionEvent) -> None:
    """A missed or failed job, told in the log."""
    if event.code == EVENT_JOB_MISSED:
        log.warning(
            "job %s missed its run of %s (scheduler was down)",
            event.job_id,
            event.scheduled_run_time,
        )
    elif event.exception is not None:
        log.error(
            "job %s failed: %r",
            event.job_id,
            event.exception,
            exc_info=(type(event.exception), event.exception, event.exception.__traceback__),
        )
