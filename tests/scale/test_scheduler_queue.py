"""With REDIS_URL the scheduler only enqueues due sources; crawler workers crawl them."""

from __future__ import annotations

from pathlib import Path

import redis
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

import scheduler as sched
from aggregator.models import CrawlRun, Source, SourceState, utcnow
from aggregator.settings import Settings
from crawlers.queue import run_worker
from tests.support.httpserver import LoopbackHTTPServer

AGENDA = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Openlab Aix//Agenda//FR
BEGIN:VEVENT
UID:atelier-arduino-2026-12-09@openlab-aix.fr
DTSTAMP:20261120T090000Z
DTSTART;TZID=Europe/Paris:20261209T183000
DTEND;TZID=Europe/Paris:20261209T210000
SUMMARY:Atelier Arduino : capteurs et domotique
LOCATION:Openlab\\, 12 rue du Bon Pasteur\\, 13100 Aix-en-Provence
END:VEVENT
END:VCALENDAR
"""


def test_the_scheduler_queues_due_sources_once_and_a_worker_crawls_them(
    tmp_path: Path,
    settings: Settings,
    sqlite_engine: Engine,
    http_server: LoopbackHTTPServer,
    redis_queue: tuple[str, str],
) -> None:
    url, queue = redis_queue
    conf = settings.model_copy(update={"redis_url": url})
    with Session(sqlite_engine) as session:
        rows = [
            Source(
                name="Openlab",
                url=http_server.add("/openlab.ics", AGENDA),
                state=SourceState.approved,
            ),
            Source(
                name="Fab Lab",
                url=http_server.add("/fablab.ics", AGENDA),
                state=SourceState.approved,
            ),
        ]
        session.add_all(rows)
        session.commit()
        ids = [row.id for row in rows]
    runner = sched.Runner(conf, sqlite_engine, "a", utcnow, sched.Options(crawl_queue=queue))

    assert runner.crawl_due() == 2
    assert runner.crawl_due() == 0  # claimed: not queued again while waiting
    client = redis.Redis.from_url(url)
    assert [int(v) for v in client.lrange(queue, 0, -1)] == ids
    assert http_server.hits("/openlab.ics") == 0  # the scheduler crawled nothing itself

    assert run_worker(conf, idle_timeout=1, queue=queue) == 2
    assert http_server.hits("/openlab.ics") == 1 and http_server.hits("/fablab.ics") == 1
    with Session(sqlite_engine) as session:
        runs = session.exec(select(CrawlRun)).all()
        assert sorted(r.source_id or 0 for r in runs) == sorted(i or 0 for i in ids)
        assert {r.requested_by for r in runs} == {"worker"}
        for source_id in ids:
            source = session.get(Source, source_id)
            assert source is not None and source.last_success_at is not None
    assert runner.crawl_due() == 0  # crawled: next crawl in six hours
