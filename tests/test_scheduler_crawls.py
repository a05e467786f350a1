"""The scheduler's crawl jobs, for real: child Scrapy processes against a loopback server."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

import scheduler as sched
from aggregator.db import session_scope
from aggregator.locks import crawl_lock_name, lease
from aggregator.models import CrawlRun, RunStatus, Source, SourceState
from aggregator.settings import Settings, load_settings
from tests.support.clock import Clock
from tests.support.httpserver import LoopbackHTTPServer

pytest.importorskip("crawlers.run")
WEDNESDAY = datetime(2026, 12, 2, 14, 0, tzinfo=UTC)  # the week before the agenda's event

AGENDA = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Fab Lab Aix//Agenda//FR
X-WR-CALNAME:Openlab Aix-en-Provence
BEGIN:VEVENT
UID:atelier-arduino-2026-12-09@openlab-aix.fr
DTSTAMP:20261120T090000Z
DTSTART;TZID=Europe/Paris:20261209T183000
DTEND;TZID=Europe/Paris:20261209T210000
SUMMARY:Atelier Arduino : capteurs et domotique
DESCRIPTION:Soirée découverte de l'électronique libre\\, apportez votre portable.
LOCATION:Openlab\\, 12 rue du Bon Pasteur\\, 13100 Aix-en-Provence
URL:https://openlab-aix.fr/agenda/atelier-arduino
END:VEVENT
END:VCALENDAR
"""


def _settings(tmp_path: Path, db_url: str, **kw: object) -> Settings:
    return load_settings(
        data_dir=tmp_path / "var",
        database_url=db_url,
        mail_url=f"file://{tmp_path / 'outbox'}",
        secret_key="test-secret-key",
        fetch_allowlist="127.0.0.0/8,::1",
        **kw,
    )


def _source(engine: Engine, url: str) -> int:
    with session_scope(engine) as session:
        source = Source(name="Openlab Aix", url=url, state=SourceState.approved)
        session.add(source)
        session.flush()
        assert source.id is not None
        return source.id


def _runs(engine: Engine) -> list[CrawlRun]:
    with Session(engine) as session:
        return list(session.exec(select(CrawlRun).order_by(CrawlRun.id)))  # type: ignore[arg-type]


def _get(engine: Engine, source_id: int) -> Source:
    with Session(engine) as session:
        source = session.get(Source, source_id)
        assert source is not None
        return source


@pytest.fixture
def clock() -> Clock:
    """The jobs' clock: a Wednesday, ticking on (the crawl limits are real seconds)."""
    return Clock(WEDNESDAY, ticking=True)


def _runner(settings: Settings, engine: Engine, holder: str, clock: Clock) -> sched.Runner:
    return sched.Runner(settings, engine, holder, clock, sched.Options())


def test_a_crawl_queued_by_an_admin_runs_and_ends_done(
    tmp_path: Path,
    clock: Clock,
    sqlite_engine: Engine,
    sqlite_url: str,
    http_server: LoopbackHTTPServer,
) -> None:
    settings = _settings(tmp_path, sqlite_url)
    source_id = _source(sqlite_engine, http_server.add("/agenda.ics", AGENDA))
    with session_scope(sqlite_engine) as session:
        session.add(CrawlRun(source_id=source_id, requested_by="admin", created_at=clock()))
    assert _runner(settings, sqlite_engine, "a", clock).run_queued_crawls() == 1
    [run] = _runs(sqlite_engine)
    assert (run.status, run.requested_by, run.error) == (RunStatus.done, "admin", None)
    source = _get(sqlite_engine, source_id)
    assert source.consecutive_failures == 0
    assert source.next_crawl_at is not None and source.next_crawl_at > clock() + timedelta(hours=5)
    assert _runner(settings, sqlite_engine, "a", clock).run_queued_crawls() == 0


