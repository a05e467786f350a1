"""The stages with I/O: a crawl over loopback, the digest to an SMTP sink, the web under load.

Each builds a fresh SQLite store in the work folder, fills it (not timed), then times the
stage. Every server listens on 127.0.0.1.
"""

from __future__ import annotations

import random
import statistics
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.generate import NOW, TOWNS, build_corpus, serve_corpus, write_corpus
from benchmarks.harness import Clock, Row

TOPICS = ("ia-data", "web-mobile", "startups-business", "fablab-hardware", "cybersecurite",
          "cloud-devops", "design-ux", "jeu-video", "recherche-formation", "emploi-recrutement")


def _store(workdir: str, name: str) -> tuple[Any, Any]:
    """(engine, settings) of a fresh migrated SQLite store under ``workdir``."""
    from aggregator.db import make_engine, upgrade
    from aggregator.settings import load_settings

    folder = Path(workdir) / f"{name}-{uuid.uuid4().hex[:8]}"
    folder.mkdir(parents=True)
    db_url = f"sqlite:///{folder / 'techagenda.db'}"
    engine = make_engine(db_url)
    upgrade(engine)
    settings = load_settings(data_dir=folder / "var", database_url=db_url, secret_key="bench",
                             fetch_allowlist="127.0.0.0/8", crawl_timeout=600)
    return engine, settings


HOSTS = 8  # the "separate sites" first crawl: the corpus on 127.0.0.1 … 127.0.0.8


def crawl_stage(sources: int, per_source: int, seed: int, workdir: str) -> list[Row]:
    """The scheduler's crawls over the corpus served on loopback: its long-lived crawler
    process started, a first crawl, a re-crawl with nothing changed; then one re-crawl in a
    one-shot process (``techagenda crawl``'s way) for comparison; then a first crawl of the
    same corpus spread over ``HOSTS`` loopback addresses (each its own politeness slot, as
    separate sites are) into a fresh store."""
    from crawlers.resident import ResidentCrawler
    from crawlers.run import run_crawl

    corpus = build_corpus(sources, per_source, seed=seed)
    folder = Path(workdir) / f"corpus-{uuid.uuid4().hex[:8]}"
    write_corpus(corpus, folder)
    servers = [serve_corpus(folder, f"127.0.0.{n + 1}") for n in range(HOSTS)]
    try:
        engine, settings = _crawl_store(workdir, corpus, [servers[0]])
        size = f"{sources}x{per_source}"
        with ResidentCrawler(settings) as crawler:
            with Clock() as boot:
                crawler.start()
            with Clock() as first:
                run1 = crawler(settings, timeout=600, now=NOW)
            with Clock() as again:
                run2 = crawler(settings, timeout=600, now=NOW)
        with Clock() as oneshot:
            run3 = run_crawl(settings, timeout=600, now=NOW)
        engine.dispose()
        spread, spread_settings = _crawl_store(workdir, corpus, servers)
        with ResidentCrawler(spread_settings) as crawler:
            crawler.start()
            with Clock() as hosts:
                run4 = crawler(spread_settings, timeout=600, now=NOW)
        spread.dispose()
        found = int(run1.stats.get("found", 0))
        rows = [boot.row("crawl: crawler process start", 1, "process", size="",
                         note="once per scheduler (crawlers/resident.py); a one-shot crawl pays it"
                              " every time"),
                first.row("crawl: first", found, "events", size=size,
                          note=f"one host; {_crawl_note(run1)}"),
                again.row("crawl: re-crawl unchanged", sources, "sources", size=size,
                          note=f"{run2.status}; {run2.stats.get('not_modified', 0)} answered 304, "
                               f"{run2.stats.get('found', 0)} events re-read"),
                oneshot.row("crawl: re-crawl, one-shot process", sources, "sources", size=size,
                            note=f"{run3.status}; {run3.stats.get('not_modified', 0)} answered 304;"
                                 " process start + Scrapy start included"),
                hosts.row(f"crawl: first, {HOSTS} hosts", int(run4.stats.get("found", 0)), "events",
                          size=size, note=f"{HOSTS} loopback hosts; {_crawl_note(run4)}")]
        rows[1]["sources_per_second"] = round(sources / first.seconds, 1)
        rows[2]["speedup"] = round(first.seconds / max(again.seconds, 1e-9), 1)
        rows[2]["note"] += f"; {rows[2]['speedup']}x faster than the first crawl"
        return rows
    finally:
        for server in servers:
            server.stop()


