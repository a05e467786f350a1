"""A killed ``techagenda crawl`` takes its Scrapy child with it, and its crawl lease does
not block the source until it expires: a new crawl takes it over at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from sqlmodel import Session, select

from aggregator import locks, service
from aggregator.db import make_engine, session_scope, upgrade
from aggregator.models import CrawlRun, Lease, Source, SourceState
from tests.support.httpserver import LoopbackHTTPServer


def _wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return bool(condition())


def test_a_killed_crawl_leaves_no_child_and_no_lease_behind(
    tmp_path: Path, http_server: LoopbackHTTPServer
) -> None:
    db_url = f"sqlite:///{tmp_path / 'techagenda.db'}"
    engine = make_engine(db_url)
    upgrade(engine)
    slow = http_server.add("/agenda.ics", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", delay=60)
    with session_scope(engine) as session:
        source = Source(name="Agenda lent", url=slow, state=SourceState.approved)
        session.add(source)
        session.flush()
        assert source.id is not None
        source_id = source.id
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "DATA_DIR": str(tmp_path / "var"),
        "SECRET_KEY": "test-secret-key",
        "FETCH_ALLOWLIST": "127.0.0.0/8,::1",
        "CRAWL_TIMEOUT": "120",
        "DOWNLOAD_TIMEOUT": "120",
        "TECHAGENDA_CONFIG": str(tmp_path / "absent.toml"),
    }
    code = f"import sys, cli; sys.exit(cli.main(['crawl', '--source', '{source_id}']))"
    parent = subprocess.Popen(
        [sys.executable, "-c", code], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:

        def child_pid() -> int | None:
            with Session(engine) as session:
                run = session.exec(select(CrawlRun)).first()
                return run.pid if run is not None else None

        assert _wait_for(lambda: child_pid() is not None, 60), parent.stderr
        crawler = child_pid()
        assert crawler is not None and not locks.process_gone(crawler)
        assert _wait_for(lambda: http_server.hits("/agenda.ics") >= 1, 30)
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        assert _wait_for(lambda: locks.process_gone(crawler), 5), "the crawler outlived it"
    finally:
        if parent.poll() is None:
            parent.kill()
    with Session(engine) as session:
        lease = session.get(Lease, locks.crawl_lock_name(source_id))
        assert lease is not None and lease.acquired_at is not None
        dead_holder, moment = lease.holder, lease.acquired_at + timedelta(seconds=1)
    assert lease.expires_at > moment  # not expired: only the holder's death frees it
    assert not locks.holder_alive(dead_holder)
    me = locks.new_holder_id()
    assert service.take_crawl_lease(engine, source_id, me, ttl=timedelta(minutes=5), now=moment)
    assert locks.lease_holder(engine, locks.crawl_lock_name(source_id), now=moment) == me
    engine.dispose()


def test_a_lease_of_a_live_or_remote_holder_is_never_broken() -> None:
    assert locks.holder_alive(locks.new_holder_id())  # this very process
    assert locks.holder_alive("elsewhere.example:1:abcd1234", host="here.example")
    assert locks.holder_alive("not-a-holder-id")