def test_a_hanging_crawl_is_killed_at_its_limit_recorded_failed_and_backed_off(
    tmp_path: Path,
    clock: Clock,
    sqlite_engine: Engine,
    sqlite_url: str,
    http_server: LoopbackHTTPServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = _settings(tmp_path, sqlite_url, crawl_timeout=4, download_timeout=120)
    source_id = _source(sqlite_engine, http_server.add("/slow.ics", AGENDA, delay=60))
    with caplog.at_level("INFO", logger="techagenda.scheduler"):
        assert _runner(settings, sqlite_engine, "a", clock).crawl_due() == 1
    [run] = _runs(sqlite_engine)
    assert run.status == RunStatus.failed
    assert "longer than 4 seconds" in (run.error or "")
    source = _get(sqlite_engine, source_id)
    assert source.consecutive_failures == 1
    assert source.next_crawl_at is not None
    assert source.next_crawl_at - clock() > timedelta(hours=11)  # 6h doubled
    assert "crawl due: 1 source" in caplog.text
    assert f"source {source_id} failed 1 time, next try in 12h" in caplog.text


def test_two_schedulers_on_one_database_crawl_a_due_source_once(
    tmp_path: Path, clock: Clock, engine: Engine, db_url: str, http_server: LoopbackHTTPServer
) -> None:
    settings = _settings(tmp_path, db_url)
    source_id = _source(engine, http_server.add("/agenda.ics", AGENDA))
    runners = [_runner(settings, engine, holder, clock) for holder in ("a", "b")]
    barrier = threading.Barrier(2)
    crawled: list[int] = []

    def fire(runner: sched.Runner) -> None:
        barrier.wait()
        crawled.append(runner.crawl_due())

    threads = [threading.Thread(target=fire, args=(r,)) for r in runners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert sorted(crawled) == [0, 1]
    [run] = _runs(engine)
    assert (run.source_id, run.status) == (source_id, RunStatus.done)
    assert runners[0].crawl_due() + runners[1].crawl_due() == 0  # not due again for 6 hours


def test_a_queued_crawl_waits_while_the_cli_crawls_the_same_source(
    tmp_path: Path, clock: Clock, sqlite_engine: Engine, sqlite_url: str
) -> None:
    settings = _settings(tmp_path, sqlite_url)
    source_id = _source(sqlite_engine, "http://127.0.0.1:9/agenda.ics")
    with session_scope(sqlite_engine) as session:
        session.add(CrawlRun(source_id=source_id, requested_by="admin", created_at=clock()))
    hand_crawl = lease(
        sqlite_engine,
        crawl_lock_name(source_id),
        holder="cli",
        ttl=timedelta(minutes=5),
        now=clock(),
    )
    with hand_crawl as held:
        assert held
        assert _runner(settings, sqlite_engine, "a", clock).run_queued_crawls() == 0
    [run] = _runs(sqlite_engine)
    assert run.status == RunStatus.queued


def test_due_sources_are_crawled_together_in_one_run_each_with_its_outcome(
    tmp_path: Path,
    clock: Clock,
    sqlite_engine: Engine,
    sqlite_url: str,
    http_server: LoopbackHTTPServer,
) -> None:
    settings = _settings(tmp_path, sqlite_url)
    good = _source(sqlite_engine, http_server.add("/agenda.ics", AGENDA))
    broken = _source(sqlite_engine, http_server.add("/broken.ics", b"", status=404))
    runner = _runner(settings, sqlite_engine, "solo", clock)
    assert runner.crawl_due() == 2
    [run] = _runs(sqlite_engine)  # one child process for both
    assert (run.source_id, run.status, run.stats["sources"]) == (None, RunStatus.done, 2)
    ok, failed = _get(sqlite_engine, good), _get(sqlite_engine, broken)
    assert (ok.consecutive_failures, failed.consecutive_failures) == (0, 1)
    assert ok.next_crawl_at is not None and failed.next_crawl_at is not None
    assert failed.next_crawl_at - ok.next_crawl_at > timedelta(hours=5)  # backed off to 12 h
    assert runner.crawl_due() == 0
