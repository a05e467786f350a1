"""One health policy whoever crawls: a failing source is flagged the same way from the
command line, the scheduler's job and a shared-queue worker (all through
``aggregator.service.crawl``), with the same failure count and the same backoff."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

import scheduler as sched
from aggregator.db import make_engine, session_scope, upgrade
from aggregator.models import CrawlRun, Source, SourceState
from aggregator.settings import Settings, load_settings
from cli import main
from crawlers.queue import enqueue_sources, run_worker
from tests.support.clock import Clock
from tests.support.httpserver import LoopbackHTTPServer

WEDNESDAY = datetime(2026, 12, 2, 14, 0, tzinfo=UTC)


def _redis_url() -> str:
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis at {url} does not answer but CI=true")
        pytest.skip(f"Redis at {url} does not answer")
    return url


def _crawl_from_the_cli(settings: Settings) -> None:
    assert main(["crawl"]) in (0, 5)


def _crawl_from_the_scheduler(settings: Settings) -> None:
    runner = sched.Runner(
        settings, make_engine(settings.db_url), "sched", Clock(WEDNESDAY, ticking=True),
        sched.options_from(settings),
    )  # fmt: skip
    assert runner.crawl_due() == 1


def _crawl_from_a_worker(settings: Settings) -> None:
    settings = settings.model_copy(update={"redis_url": _redis_url()})
    queue = f"techagenda:test:{uuid.uuid4().hex}"
    with Session(make_engine(settings.db_url)) as session:
        ids = [s.id for s in session.exec(select(Source)) if s.id is not None]
    enqueue_sources(settings, ids, queue=queue)
    assert run_worker(settings, idle_timeout=1, queue=queue) == 1


ENTRY_POINTS = {
    "cli": _crawl_from_the_cli,
    "scheduler": _crawl_from_the_scheduler,
    "worker": _crawl_from_a_worker,
}


@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
def test_a_failing_source_is_flagged_the_same_way_from_every_entry_point(
    entry: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    http_server: LoopbackHTTPServer,
) -> None:
    db_url = f"sqlite:///{tmp_path / 'techagenda.db'}"
    env = {
        "DATABASE_URL": db_url,
        "DATA_DIR": str(tmp_path / "var"),
        "MAIL_URL": f"file://{tmp_path / 'outbox'}",
        "SECRET_KEY": "test-secret-key",
        "FETCH_ALLOWLIST": "127.0.0.0/8,::1",
        "CRAWL_FLAG_AFTER": "1",
        "TECHAGENDA_CONFIG": str(tmp_path / "absent.toml"),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    engine: Engine = make_engine(db_url)
    upgrade(engine)
    url = http_server.add("/agenda.ics", b"Internal Server Error", status=500)
    with session_scope(engine) as session:
        session.add(Source(name="Agenda en panne", url=url, state=SourceState.approved))

    ENTRY_POINTS[entry](settings)

    with Session(engine) as session:
        source = session.exec(select(Source)).one()
        run = session.exec(select(CrawlRun)).one()
    engine.dispose()
    assert source.flagged, entry
    assert source.consecutive_failures == 1, entry
    assert "500" in (source.last_error or ""), entry
    assert source.next_crawl_at is not None and run.created_at is not None
    waited = source.next_crawl_at - run.created_at
    assert timedelta(hours=12) <= waited < timedelta(hours=12, minutes=5), (entry, waited)
