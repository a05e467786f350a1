"""The long-lived crawler process: several crawls in one Scrapy process, the same records as
one-shot crawls, a time limit that replaces the process, and the per-host head start."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from aggregator.models import Event, RunStatus, SourceFetch
from aggregator.settings import Settings
from crawlers.resident import ResidentCrawler
from crawlers.throttle import LATENCY_FILE, load_latencies, start_delay_for
from tests.crawlers.test_spider_crawl import add_sources, fetches_by_source
from tests.support.httpserver import LoopbackHTTPServer

DATA = Path(__file__).parents[1] / "data"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.fixture
def crawl_settings(settings: Settings, sqlite_engine: Engine) -> Settings:
    return settings.model_copy(update={"download_timeout": 2})


def test_two_crawls_share_one_process_and_the_second_reads_nothing_again(
    crawl_settings: Settings, sqlite_engine: Engine, http_server: LoopbackHTTPServer
) -> None:
    http_server.serve_dir(DATA / "ical", prefix="/ical/")
    http_server.serve_dir(DATA / "feeds", prefix="/feeds/")
    ids = add_sources(
        sqlite_engine,
        {
            "meetup": http_server.url("/ical/meetup-marseille-python.ics"),
            "libre": http_server.url("/feeds/agenda-du-libre-paca.rss"),
        },
    )
    with ResidentCrawler(crawl_settings) as crawler:
        first = crawler(crawl_settings, timeout=120, now=NOW)
        pid = crawler.pid
        second = crawler(crawl_settings, timeout=120, now=NOW + timedelta(hours=6))
        assert crawler.pid == pid is not None
        assert crawler.started == 1

    assert first.status == RunStatus.done, first.error
    assert second.status == RunStatus.done, second.error
    assert first.stats["fetched"] == 2 and first.stats["new"] > 0
    assert second.stats["not_modified"] == 2 and second.stats["new"] == 0
    seen = fetches_by_source(sqlite_engine, second.id or 0)
    assert {seen[i].not_modified for i in ids.values()} == {True}
    with Session(sqlite_engine) as session:
        assert session.exec(select(func.count()).select_from(Event)).one() == first.stats["new"]
    # each host's latency is kept for the next crawl process
    stored = load_latencies(Path(crawl_settings.data_dir) / LATENCY_FILE)
    assert "127.0.0.1" in stored and 0 <= stored["127.0.0.1"] < 2


def test_a_crawl_over_its_time_limit_is_stopped_and_the_next_one_gets_a_new_process(
    crawl_settings: Settings, sqlite_engine: Engine, http_server: LoopbackHTTPServer
) -> None:
    ical = (DATA / "ical" / "meetup-marseille-python.ics").read_bytes()
    http_server.add("/slow.ics", ical, content_type="text/calendar", delay=8)
    http_server.add("/fast.ics", ical, content_type="text/calendar")
    ids = add_sources(sqlite_engine, {"slow": http_server.url("/slow.ics")})
    slow = crawl_settings.model_copy(update={"download_timeout": 30})
    with ResidentCrawler(slow) as crawler:
        stopped = crawler(slow, source_id=ids["slow"], timeout=3, now=NOW)
        assert crawler.pid is None  # killed with its crawl
        fast = add_sources(sqlite_engine, {"fast": http_server.url("/fast.ics")})
        again = crawler(slow, source_id=fast["fast"], timeout=60, now=NOW)
        assert crawler.started == 2
    assert stopped.status == RunStatus.failed
    assert "3 seconds" in (stopped.error or "")
    assert again.status == RunStatus.done, again.error
    with Session(sqlite_engine) as session:
        rows = session.exec(select(SourceFetch).where(SourceFetch.crawl_run_id == again.id)).all()
        assert [r.source_id for r in rows] == [fast["fast"]] and rows[0].error is None


def test_the_process_is_replaced_after_max_runs(
    crawl_settings: Settings, sqlite_engine: Engine, http_server: LoopbackHTTPServer
) -> None:
    http_server.serve_dir(DATA / "ical", prefix="/ical/")
    add_sources(sqlite_engine, {"meetup": http_server.url("/ical/meetup-marseille-python.ics")})
    with ResidentCrawler(crawl_settings, max_runs=1) as crawler:
        runs = [crawler(crawl_settings, timeout=120, now=NOW + timedelta(hours=h)) for h in (0, 1)]
        assert crawler.started == 2
    assert [r.status for r in runs] == [RunStatus.done, RunStatus.done]


def test_a_known_host_starts_where_autothrottle_would_have_converged() -> None:
    assert start_delay_for(0.01, target=2.0, floor=0.0, ceiling=30.0) == pytest.approx(0.005)
    assert start_delay_for(0.01, target=2.0, floor=0.25, ceiling=30.0) == 0.25  # DOWNLOAD_DELAY
    assert start_delay_for(120.0, target=2.0, floor=0.0, ceiling=30.0) == 30.0


def test_unreadable_latency_files_give_nothing(tmp_path: Path) -> None:
    path = tmp_path / LATENCY_FILE
    assert load_latencies(path) == {}
    path.write_text("not json", encoding="utf-8")
    assert load_latencies(path) == {}
    path.write_text(json.dumps({"a.example": 0.2, "b.example": "x", "c.example": -1}))
    assert load_latencies(path) == {"a.example": 0.2}


def test_the_crawler_process_dies_with_its_parent(crawl_settings: Settings) -> None:
    env = {**os.environ, **crawl_settings.to_env()}
    code = (
        "import sys, time; from aggregator.settings import load_settings;"
        " from crawlers.resident import ResidentCrawler;"
        " c = ResidentCrawler(load_settings()); c.start(); print(c.pid, flush=True);"
        " time.sleep(120)"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert parent.stdout is not None
        resident = int(parent.stdout.readline())
        os.kill(resident, 0)  # it runs
        parent.kill()
        parent.wait()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _running(resident):
            time.sleep(0.1)
        assert not _running(resident)
    finally:
        if parent.poll() is None:
            parent.kill()


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
