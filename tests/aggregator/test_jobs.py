"""What is due, how failing sources back off, and the store writes of the scheduler's jobs."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from aggregator import jobs
from aggregator.db import make_engine, session_scope
from aggregator.models import CrawlRun, RunStatus, Source, SourceFetch, SourceState
from aggregator.weeks import Week

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
SIX_HOURS = timedelta(hours=6)


def _source(**kw: object) -> Source:
    values: dict[str, object] = {
        "name": "Meetup Aix Python",
        "url": f"https://example.org/{kw.get('id', 1)}.ics",
        "state": SourceState.approved,
    }
    values.update(kw)
    return Source(**values)


def _add(engine: Engine, *rows: object) -> None:
    with session_scope(engine) as session:
        for row in rows:
            session.add(row)


# ---------------------------------------------------------------- pure


def test_backoff_doubles_per_failure_from_the_interval() -> None:
    assert jobs.backoff(0, SIX_HOURS) == SIX_HOURS
    assert jobs.backoff(1, SIX_HOURS) == timedelta(hours=12)
    assert jobs.backoff(2, SIX_HOURS) == timedelta(hours=24)
    assert jobs.backoff(3, SIX_HOURS) == timedelta(hours=48)


def test_backoff_stops_at_seven_days() -> None:
    assert jobs.backoff(5, SIX_HOURS) == timedelta(days=7)
    assert jobs.backoff(400, SIX_HOURS) == timedelta(days=7)
    assert jobs.backoff(3, timedelta(minutes=30)) == timedelta(hours=4)


def test_a_source_slower_than_a_week_is_not_hurried_by_the_cap() -> None:
    assert jobs.backoff(2, timedelta(days=10)) == timedelta(days=10)


@given(st.integers(min_value=0, max_value=10_000), st.integers(min_value=1, max_value=86400 * 3))
def test_backoff_never_shrinks_and_never_exceeds_the_cap(failures: int, seconds: int) -> None:
    interval = timedelta(seconds=seconds)
    delay = jobs.backoff(failures, interval)
    assert interval <= delay <= max(interval, jobs.MAX_BACKOFF)
    assert jobs.backoff(failures + 1, interval) >= delay


def test_flagging_starts_at_the_configured_number_of_failures() -> None:
    assert not jobs.should_flag(4, 5)
    assert jobs.should_flag(5, 5)
    assert not jobs.should_flag(50, 0)


def test_due_sources_are_the_approved_ones_whose_time_has_come_oldest_first() -> None:
    never = _source(id=1)
    late = _source(id=2, next_crawl_at=NOW - timedelta(hours=2))
    on_time = _source(id=3, next_crawl_at=NOW)
    future = _source(id=4, next_crawl_at=NOW + timedelta(minutes=1))
    paused = _source(id=5, state=SourceState.paused, next_crawl_at=NOW - timedelta(days=1))
    pending = _source(id=6, state=SourceState.pending)
    legacy = _source(id=7, last_crawl_at=NOW - timedelta(hours=7))
    fresh = _source(id=8, last_crawl_at=NOW - timedelta(hours=1))
    own_pace = _source(id=9, last_crawl_at=NOW - timedelta(hours=1), crawl_interval=1800)
    due = jobs.due_sources(
        [future, on_time, paused, late, never, pending, legacy, fresh, own_pace], NOW, SIX_HOURS
    )
    assert [s.id for s in due] == [1, 2, 7, 9, 3]


def test_the_iso_week_is_read_on_the_local_calendar() -> None:
    sunday_night_paris = datetime(2026, 12, 6, 23, 30, tzinfo=UTC)  # Monday 00:30 in Paris
    assert str(Week.of(sunday_night_paris, "UTC")) == "2026-W49"
    assert str(Week.of(sunday_night_paris, "Europe/Paris")) == "2026-W50"


def test_a_week_is_over_only_once_its_sunday_has_passed_locally() -> None:
    fire = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)  # Monday 08:00 Paris, 2026-W49
    assert not jobs.week_is_over(fire, fire + timedelta(hours=3), "Europe/Paris")
    sunday_late = datetime(2026, 12, 6, 22, 59, tzinfo=UTC)
    assert not jobs.week_is_over(fire, sunday_late, "Europe/Paris")
    assert jobs.week_is_over(fire, sunday_late + timedelta(minutes=2), "Europe/Paris")


def test_delays_read_like_a_person_writes_them() -> None:
    assert jobs.humanize(timedelta(hours=4)) == "4h"
    assert jobs.humanize(timedelta(days=2, hours=3, minutes=5)) == "2d 3h"
    assert jobs.humanize(timedelta(minutes=15)) == "15m"
    assert jobs.humanize(timedelta(seconds=40)) == "40s"


# ---------------------------------------------------------------- store


def test_a_due_source_is_claimed_by_exactly_one_of_many_racers(db_url: str) -> None:
    setup = make_engine(db_url)
    _add(setup, _source(id=1))
    setup.dispose()
    engines = [make_engine(db_url) for _ in range(5)]
    barrier = threading.Barrier(len(engines))
    wins: list[int] = []

    def race(engine: Engine, n: int) -> None:
        barrier.wait()
        if jobs.claim_source(engine, 1, now=NOW, hold=timedelta(minutes=20)):
            wins.append(n)

    threads = [threading.Thread(target=race, args=(e, n)) for n, e in enumerate(engines)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    with Session(engines[0]) as session:
        source = session.get(Source, 1)
        assert source is not None
        assert source.next_crawl_at == NOW + timedelta(minutes=20)
    for engine in engines:
        engine.dispose()
    assert len(wins) == 1


def test_a_source_not_yet_due_cannot_be_claimed(engine: Engine) -> None:
    _add(engine, _source(id=1, next_crawl_at=NOW + timedelta(hours=1)))
    assert not jobs.claim_source(engine, 1, now=NOW, hold=timedelta(minutes=20))


def _run(engine: Engine, status: str, error: str | None = None, **kw: object) -> int:
    with session_scope(engine) as session:
        run = CrawlRun(status=status, error=error, requested_by="scheduler", **kw)
        session.add(run)
        session.flush()
        assert run.id is not None
        return run.id


def _outcome(
    engine: Engine, run_id: int, source_ids: list[int], before: dict[int, int]
) -> list[jobs.CrawlOutcome]:
    return jobs.record_crawl_outcome(
        engine, run_id, source_ids=source_ids, before=before, now=NOW,
        default_interval=SIX_HOURS, flag_after=3,
    )  # fmt: skip


def _get(engine: Engine, source_id: int) -> Source:
    with Session(engine) as session:
        source = session.get(Source, source_id)
        assert source is not None
        return source


def test_a_failed_crawl_backs_the_source_off_and_the_third_flags_it(engine: Engine) -> None:
    _add(engine, _source(id=1))
    delays = []
    for attempt in range(1, 4):
        before = jobs.failure_snapshot(engine)
        run_id = _run(engine, RunStatus.failed, "timed out after 900 s", source_id=1)
        [out] = _outcome(engine, run_id, [1], before)
        assert out.failed and out.consecutive_failures == attempt
        delays.append(out.next_crawl_at - NOW)
        assert out.newly_flagged == (attempt == 3)
    assert delays == [timedelta(hours=12), timedelta(hours=24), timedelta(hours=48)]
    source = _get(engine, 1)
    assert source.flagged and source.consecutive_failures == 3
    assert source.last_error == "timed out after 900 s"
    assert source.next_crawl_at == NOW + timedelta(hours=48)


def test_a_failure_the_crawler_already_counted_is_not_counted_twice(engine: Engine) -> None:
    _add(engine, _source(id=1, consecutive_failures=1))
    before = jobs.failure_snapshot(engine)
    with session_scope(engine) as session:
        source = session.get(Source, 1)
        assert source is not None
        source.consecutive_failures = 2  # what the crawler's pipeline wrote
        source.last_error = "HTTP 503 Service Unavailable"
    run_id = _run(engine, RunStatus.done, source_id=1)
    _add(engine, SourceFetch(crawl_run_id=run_id, source_id=1, url="https://x", error="HTTP 503"))
    [out] = _outcome(engine, run_id, [1], before)
    assert out.consecutive_failures == 2
    assert _get(engine, 1).last_error == "HTTP 503 Service Unavailable"


def test_a_success_resets_failures_unflags_and_returns_to_the_normal_pace(engine: Engine) -> None:
    _add(engine, _source(id=1, consecutive_failures=6, flagged=True, crawl_interval=3600))
    before = jobs.failure_snapshot(engine)
    run_id = _run(engine, RunStatus.done, source_id=1)
    _add(engine, SourceFetch(crawl_run_id=run_id, source_id=1, url="https://x", http_status=304))
    [out] = _outcome(engine, run_id, [1], before)
    assert not out.failed and out.consecutive_failures == 0
    source = _get(engine, 1)
    assert not source.flagged
    assert source.next_crawl_at == NOW + timedelta(hours=1)


def test_a_crawl_of_every_source_schedules_each_by_its_own_fetch(engine: Engine) -> None:
    _add(engine, _source(id=1), _source(id=2))
    before = jobs.failure_snapshot(engine)
    run_id = _run(engine, RunStatus.done)
    _add(
        engine,
        SourceFetch(crawl_run_id=run_id, source_id=1, url="https://a", http_status=200),
        SourceFetch(crawl_run_id=run_id, source_id=2, url="https://b", error="DNS lookup failed"),
    )
    outs = {o.source_id: o for o in _outcome(engine, run_id, [], before)}
    assert not outs[1].failed and outs[2].failed
    assert _get(engine, 2).next_crawl_at == NOW + timedelta(hours=12)


def test_runs_whose_process_vanished_are_failed_with_a_reason(engine: Engine) -> None:
    stale = _run(engine, RunStatus.running, started_at=NOW - timedelta(hours=2))
    live = _run(engine, RunStatus.running, started_at=NOW - timedelta(minutes=5))
    queued = _run(engine, RunStatus.queued, created_at=NOW - timedelta(hours=2))
    assert jobs.fail_abandoned_runs(engine, now=NOW, older_than=timedelta(hours=1)) == [stale]
    with Session(engine) as session:
        statuses = {r.id: (r.status, r.error) for r in session.exec(select(CrawlRun))}
    assert statuses[stale][0] == RunStatus.failed and "abandoned" in (statuses[stale][1] or "")
    assert statuses[live][0] == RunStatus.running
    assert statuses[queued][0] == RunStatus.queued


def test_fail_run_leaves_a_finished_run_alone(engine: Engine) -> None:
    done = _run(engine, RunStatus.done)
    queued = _run(engine, RunStatus.queued)
    assert not jobs.fail_run(engine, done, "boom", now=NOW)
    assert jobs.fail_run(engine, queued, "the crawl could not run: boom", now=NOW)


def test_queued_runs_come_oldest_first(engine: Engine) -> None:
    second = _run(engine, RunStatus.queued, created_at=NOW - timedelta(minutes=1))
    first = _run(engine, RunStatus.queued, created_at=NOW - timedelta(minutes=2))
    _run(engine, RunStatus.done, created_at=NOW - timedelta(minutes=3))
    assert [r.id for r in jobs.queued_runs(engine)] == [first, second]


@pytest.mark.parametrize("age_days, kept", [(120, False), (10, True)])
def test_purge_deletes_finished_runs_and_their_fetches_past_retention(
    engine: Engine, age_days: int, kept: bool
) -> None:
    _add(engine, _source(id=1))
    when = NOW - timedelta(days=age_days)
    run_id = _run(engine, RunStatus.done, created_at=when, finished_at=when)
    stuck = _run(engine, RunStatus.queued, created_at=when)
    _add(engine, SourceFetch(crawl_run_id=run_id, source_id=1, url="https://x", fetched_at=when))
    runs, fetches = jobs.purge_old_runs(engine, now=NOW, keep=timedelta(days=90))
    assert (runs, fetches) == ((0, 0) if kept else (1, 1))
    with Session(engine) as session:
        ids = {r.id for r in session.exec(select(CrawlRun))}
    assert (run_id in ids) == kept
    assert stuck in ids
