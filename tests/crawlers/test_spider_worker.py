"""The shared crawl queue: sources put on Redis are each crawled once by a worker."""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from aggregator.errors import ConfigError
from aggregator.models import CrawlRun, RunStatus, Source, SourceState
from aggregator.settings import Settings
from crawlers.queue import enqueue_sources, run_worker
from tests.support.httpserver import LoopbackHTTPServer


@pytest.fixture
def redis_settings(settings: Settings, sqlite_engine: Engine) -> Settings:
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis at {url} does not answer but CI=true")
        pytest.skip(f"Redis at {url} does not answer")
    return settings.model_copy(update={"redis_url": url})


def test_queued_sources_are_each_crawled_once_by_a_worker(
    redis_settings: Settings, sqlite_engine: Engine, http_server: LoopbackHTTPServer
) -> None:
    ical = http_server.add(
        "/agenda.ics",
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n",
        content_type="text/calendar",
    )
    with Session(sqlite_engine) as session:
        rows = [
            Source(name="a", url=ical, state=SourceState.approved),
            Source(name="b", url=ical + "?b", state=SourceState.pending),
        ]
        session.add_all(rows)
        session.commit()
        ids = [row.id for row in rows if row.id is not None]
    queue = f"techagenda:test:{uuid.uuid4().hex}"
    assert enqueue_sources(redis_settings, [*ids, ids[0]], queue=queue) == 2

    assert run_worker(redis_settings, idle_timeout=1, queue=queue) == 2

    with Session(sqlite_engine) as session:
        runs = session.exec(select(CrawlRun)).all()
    assert sorted(r.source_id for r in runs if r.source_id) == sorted(ids)
    assert {(r.status, r.requested_by) for r in runs} == {(RunStatus.done, "worker")}
    assert http_server.hits("/agenda.ics") == 2


def test_the_worker_needs_redis_url(settings: Settings) -> None:
    with pytest.raises(ConfigError, match="REDIS_URL"):
        run_worker(settings.model_copy(update={"redis_url": ""}), idle_timeout=1)