def _crawl_store(workdir: str, corpus: Any, servers: list[Any]) -> tuple[Any, Any]:
    """A fresh store whose approved sources are the corpus's, dealt over ``servers``."""
    from sqlmodel import Session

    from aggregator.models import Source, SourceState

    engine, settings = _store(workdir, "crawl")
    with Session(engine) as session:
        for n, spec in enumerate(corpus.sources):
            session.add(Source(name=spec.name, url=servers[n % len(servers)].url(spec.path),
                               language=spec.language, state=SourceState.approved))
        session.commit()
    return engine, settings


def _crawl_note(run: Any) -> str:
    return (f"{run.status}; {run.stats.get('fetched', 0)} fetched, {run.stats.get('failed', 0)} "
            f"failed, {run.stats.get('new', 0)} new, {run.stats.get('merged', 0)} merged, "
            f"{run.stats.get('bytes', 0):,} bytes")


def _event_rows(count: int, first: date, days: int, seed: int) -> list[dict[str, Any]]:
    """Published events spread over ``days`` from ``first`` (for the digest and the web)."""
    from zoneinfo import ZoneInfo

    from aggregator.titles import title_key

    tz = ZoneInfo("Europe/Paris")
    corpus = build_corpus(max(1, count // 25), 25, seed=seed, duplicate_rate=0.0)
    rng = random.Random(seed)
    rows = []
    for planned in list(corpus.events.values())[:count]:
        day = first + timedelta(days=rng.randrange(days))
        all_day = rng.random() < 0.05
        start = None if all_day else datetime(day.year, day.month, day.day, rng.choice((9, 14, 18, 19)),
                                              rng.choice((0, 30)), tzinfo=tz).astimezone(UTC)
        town = planned.town
        rows.append({
            "title": planned.title, "description_text": planned.description,
            "description_html": f"<p>{planned.description}</p>",
            "start": start or datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC),
            "end": (start + timedelta(hours=2)) if start else None, "all_day": all_day,
            "start_date": day, "end_date": day, "timezone": "Europe/Paris", "status": "scheduled",
            "venue": planned.venue[0] if planned.venue else None,
            "address": planned.venue[1] if planned.venue else None,
            "city": town[0] if town else None, "postcode": town[1] if town else None,
            "insee": town[2] if town else None, "latitude": town[3] if town else None,
            "longitude": town[4] if town else None, "online": town is None, "in_region": town is not None,
            "url": f"https://site.example.org/e/{planned.key}", "organizer": "Bench",
            "language": planned.language, "topics": rng.sample(TOPICS, rng.choice((1, 1, 2))),
            "relevance": 2.0, "hidden": False, "title_key": title_key(planned.title),
            "content_hash": f"h{planned.key}", "field_sources": {}, "merge_notes": [],
            "created_at": NOW - timedelta(days=3), "updated_at": NOW - timedelta(days=3),
        })
    return rows


def _insert(engine: Any, model: Any, rows: list[dict[str, Any]]) -> None:
    import sqlalchemy as sa

    with engine.begin() as conn:
        for i in range(0, len(rows), 2000):
            conn.execute(sa.insert(model.__table__), rows[i : i + 2000])


def digest_stage(subscribers: int, seed: int, workdir: str, events: int = 120,
                 processes: int = 2) -> list[Row]:
    """``send_digest`` for ``subscribers`` readers (selection + rendering + SMTP delivery)."""
    from aggregator.models import Event, Subscriber
    from benchmarks.sinks import SMTPSink
    from newsletter.send import send_digest

    engine, settings = _store(workdir, "digest")
    _insert(engine, Event, _event_rows(events, date(2026, 11, 30), 14, seed))
    rng = random.Random(seed)
    insees = [t[2] for t in TOWNS]
    _insert(engine, Subscriber, [
        {"email": f"reader{i}@bench.example.org", "status": "confirmed",
         "language": "en" if rng.random() < 0.25 else "fr",
         "topics": rng.sample(TOPICS, rng.choice((0, 1, 2, 3))),
         "towns": rng.sample(insees, rng.choice((0, 0, 1, 2))), "include_online": rng.random() < 0.8,
         "consent_at": NOW, "consent_origin": "bench", "confirmed_at": NOW, "hard_bounces": 0,
         "token_version": 0, "topic_weights": {}, "created_at": NOW}
        for i in range(subscribers)])
    import resource

    with SMTPSink() as sink:
        # four connections in flight in each of two sending processes, as a deployment
        # sending to a relay from a two-core machine would set
        live = settings.model_copy(update={"mail_url": sink.url, "smtp_connections": 4,
                                           "send_processes": processes})
        before = _cpu_now(resource)
        with Clock() as clock:
            report = send_digest(engine, live, week="2026-W49", now=NOW)
        after = _cpu_now(resource)
        received = sink.received
    # the senders' own CPU (all their threads, the helper processes reaped by the send;
    # the sink is another process, reaped later): what the shared machine's load does not
    # inflate as much as the wall clock
    cpu = after - before
    engine.dispose()
    import sqlalchemy as sa

    from aggregator.models import Delivery

    with engine.connect() as conn:
        table = Delivery.__table__  # type: ignore[attr-defined]
        lengths = [len(ids or []) for (ids,) in conn.execute(sa.select(table.c.event_ids))]
    per = sum(lengths) / max(1, len(lengths))
    row = clock.row("digest: select+render+SMTP", report.sent, "messages", size=subscribers,
                    note=f"{received} received by the sink, {per:.0f} events per digest on average "
                         f"({events} in the two weeks), {report.skipped} with nothing to read, "
                         f"{report.failed} failed; {report.processes} sending processes x "
                         f"{live.smtp_connections} SMTP connections, sender CPU {1000 * cpu / max(1, report.sent):.2f} ms a message")
    row["received"] = received
    row["cpu_ms_per_message"] = round(1000 * cpu / max(1, report.sent), 2)
    engine.dispose()
    return [row]


def _cpu_now(resource: Any) -> float:
    """CPU seconds of this process and of its children reaped so far."""
    own, reaped = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + reaped.ru_utime + reaped.ru_stime


def _load(url: str, path: str, requests: int, clients: int, seconds: float,
          timeout: float = 20.0) -> dict[str, Any]:
    """``requests`` GETs from ``clients`` threads, none started after ``seconds``."""
    import httpx

    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    remaining = [requests]

    def worker() -> None:
        nonlocal errors
        with httpx.Client(base_url=url, timeout=30) as client:
            while time.monotonic() < deadline:
                with lock:
                    if remaining[0] <= 0:
                        return
                    remaining[0] -= 1
                t0 = time.perf_counter()
                try:
                    ok = client.get(path, timeout=timeout).status_code == 200
                except httpx.HTTPError:
                    ok = False
                spent = time.perf_counter() - t0
                with lock:
                    latencies.append(spent)
                    errors += not ok

    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        for _ in range(clients):
            pool.submit(worker)
    wall = time.perf_counter() - t0
    ordered = sorted(latencies) or [0.0]
    return {"count": len(latencies), "errors": errors, "wall": wall,
            "p50_ms": round(statistics.median(ordered) * 1000, 1),
            "p95_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1000, 1)}


async def _get(reader: Any, writer: Any, host: str, path: str) -> int:
    """One keep-alive ``GET`` on an open connection; the status (body read, then dropped)."""
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: */*\r\n\r\n".encode())
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    fields = dict((k.strip().lower(), v.strip()) for k, _, v in (x.partition(":") for x in lines[1:] if x))
    if "content-length" in fields:
        await reader.readexactly(int(fields["content-length"]))
    elif fields.get("transfer-encoding") == "chunked":
        while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
            await reader.readexactly(size + 2)
        await reader.readuntil(b"\r\n")
    return status


def _load_raw(url: str, path: str, requests: int, clients: int, seconds: float,
              timeout: float = 20.0) -> dict[str, Any]:
    """``requests`` GETs over ``clients`` keep-alive connections from one asyncio loop, none
    started after ``seconds``: a load generator that spends ~0.1 ms of CPU a request where
    an httpx client in a thread spends ~3 ms, so the server is measured, not the client."""
    import asyncio
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    latencies: list[float] = []
    errors = 0
    remaining = [requests]

    async def client() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while time.monotonic() < deadline and remaining[0] > 0:
                remaining[0] -= 1
                t0 = time.perf_counter()
                try:
                    ok = await asyncio.wait_for(_get(reader, writer, host, path), timeout) == 200
                except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
                    ok = False
                latencies.append(time.perf_counter() - t0)
                errors += not ok
                if not ok:
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, port)
        finally:
            writer.close()

    async def run() -> None:
        await asyncio.gather(*(client() for _ in range(clients)))

    deadline = time.monotonic() + seconds
    t0 = time.perf_counter()
    asyncio.run(run())
    wall = time.perf_counter() - t0
    ordered = sorted(latencies) or [0.0]
    return {"count": len(latencies), "errors": errors, "wall": wall,
            "p50_ms": round(statistics.median(ordered) * 1000, 1),
            "p95_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1000, 1)}


def _cpu_seconds(root: int) -> float | None:
    """CPU time (user + system) of process ``root`` and its descendants, from /proc."""
    import os

    try:
        stats = {}
        for name in os.listdir("/proc"):
            if name.isdigit():
                try:
                    with open(f"/proc/{name}/stat", encoding="ascii") as f:
                        fields = f.read().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                stats[int(name)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    except OSError:
        return None
    tree, grown = {root}, True
    while grown:
        more = {pid for pid, (ppid, _) in stats.items() if ppid in tree} - tree
        tree |= more
        grown = bool(more)
    return sum(stats[p][1] for p in tree if p in stats) / os.sysconf("SC_CLK_TCK")


def web_stage(events: int, requests: int, clients: int, seed: int, workdir: str,
              seconds: float = 25.0, paths: tuple[str, ...] = ("/", "/api/events", "/feed.ics"),
              workers: int = 0, generator: str = "raw") -> list[Row]:
    """Each path alone (one client), then under ``clients`` concurrent clients; ``workers``
    uvicorn processes (0: one per core, as `techagenda serve`). ``generator`` "raw": one
    asyncio loop holding ``clients`` keep-alive connections; "httpx": a thread with an
    httpx client per client (the generator of session 3, ~30x more CPU a request)."""
    from aggregator.models import Event
    from benchmarks.sinks import WebServer
    from web.app import default_workers

    workers = workers or default_workers()

    load = _load_raw if generator == "raw" else _load
    engine, settings = _store(workdir, "web")
    _insert(engine, Event, _event_rows(events, NOW.date() + timedelta(days=1), 59, seed))
    engine.dispose()
    rows = []
    with WebServer(settings.db_url, str(settings.data_dir), NOW, workers=workers) as web:
        for path in paths:
            _load_raw(web.url, path, clients, clients, 60, timeout=60)  # warm every worker
            alone = load(web.url, path, 3, 1, 60, timeout=60)
            server_before, mine_before = _cpu_seconds(web.pid), time.process_time()
            with Clock() as clock:
                result = load(web.url, path, requests, clients, seconds)
            server_after, mine = _cpu_seconds(web.pid), time.process_time() - mine_before
            count = max(1, result["count"])
            cpu = ""
            if server_before is not None and server_after is not None:
                cpu = (f"; CPU a request: server {(server_after - server_before) * 1000 / count:.2f} ms, "
                       f"load generator {mine * 1000 / count:.2f} ms")
            row = clock.row(f"web GET {path}", result["count"], "requests", size=f"{events} events",
                            note=f"p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms, "
                                 f"{clients} clients ({generator}), {workers} workers, "
                                 f"{result['errors']} errors; alone p50 {alone['p50_ms']} ms{cpu}")
            row.update(p50_ms=result["p50_ms"], p95_ms=result["p95_ms"], errors=result["errors"],
                       alone_p50_ms=alone["p50_ms"], generator=generator)
            row["peak_mb"] = None  # the server's memory is another process's
            row["grew_mb"] = None
            rows.append(row)
    return rows
