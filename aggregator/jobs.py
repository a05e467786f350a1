"""What the scheduler should do, and the few store writes its jobs need.

The first half is pure: given sources and a ``now``, which are due; how long a failing
source waits (exponential backoff, capped at a week); which ISO week a digest fire time
belongs to and whether that week is already over. The second half is the store side:
claiming a due source atomically (so two schedulers never crawl it twice), recording a
crawl's outcome on the source, failing runs whose process vanished, purging old records.
No APScheduler, no Scrapy here: ``scheduler.py`` wires these to the clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from aggregator.db import session_scope
from aggregator.models import CrawlRun, RunStatus, Source, SourceFetch, SourceState
from aggregator.weeks import Week

MAX_BACKOFF = timedelta(days=7)
DEFAULT_FLAG_AFTER = 5
_FAR = datetime.min.replace(tzinfo=UTC)

# ---------------------------------------------------------------- pure decisions


def source_interval(source: Source, default_interval: timedelta) -> timedelta:
    """The source's own crawl interval, else the default."""
    return timedelta(seconds=source.crawl_interval) if source.crawl_interval else default_interval


def due_since(source: Source, default_interval: timedelta) -> datetime | None:
    """When the source became (or becomes) due; None when it was never crawled."""
    if source.next_crawl_at is not None:
        return source.next_crawl_at
    if source.last_crawl_at is not None:
        return source.last_crawl_at + source_interval(source, default_interval)
    return None


def is_due(source: Source, now: datetime, default_interval: timedelta) -> bool:
    """An approved source is due when its next crawl time has come (or it never had one)."""
    if source.state != SourceState.approved:
        return False
    since = due_since(source, default_interval)
    return since is None or since <= now


def due_sources(
    sources: Iterable[Source], now: datetime, default_interval: timedelta
) -> list[Source]:
    """The approved sources due at ``now``, the longest-waiting (never crawled) first."""
    due = [s for s in sources if is_due(s, now, default_interval)]
    return sorted(due, key=lambda s: (due_since(s, default_interval) or _FAR, s.id or 0))


def backoff(consecutive_failures: int, interval: timedelta) -> timedelta:
    """Delay before the next crawl: the interval, doubled per consecutive failure, max 7 days."""
    if consecutive_failures <= 0:
        return interval
    cap = max(MAX_BACKOFF, interval)
    if consecutive_failures >= 32:  # 2**32 intervals is far past the cap anyway
        return cap
    return min(interval * 2**consecutive_failures, cap)


def should_flag(consecutive_failures: int, flag_after: int) -> bool:
    """A source is flagged for the admin once it failed ``flag_after`` times in a row."""
    return flag_after > 0 and consecutive_failures >= flag_after


def week_is_over(fire_time: datetime, now: datetime, tz: str | tzinfo) -> bool:
    """True when ``now`` is past the local ISO week the scheduled ``fire_time`` fell in."""
    return now > fire_time and Week.of(now, tz) != Week.of(fire_time, tz)


