"""SIGKILL a crawl at a random moment (the Scrapy child, the parent, or both), then let the
scheduler's next tick run: the abandoned run is failed, the next crawl completes, and the
store holds every event once, with one link each and no half-written row."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

import scheduler as sched
from aggregator.db import make_engine, upgrade
from aggregator.models import CrawlRun, Event, EventLink, RunStatus, SourceFetch, utcnow
from tests.hardening.helpers import (
    add_source,
    big_calendar,
    count,
    duplicate_events,
    duplicate_links,
    hardening_settings,
    orphans,
    python_child,
)
from tests.support.httpserver import LoopbackHTTPServer

EVENTS = 300
KILLS = ["crawler", "parent", "both"]


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting to be reaped counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def _killpg(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _crawler_pid(engine: Engine, deadline: float) -> int | None:
    """The pid of the Scrapy child, once the parent has recorded it."""
    while time.monotonic() < deadline:
        with Session(engine) as session:
            run = session.exec(select(CrawlRun)).first()
            if run is not None and run.pid:
                return run.pid
        time.sleep(0.05)
    return None


def _runs(engine: Engine) -> list[CrawlRun]:
    with Session(engine) as session:
        return list(session.exec(select(CrawlRun).order_by(col(CrawlRun.id))))


@pytest.mark.slow
@pytest.mark.parametrize("seed", [21, 22, 23])
def test_a_crawl_killed_at_a_random_moment_is_failed_then_the_next_tick_completes_it(
    tmp_path: Path, sqlite_url: str, http_server: LoopbackHTTPServer, seed: int
) -> None:
    rng = random.Random(seed)
    engine = make_engine(sqlite_url)
    upgrade(engine)
    feed = http_server.add(
        "/agenda.ics", big_calendar(EVENTS), headers={"Content-Type": "text/calendar"}
    )
    source_id = add_source(engine, feed)
    data_dir = tmp_path / "var"
    parent = python_child("tests.hardening.crawl_child", sqlite_url, str(data_dir))
    crawler = _crawler_pid(engine, time.monotonic() + 30)
    assert crawler is not None, "the crawl never started its Scrapy child"
    how = KILLS[seed % len(KILLS)]
    killed_at = rng.uniform(0.2, 3.0)  # start-up, fetch, parse or ingest
    time.sleep(killed_at)
    try:
        if how in ("parent", "both"):
            parent.send_signal(signal.SIGKILL)
        if how in ("crawler", "both"):
            _killpg(crawler)
        parent.wait(timeout=60)
        deadline = time.monotonic() + 60
        while _alive(crawler) and time.monotonic() < deadline:  # an orphan crawl finishes
            time.sleep(0.05)
    finally:
        _killpg(crawler)

    # Right after the kill: all of the source's events or none, never a part.
    events = count(engine, Event)
    assert events in (0, EVENTS)
    assert count(engine, EventLink) == events
    assert count(engine, SourceFetch) == (1 if events else 0)  # written with the events
    first = _runs(engine)[0]
    print(f"seed {seed}: killed the {how} at {killed_at:.2f}s, {events} events stored")
    assert first.status in (RunStatus.running, RunStatus.failed, RunStatus.done)

    # The next scheduler tick, well after the dead run's time limit.
    settings = hardening_settings(tmp_path, sqlite_url, crawl_timeout=60, crawl_interval="6h")
    later = utcnow() + timedelta(hours=7)
    runner = sched.Runner(settings, engine, "restarted", lambda: later, sched.Options())
    assert runner.crawl_due() == 1

    runs = _runs(engine)
    assert all(run.status in (RunStatus.done, RunStatus.failed) for run in runs)
    if first.status == RunStatus.running:
        assert runs[0].status == RunStatus.failed
        assert "abandoned" in (runs[0].error or "")
    assert runs[-1].status == RunStatus.done, runs[-1].error
    assert count(engine, Event) == EVENTS
    assert count(engine, EventLink) == EVENTS
    assert duplicate_links(engine) == 0
    assert duplicate_events(engine) == 0
    assert orphans(engine) == (0, 0)
    with Session(engine) as session:
        assert all(e.title and e.start and e.content_hash for e in session.exec(select(Event)))
    assert source_id
    engine.dispose()
