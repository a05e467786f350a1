"""Throughput of crawler and sender workers on this machine (not a test; prints a table).

    TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/test \\
    .venv/bin/python -m tests.scale.measure [--sources 8] [--pages 30] [--subscribers 2000]

Crawl: ``--sources`` listing pages on a loopback server, each linking ``--pages`` event
pages (a third of them shared with the next listing), crawled by 1 then 2
``run_worker`` processes through one Redis queue into a fresh PostgreSQL schema;
events/s counts the events the sources listed (``SourceFetch.events_found``) over the
wall time from the first worker's start to the last one's exit.

Crawl iCal: ``--feeds`` iCalendar sources of ``--events`` events each (no followed
pages): the same measure when parsing and ingesting, not fetching, is the work.

Send: ``--subscribers`` confirmed readers and a two-event week, sent by 1, 2 and 4
``send_digest(worker=True)`` processes to a loopback SMTP server; messages/s is the
messages the server received over the same wall time (preparation included).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis
import sqlalchemy as sa
from sqlmodel import Session, func, select

from aggregator.db import make_engine, upgrade
from aggregator.models import Source, SourceFetch, SourceState
from aggregator.settings import Settings, load_settings
from crawlers.queue import enqueue_sources
from tests.newsletter.conftest import NOW, WEEK
from tests.scale import workers
from tests.scale.site import add_sources, ical_feed, serve_site
from tests.scale.test_send_workers import add_subscribers, seed_events
from tests.support.httpserver import LoopbackHTTPServer
from tests.support.smtpserver import LoopbackSMTPServer


@contextmanager
def fresh_schema(base: str) -> Iterator[str]:
    schema = f"m_{uuid.uuid4().hex[:10]}"
    admin = make_engine(base)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    url = f"{base}{sep}options=-csearch_path%3D{schema}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def base_settings(tmp: Path, db_url: str, **kw: object) -> Settings:
    return load_settings(
        data_dir=tmp / "var",
        database_url=db_url,
        mail_url=f"file://{tmp / 'outbox'}",
        secret_key="measure",
        fetch_allowlist="127.0.0.0/8,::1",
        **kw,
    )


def listings(sources: int, pages: int) -> dict[str, list[int]]:
    step = pages - pages // 3  # a third of each listing is shared with the next one
    return {f"agenda-{i}": list(range(i * step, i * step + pages)) for i in range(sources)}


def measure_crawl(base: str, redis_url: str, n: int, sources: int, pages: int) -> str:
    server = LoopbackHTTPServer()
    server.start()
    queue = f"techagenda:measure:{uuid.uuid4().hex[:8]}"
    try:
        with fresh_schema(base) as url, tempfile.TemporaryDirectory() as tmp:
            settings = base_settings(Path(tmp), url, redis_url=redis_url, crawl_timeout=600)
            event_paths = serve_site(server, listings(sources, pages))
            engine = make_engine(url)
            ids = add_sources(engine, server, list(listings(sources, pages)))
            enqueue_sources(settings, ids, queue=queue)
            started = time.perf_counter()
            children = [workers.start(settings, "crawl", queue, "2") for _ in range(n)]
            workers.results(children, timeout=1800)
            seconds = time.perf_counter() - started - 2  # the idle wait that ends a worker
            with Session(engine) as session:
                found = session.exec(select(func.sum(SourceFetch.events_found))).one() or 0
            engine.dispose()
            fetched = sum(server.hits(p) for p in event_paths) + sources
            return (
                f"| crawl | {n} | {found} events from {sources} sources, {fetched} pages "
                f"| {seconds:.1f} s | {found / seconds:.1f} events/s |"
            )
    finally:
        server.stop()
        _drop_keys(redis_url, queue)


def measure_feeds(base: str, redis_url: str, n: int, sources: int, events: int) -> str:
    server = LoopbackHTTPServer()
    server.start()
    queue = f"techagenda:measure:{uuid.uuid4().hex[:8]}"
    try:
        with fresh_schema(base) as url, tempfile.TemporaryDirectory() as tmp:
            settings = base_settings(Path(tmp), url, redis_url=redis_url, crawl_timeout=600)
            engine = make_engine(url)
            with Session(engine) as session:
                rows = [
                    Source(
                        name=f"Agenda {i}",
                        url=server.add(f"/agenda-{i}.ics", ical_feed(f"agenda-{i}", events)),
                        state=SourceState.approved,
                    )
                    for i in range(sources)
                ]
                session.add_all(rows)
                session.commit()
                ids = [row.id for row in rows if row.id is not None]
            enqueue_sources(settings, ids, queue=queue)
            started = time.perf_counter()
            children = [workers.start(settings, "crawl", queue, "2") for _ in range(n)]
            workers.results(children, timeout=1800)
            seconds = time.perf_counter() - started - 2
            with Session(engine) as session:
                found = session.exec(select(func.sum(SourceFetch.events_found))).one() or 0
            engine.dispose()
            return (
                f"| crawl iCal | {n} | {found} events from {sources} feeds "
                f"| {seconds:.1f} s | {found / seconds:.1f} events/s |"
            )
    finally:
        server.stop()
        _drop_keys(redis_url, queue)


def _drop_keys(redis_url: str, queue: str) -> None:
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{queue}*"))
    if keys:
        client.delete(*keys)
    client.close()


def measure_send(base: str, n: int, subscribers: int) -> str:
    smtp = LoopbackSMTPServer()
    smtp.start()
    try:
        with fresh_schema(base) as url, tempfile.TemporaryDirectory() as tmp:
            settings = base_settings(Path(tmp), url).model_copy(update={"mail_url": smtp.url})
            engine = make_engine(url)
            with Session(engine) as session:
                seed_events(session)
                session.commit()
            add_subscribers(engine, subscribers)
            engine.dispose()
            started = time.perf_counter()
            children = [workers.start(settings, "send", WEEK, NOW.isoformat()) for _ in range(n)]
            workers.results(children, timeout=1800)
            seconds = time.perf_counter() - started
            sent = len(smtp.messages)
            return f"| send | {n} | {sent} messages | {seconds:.1f} s | {sent / seconds:.1f} messages/s |"
    finally:
        smtp.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sources", type=int, default=8)
    parser.add_argument("--pages", type=int, default=30)
    parser.add_argument("--feeds", type=int, default=8, help="iCal sources")
    parser.add_argument("--events", type=int, default=250, help="events per iCal source")
    parser.add_argument("--subscribers", type=int, default=2000)
    parser.add_argument("--only", choices=["crawl", "feeds", "send"], default=None)
    args = parser.parse_args()
    base = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    redis_url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    print(f"cores: {os.cpu_count()}, load average at start: {os.getloadavg()[0]:.1f}")
    print("| what | workers | work | wall time | throughput |")
    print("|---|---|---|---|---|")
    if args.only in (None, "crawl"):
        for n in (1, 2):
            print(measure_crawl(base, redis_url, n, args.sources, args.pages), flush=True)
    if args.only in (None, "feeds"):
        for n in (1, 2):
            print(measure_feeds(base, redis_url, n, args.feeds, args.events), flush=True)
    if args.only in (None, "send"):
        for n in (1, 2, 4):
            print(measure_send(base, n, args.subscribers), flush=True)


if __name__ == "__main__":
    main()
