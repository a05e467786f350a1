"""Two crawler workers share one source queue and one page cache (Redis + PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from aggregator.models import CrawlRun, Event, EventLink, RunStatus, SourceFetch
from aggregator.settings import Settings
from crawlers.queue import enqueue_sources, waiting_key
from tests.scale import workers
from tests.scale.site import add_sources, serve_site
from tests.support.httpserver import LoopbackHTTPServer

# four agendas whose listings overlap: each event page is linked from one to three of them
LISTINGS = {
    "cantine": [0, 1, 2, 3, 4, 5],
    "plateforme": [3, 4, 5, 6, 7, 8],
    "fablab": [6, 7, 8, 9, 10, 11],
    "la-coque": [9, 10, 11, 0, 1],
}


@pytest.fixture
def shared(settings: Settings, pg_url: str, redis_queue: tuple[str, str]) -> tuple[Settings, str]:
    url, queue = redis_queue
    conf = settings.model_copy(
        update={"database_url": pg_url, "redis_url": url, "crawl_timeout": 120}
    )
    return conf, queue


@pytest.mark.postgres
@pytest.mark.slow
def test_two_workers_fetch_no_page_twice_and_make_no_duplicate_event(
    shared: tuple[Settings, str], pg_engine: Engine, http_server: LoopbackHTTPServer
) -> None:
    settings, queue = shared
    event_paths = serve_site(http_server, LISTINGS, delay=0.2)
    ids = add_sources(pg_engine, http_server, list(LISTINGS))
    assert enqueue_sources(settings, ids, queue=queue) == 4

    children = [workers.start(settings, "crawl", queue, "2") for _ in range(2)]
    done = workers.results(children, timeout=240)

    assert sum(int(r["sources"]) for r in done) == 4
    hits = {path: http_server.hits(path) for path in event_paths}
    assert hits == dict.fromkeys(event_paths, 1)
    for name in LISTINGS:
        assert http_server.hits(f"/agendas/{name}.html") == 1
    assert http_server.hits("/robots.txt") == 1
    with Session(pg_engine) as session:
        runs = session.exec(select(CrawlRun)).all()
        assert sorted(r.source_id or 0 for r in runs) == sorted(ids)
        assert {r.status for r in runs} == {RunStatus.done}
        fetches = session.exec(select(SourceFetch)).all()
        assert [f.error for f in fetches] == [None] * 4
        assert sum(f.events_found for f in fetches) == 23  # each listing read all its pages
        assert session.exec(select(func.count()).select_from(Event)).one() == 12
        assert session.exec(select(func.count()).select_from(EventLink)).one() == 23


def test_a_source_is_queued_once_however_often_it_is_enqueued(
    shared: tuple[Settings, str],
) -> None:
    import redis

    settings, queue = shared
    assert enqueue_sources(settings, [3, 1, 3], queue=queue) == 2
    assert enqueue_sources(settings, [1, 2], queue=queue) == 3
    client = redis.Redis.from_url(settings.redis_url)
    assert client.lrange(queue, 0, -1) == [b"3", b"1", b"2"]
    assert client.smembers(waiting_key(queue)) == {b"1", b"2", b"3"}
