"""The scheduler: the digest on time and once, leadership between processes, DST, --list.

Every job reads its ``now`` from a test :class:`Clock`, never from the machine: these tests
pass at any instant of the week (``tests/test_any_instant.py`` runs them under faketime).
APScheduler's own loop runs on the machine's clock; where a test needs it (a stored job
due "now"), it reads that clock only to place the job relative to it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.job import Job
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

import scheduler as sched
from aggregator.db import session_scope
from aggregator.locks import LEADER, lease_holder
from aggregator.models import Delivery, DeliveryStatus, Digest
from aggregator.settings import Settings, load_settings
from newsletter.subscribers import add_confirmed
from tests.support.clock import Clock

MONDAY_8 = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)  # Monday 08:00 in Paris, 2026-W49
WEDNESDAY = datetime(2026, 12, 2, 14, 0, tzinfo=UTC)  # mid-week 2026-W49


def _settings(tmp_path: Path, db_url: str, **kw: object) -> Settings:
    return load_settings(
        data_dir=tmp_path / "var",
        database_url=db_url,
        mail_url=f"file://{tmp_path / 'outbox'}",
        secret_key="test-secret-key",
        digest_send_empty=True,
        fetch_allowlist="127.0.0.0/8,::1",
        **kw,
    )


def _runner(settings: Settings, engine: Engine, holder: str, at: datetime) -> sched.Runner:
    return sched.Runner(settings, engine, holder, Clock(at), sched.Options())


def _subscribe(engine: Engine, *emails: str) -> None:
    with session_scope(engine) as session:
        for email in emails:
            add_confirmed(session, email, language="fr", topics=[], towns=[], now=MONDAY_8)


def _sent(engine: Engine) -> list[tuple[str, int]]:
    with Session(engine) as session:
        rows = session.exec(
            select(Digest.week, Delivery.subscriber_id)
            .join(Delivery, Delivery.digest_id == Digest.id)  # type: ignore[arg-type]
            .where(Delivery.status == DeliveryStatus.sent)
        )
        return sorted((str(w), int(s)) for w, s in rows)


def _outbox(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "outbox").rglob("*.eml"))


# ---------------------------------------------------------------- time


@pytest.mark.parametrize(
    "after, expected",
    [
        # spring forward on Sunday 29 March 2026: Paris goes from UTC+1 to UTC+2
        (datetime(2026, 3, 20, 12, tzinfo=UTC), datetime(2026, 3, 23, 7, 0, tzinfo=UTC)),
        (datetime(2026, 3, 27, 12, tzinfo=UTC), datetime(2026, 3, 30, 6, 0, tzinfo=UTC)),
        # fall back on Sunday 25 October 2026: from UTC+2 to UTC+1
        (datetime(2026, 10, 16, 12, tzinfo=UTC), datetime(2026, 10, 19, 6, 0, tzinfo=UTC)),
        (datetime(2026, 10, 23, 12, tzinfo=UTC), datetime(2026, 10, 26, 7, 0, tzinfo=UTC)),
    ],
)
def test_the_monday_digest_fires_at_eight_in_paris_across_both_dst_changes(
    settings: Settings, after: datetime, expected: datetime
) -> None:
    fire = sched.digest_trigger(settings).get_next_fire_time(None, after)
    assert fire is not None
    assert fire.astimezone(UTC) == expected
    assert (fire.hour, fire.minute, fire.strftime("%a")) == (8, 0, "Mon")


def test_the_digest_schedule_follows_the_setting_and_the_timezone(tmp_path: Path) -> None:
    settings = load_settings(
        data_dir=tmp_path, digest_schedule="30 18 * * fri", timezone="America/Montreal"
    )
    fire = sched.digest_trigger(settings).get_next_fire_time(None, MONDAY_8)
    assert fire is not None
    assert fire.astimezone(UTC) == datetime(2026, 12, 4, 23, 30, tzinfo=UTC)


def test_the_last_fire_time_is_the_latest_one_not_after_now(settings: Settings) -> None:
    trigger = sched.digest_trigger(settings)
    wednesday = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)
    assert sched.last_fire_time(trigger, wednesday) == MONDAY_8
    assert sched.last_fire_time(trigger, MONDAY_8) == MONDAY_8
    before = MONDAY_8 - timedelta(seconds=1)
    assert sched.last_fire_time(trigger, before) == MONDAY_8 - timedelta(days=7)


# ---------------------------------------------------------------- the digest job


def test_a_scheduler_down_over_monday_eight_sends_that_weeks_digest_once_on_return(
    tmp_path: Path, engine: Engine, db_url: str
) -> None:
    settings = _settings(tmp_path, db_url)
    _subscribe(engine, "claire@exemple.fr", "sam@example.org")
    back_at = MONDAY_8 + timedelta(hours=3, minutes=12)
    runner = _runner(settings, engine, "a", back_at)
    assert runner.weekly_digest() == "2026-W49"
    assert runner.weekly_digest() == "2026-W49"  # a second firing resumes: nothing new
    sent = _sent(engine)
    assert [w for w, _ in sent] == ["2026-W49", "2026-W49"]
    assert len(_outbox(tmp_path)) == 2


def test_a_scheduler_down_the_whole_week_skips_that_digest(
    tmp_path: Path, sqlite_engine: Engine, sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings = _settings(tmp_path, sqlite_url)
    _subscribe(sqlite_engine, "claire@exemple.fr")
    next_monday_early = MONDAY_8 + timedelta(days=7, minutes=-30)  # W50, 07:30 in Paris
    runner = _runner(settings, sqlite_engine, "a", next_monday_early)
    with caplog.at_level("INFO", logger="techagenda.scheduler"):
        assert runner.weekly_digest() is None
    assert "digest 2026-W49 skipped: its week is over" in caplog.text
    with Session(sqlite_engine) as session:
        assert session.exec(select(Digest)).all() == []
    assert _outbox(tmp_path) == []


def test_two_schedulers_firing_together_send_one_digest(
    tmp_path: Path, engine: Engine, db_url: str
) -> None:
    settings = _settings(tmp_path, db_url)
    _subscribe(engine, "claire@exemple.fr", "sam@example.org", "nour@exemple.fr")
    runners = [_runner(settings, engine, holder, MONDAY_8) for holder in ("a", "b")]
    barrier = threading.Barrier(2)
    results: list[str | None] = []

    def fire(runner: sched.Runner) -> None:
        barrier.wait()
        results.append(runner.weekly_digest())

    threads = [threading.Thread(target=fire, args=(r,)) for r in runners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(results, key=str) == ["2026-W49", None]
    assert len(_sent(engine)) == 3
    assert len(_outbox(tmp_path)) == 3


# ---------------------------------------------------------------- APScheduler for real


def _wait(condition: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


@pytest.fixture
def started() -> Iterator[list[BackgroundScheduler]]:
    """Schedulers a test starts, shut down at its end whatever happens."""
    running: list[BackgroundScheduler] = []
    yield running
    for scheduler in running:
        if scheduler.running:
            scheduler.shutdown(wait=False)


QUICK = sched.Options(
    lease_ttl=timedelta(seconds=2),
    due_every=timedelta(hours=1),
    queue_every=timedelta(hours=1),
)


def test_of_two_scheduler_processes_one_leads_and_the_other_takes_over_when_it_dies(
    tmp_path: Path, engine: Engine, db_url: str, started: list[BackgroundScheduler]
) -> None:
    settings = _settings(tmp_path, db_url)
    clock = Clock(WEDNESDAY, ticking=True)  # leases expire on elapsed seconds
    first = sched.build_scheduler(settings, engine, clock=clock, holder="first", options=QUICK)
    second = sched.build_scheduler(settings, engine, clock=clock, holder="second", options=QUICK)
    started += [first, second]
    first.start()
    assert _wait(lambda: sched.JOBSTORE in first._jobstores)
    second.start()
    time.sleep(2.5)  # more than a lease: the second keeps standing by
    assert sched.JOBSTORE not in second._jobstores
    assert {j.id for j in first.get_jobs(sched.JOBSTORE)} == {
        "crawl_due",
        "run_queued_crawls",
        "weekly_digest",
        "purge_old_runs",
        "source_health_mail",
    }
    first.shutdown(wait=False)  # dies without handing the lease back
    assert _wait(lambda: sched.JOBSTORE in second._jobstores, timeout=10)
    assert lease_holder(engine, LEADER, now=clock()) == "second"


def test_a_stopped_scheduler_hands_the_lease_over_at_once(
    tmp_path: Path, sqlite_engine: Engine, sqlite_url: str, started: list[BackgroundScheduler]
) -> None:
    settings = _settings(tmp_path, sqlite_url)
    clock = Clock(WEDNESDAY, ticking=True)
    first = sched.build_scheduler(settings, sqlite_engine, clock=clock, holder="first")
    started.append(first)
    first.start()
    assert _wait(lambda: sched.JOBSTORE in first._jobstores)
    assert lease_holder(sqlite_engine, LEADER, now=clock()) == "first"
    sched.stop_scheduler(first)
    assert lease_holder(sqlite_engine, LEADER, now=clock()) is None


def _store_digest_job(settings: Settings, engine: Engine, next_run_time: datetime) -> None:
    """What a scheduler that went down before ``next_run_time`` left in the job store."""
    store = SQLAlchemyJobStore(engine=engine, tablename=sched.JOBS_TABLE)
    owner = BackgroundScheduler(timezone=settings.tz)
    store.start(owner, sched.JOBSTORE)
    spec = next(s for s in sched.job_specs(settings, sched.Options()) if s["id"] == "weekly_digest")
    job = Job(
        owner, executor="default", args=(), kwargs={}, name="job_weekly_digest",
        next_run_time=next_run_time, **spec,
    )  # fmt: skip
    store.add_job(job)


def test_on_restart_the_missed_monday_run_is_caught_up_once(
    tmp_path: Path,
    sqlite_engine: Engine,
    sqlite_url: str,
    started: list[BackgroundScheduler],
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = _settings(tmp_path, sqlite_url)
    _subscribe(sqlite_engine, "claire@exemple.fr")
    # The jobs' clock: back up on the Wednesday after the missed Monday 08:00 (2026-W49).
    clock = Clock(WEDNESDAY, ticking=True)
    # APScheduler's loop runs on the machine's clock: the stored run is overdue on it.
    loop_now = datetime.now(UTC)
    _store_digest_job(settings, sqlite_engine, loop_now - timedelta(minutes=5))
    back = sched.build_scheduler(settings, sqlite_engine, clock=clock, holder="back")
    started.append(back)
    with caplog.at_level("INFO", logger="techagenda.scheduler"):
        back.start()
        assert _wait(lambda: len(_outbox(tmp_path)) >= 1)
        time.sleep(1.0)
    assert len(_outbox(tmp_path)) == 1
    assert caplog.text.count("digest 2026-W49: 1 sent") == 1
    job = back.get_job("weekly_digest", sched.JOBSTORE)
    assert job is not None and job.next_run_time > loop_now


def test_list_jobs_names_each_job_with_its_next_run(tmp_path: Path, sqlite_url: str) -> None:
    settings = _settings(tmp_path, sqlite_url)
    listed = sched.list_jobs(settings, now=WEDNESDAY)
    rows = {job_id: (trigger, when) for job_id, trigger, when in listed}
    assert set(rows) == {
        "crawl_due",
        "run_queued_crawls",
        "weekly_digest",
        "purge_old_runs",
        "source_health_mail",
    }
    trigger, when = rows["weekly_digest"]
    assert "day_of_week='mon'" in trigger
    assert when is not None and (when.strftime("%a"), when.hour, when.minute) == ("Mon", 8, 0)
    assert when.astimezone(UTC) == MONDAY_8 + timedelta(days=7)


def test_run_scheduler_leads_stores_its_jobs_and_hands_over_on_sigterm(
    tmp_path: Path, sqlite_engine: Engine, sqlite_url: str
) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": sqlite_url,
        "DATA_DIR": str(tmp_path / "var"),
        "MAIL_URL": f"file://{tmp_path / 'outbox'}",
        "SECRET_KEY": "test-secret-key",
        "TECHAGENDA_CONFIG": str(tmp_path / "absent.toml"),
    }
    code = "import scheduler, aggregator.settings as s; scheduler.run_scheduler(s.load_settings())"
    child = subprocess.Popen(
        [sys.executable, "-c", code], env=env, stderr=subprocess.PIPE, text=True
    )
    lines: list[str] = []
    loaded = threading.Event()

    def drain() -> None:  # keep reading so the child never blocks on a full pipe
        assert child.stderr is not None
        for line in child.stderr:
            lines.append(line)
            if "job purge_old_runs added" in line:
                loaded.set()

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        assert loaded.wait(120), "".join(lines)
        # the production entry point runs on the machine's clock: read the lease on it
        assert lease_holder(sqlite_engine, LEADER, now=datetime.now(UTC)) is not None
        child.send_signal(signal.SIGTERM)
        assert child.wait(90) == 0, "".join(lines)
    finally:
        if child.poll() is None:
            child.kill()
    reader.join(10)
    log = "".join(lines)
    assert "scheduler started (timezone Europe/Paris" in log
    assert "is the leader: loading the jobs" in log
    assert lease_holder(sqlite_engine, LEADER, now=datetime.now(UTC)) is None
    stored = {job_id: when for job_id, _, when in sched.list_jobs(_settings(tmp_path, sqlite_url))}
    assert all(when is not None for when in stored.values())