def humanize(delay: timedelta) -> str:
    """``4h``, ``2d 3h``, ``15m``, ``40s``: a delay for log lines."""
    seconds = int(delay.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{days}d"] if days else []
    if hours:
        parts.append(f"{hours}h")
    if minutes and not days:
        parts.append(f"{minutes}m")
    if secs and not days and not hours:
        parts.append(f"{secs}s")
    return " ".join(parts) or "0s"


# ---------------------------------------------------------------- store side


@dataclass(frozen=True)
class CrawlOutcome:
    """What a finished crawl meant for one source."""

    source_id: int
    failed: bool
    consecutive_failures: int
    next_crawl_at: datetime
    newly_flagged: bool
    error: str | None = None


def approved_sources(engine: Engine) -> list[Source]:
    """Every approved source (detached rows)."""
    with Session(engine, expire_on_commit=False) as session:
        rows = session.exec(select(Source).where(Source.state == SourceState.approved))
        return list(rows)


def claim_source(engine: Engine, source_id: int, *, now: datetime, hold: timedelta) -> bool:
    """Atomically push a due source's next crawl to ``now + hold``; True when we got it.

    Two schedulers racing for one source: exactly one UPDATE matches. If the crawl never
    reports back (the process died), the source is due again after ``hold``.
    """
    table = Source.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:
        done = conn.execute(
            sa.update(table)
            .where(
                table.c.id == source_id,
                table.c.state == SourceState.approved.value,
                sa.or_(table.c.next_crawl_at.is_(None), table.c.next_crawl_at <= now),
            )
            .values(next_crawl_at=now + hold)
        )
    return done.rowcount == 1


def failure_snapshot(engine: Engine) -> dict[int, int]:
    """``{source id: consecutive failures}`` before a crawl, to tell what the crawl changed."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(col(Source.id), col(Source.consecutive_failures)))
        return {int(r[0] or 0): int(r[1] or 0) for r in rows}


def record_crawl_outcome(
    engine: Engine,
    run_id: int | None,
    *,
    source_ids: Iterable[int],
    before: dict[int, int],
    now: datetime,
    default_interval: timedelta,
    flag_after: int = DEFAULT_FLAG_AFTER,
) -> list[CrawlOutcome]:
    """After a crawl: count failures, set each source's next crawl (with backoff), flag.

    A source failed when its fetch recorded an error, or the whole run failed and it has no
    successful fetch. The crawler may already have counted the failure on the source; it is
    then not counted twice.
    """
    outcomes: list[CrawlOutcome] = []
    with session_scope(engine) as session:
        run = session.get(CrawlRun, run_id) if run_id is not None else None
        fetches: dict[int, SourceFetch] = {}
        if run_id is not None:
            for row in session.exec(select(SourceFetch).where(SourceFetch.crawl_run_id == run_id)):
                fetches[row.source_id] = row
        ids = set(source_ids) | set(fetches)
        for source_id in sorted(ids):
            source = session.get(Source, source_id)
            if source is None:
                continue
            fetch = fetches.get(source_id)
            run_failed = run is None or run.status == RunStatus.failed
            failed = bool(fetch.error) if fetch is not None else run_failed
            error = (fetch.error if fetch is not None else None) or (run.error if run else None)
            old = before.get(source_id, 0)
            if failed:
                count = source.consecutive_failures
                failures = count if count > old else old + 1
                if not source.last_error:
                    source.last_error = error or "crawl failed"
            else:
                failures = 0
            source.consecutive_failures = failures
            delay = backoff(failures, source_interval(source, default_interval))
            source.next_crawl_at = now + delay
            # the crawl child may have flagged it already (service.apply_health): newly
            # flagged means this crawl took it past the threshold
            newly = should_flag(failures, flag_after) and not (
                source.flagged and should_flag(old, flag_after)
            )
            if should_flag(failures, flag_after):
                source.flagged = True
            elif not failed:
                source.flagged = False
            session.add(source)
            outcomes.append(
                CrawlOutcome(source_id, failed, failures, source.next_crawl_at, newly, error)
            )
    return outcomes


def queued_runs(engine: Engine) -> list[CrawlRun]:
    """Admin-requested crawls waiting to run, oldest first."""
    with Session(engine, expire_on_commit=False) as session:
        rows = session.exec(
            select(CrawlRun)
            .where(CrawlRun.status == RunStatus.queued)
            .order_by(col(CrawlRun.created_at), col(CrawlRun.id))
        )
        return list(rows)


def fail_run(engine: Engine, run_id: int, error: str, *, now: datetime) -> bool:
    """Mark a run failed with an admin-readable error unless it already finished."""
    table = CrawlRun.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:
        done = conn.execute(
            sa.update(table)
            .where(
                table.c.id == run_id,
                table.c.status.in_([RunStatus.queued.value, RunStatus.running.value]),
            )
            .values(status=RunStatus.failed.value, error=error, finished_at=now)
        )
    return done.rowcount == 1


def fail_abandoned_runs(engine: Engine, *, now: datetime, older_than: timedelta) -> list[int]:
    """Runs still ``running`` long after their time limit: their process died. Fail them."""
    table = CrawlRun.__table__  # type: ignore[attr-defined]
    cutoff = now - older_than
    with engine.begin() as conn:
        ids = [
            int(r[0])
            for r in conn.execute(
                sa.select(table.c.id).where(
                    table.c.status == RunStatus.running.value,
                    sa.func.coalesce(table.c.started_at, table.c.created_at) < cutoff,
                )
            )
        ]
        if ids:
            conn.execute(
                sa.update(table)
                .where(table.c.id.in_(ids), table.c.status == RunStatus.running.value)
                .values(
                    status=RunStatus.failed.value,
                    error="abandoned: the process running this crawl stopped before it ended",
                    finished_at=now,
                )
            )
    return ids


def purge_old_runs(engine: Engine, *, now: datetime, keep: timedelta) -> tuple[int, int]:
    """Delete finished crawl runs (and their fetch records) older than ``keep``.

    Returns ``(runs, fetches)`` deleted. Queued and running runs are never deleted.
    """
    runs = CrawlRun.__table__  # type: ignore[attr-defined]
    fetches = SourceFetch.__table__  # type: ignore[attr-defined]
    cutoff = now - keep
    old = sa.select(runs.c.id).where(
        runs.c.status.in_([RunStatus.done.value, RunStatus.failed.value]),
        sa.func.coalesce(runs.c.finished_at, runs.c.created_at) < cutoff,
    )
    with engine.begin() as conn:
        gone_fetches = conn.execute(
            sa.delete(fetches).where(fetches.c.crawl_run_id.in_(old))
        ).rowcount
        gone_runs = conn.execute(sa.delete(runs).where(runs.c.id.in_(old))).rowcount
    return int(gone_runs), int(gone_fetches)
