"""The generic spider end to end: a child Scrapy process crawls a loopback server into a real
database. Each crawl is a subprocess, so the cases are batched into few crawls: one crawl
holds healthy sources next to every kind of failure, and asserts the healthy ones landed.
"""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from aggregator.db import make_engine, upgrade
from aggregator.models import CrawlRun, Event, RunStatus, Source, SourceFetch, SourceState
from aggregator.settings import Settings
from crawlers.run import run_crawl
from tests.support.httpserver import LoopbackHTTPServer

DATA = Path(__file__).parents[1] / "data"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
ROBOTS = "User-agent: *\nDisallow: /private/\n"


def dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def add_sources(engine: Engine, urls: dict[str, str], **extra: object) -> dict[str, int]:
    """Create approved sources named by the keys; return their ids."""
    ids: dict[str, int] = {}
    with Session(engine) as session:
        for name, url in urls.items():
            source = Source(name=name, url=url, state=SourceState.approved, **extra)  # type: ignore[arg-type]
            session.add(source)
            session.commit()
            assert source.id is not None
            ids[name] = source.id
    return ids


def fetches_by_source(engine: Engine, run_id: int) -> dict[int, SourceFetch]:
    with Session(engine) as session:
        rows = session.exec(select(SourceFetch).where(SourceFetch.crawl_run_id == run_id)).all()
        return {row.source_id: row for row in rows}


def sources(engine: Engine) -> dict[int, Source]:
    with Session(engine) as session:
        return {s.id: s for s in session.exec(select(Source)).all() if s.id is not None}


def event_count(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(Event)).one())


@pytest.fixture
def crawl_settings(settings: Settings, sqlite_engine: Engine) -> Settings:
    """Loopback allowed, small caps so failures come fast."""
    return settings.model_copy(update={"download_timeout": 2, "download_maxsize": 200_000})


def serve_corpus(server: LoopbackHTTPServer) -> None:
    server.add("/robots.txt", ROBOTS, content_type="text/plain")
    server.serve_dir(DATA / "html", prefix="/html/")
    server.serve_dir(DATA / "ical", prefix="/ical/")
    server.serve_dir(DATA / "feeds", prefix="/feeds/")


def test_one_crawl_lands_healthy_sources_records_every_failure_and_recrawls_with_304(
    crawl_settings: Settings, sqlite_engine: Engine, http_server: LoopbackHTTPServer
) -> None:
    server = http_server
    serve_corpus(server)
    ical = (DATA / "ical" / "meetup-marseille-python.ics").read_bytes()
    server.add("/old-agenda", b"", status=301, headers={"Location": "/html/eventbrite-event.html"})
    server.add("/boom.ics", b"Internal Server Error", status=500, content_type="text/plain")
    server.add("/slow.ics", ical, content_type="text/calendar", delay=3)
    server.add("/private/feed.ics", ical, content_type="text/calendar")
    server.add("/huge.ics", b"BEGIN:VCALENDAR\r\n" + b"X" * 400_000, content_type="text/calendar")
    server.add_sequence(
        "/busy.ics",
        [
            (429, b"slow down", {"Retry-After": "1", "Content-Type": "text/plain"}),
            (
                200,
                (DATA / "ical" / "mobilizon-group.ics").read_bytes(),
                {"Content-Type": "text/calendar"},
            ),
        ],
    )
    server.add("/empty.ics", b"", content_type="text/calendar")
    ids = add_sources(
        sqlite_engine,
        {
            "meetup": server.url("/ical/meetup-marseille-python.ics"),
            "agenda-du-libre": server.url("/feeds/agenda-du-libre-paca.rss"),
            "redirected": server.url("/old-agenda"),
            "listing": server.url("/html/listing-agenda-fr.html"),
            "boom": server.url("/boom.ics"),
            "slow": server.url("/slow.ics"),
            "robots": server.url("/private/feed.ics"),
            "huge": server.url("/huge.ics"),
            "busy": server.url("/busy.ics"),
            "empty": server.url("/empty.ics"),
            "dead": f"http://127.0.0.1:{dead_port()}/agenda.ics",
        },
    )
    news = (DATA / "crawl" / "news-fr.rss").read_text(encoding="utf-8")
    server.add(
        "/actus.rss",
        news.replace("https://www.frenchtech-aixmarseille.example", server.url("")),
        content_type="application/rss+xml",
    )
    server.serve_dir(DATA / "bad", prefix="/bad/")
    with Session(sqlite_engine) as session:
        session.add(Source(name="not approved", url=server.url("/ical/dst-weekends.ics")))
        extra = [
            Source(name="news", url=server.url("/actus.rss"), follow_links=True),
            Source(name="own spider", url=server.url("/ical/dst-weekends.ics?own"), spider="nope"),
            Source(name="bomb", url=server.url("/bad/billion-laughs.rss")),
        ]
        for source in extra:
            source.state = SourceState.approved
            session.add(source)
        session.commit()
        ids.update({s.name: s.id for s in extra if s.id is not None})

    run = run_crawl(crawl_settings, timeout=120, now=NOW)

    assert run.status == RunStatus.done, run.error
    fetches = fetches_by_source(sqlite_engine, run.id or 0)
    assert set(fetches) == set(ids.values())  # the pending source was not crawled
    healthy = ["meetup", "agenda-du-libre", "redirected", "listing", "busy", "news"]
    for name in healthy:
        fetch = fetches[ids[name]]
        assert fetch.error is None, (name, fetch.error)
        assert fetch.http_status == 200
        assert fetch.events_found > 0 and fetch.events_new > 0, name
    assert fetches[ids["meetup"]].detected_format == "meetup"
    assert fetches[ids["agenda-du-libre"]].detected_format == "rss"
    assert fetches[ids["redirected"]].url.endswith("/html/eventbrite-event.html")
    assert fetches[ids["listing"]].events_found >= 2  # read from the followed event pages
    assert server.hits("/html/listing-event-afterwork.html") == 2  # by the listing and the news
    assert fetches[ids["listing"]].error is None
    assert server.hits("/busy.ics") == 2  # 429, then after Retry-After the calendar

    news_fetch = fetches[ids["news"]]
    assert news_fetch.detected_format == "rss"
    assert news_fetch.events_found >= 3  # hackathon and afterwork pages, plus the apéro item
    assert server.hits("/html/jsonld-graph-hackathon.html") == 1
    assert server.hits("/actus/apero-decembre") == 1  # 404: the item's own date is kept
    assert "no spider named 'nope'" in (fetches[ids["own spider"]].error or "")
    assert "entit" in (fetches[ids["bomb"]].error or "")

    boom = fetches[ids["boom"]]
    assert boom.http_status == 500 and "500" in (boom.error or "")
    assert server.hits("/boom.ics") == 3  # first try + 2 retries with backoff
    assert "did not answer within 2 seconds" in (fetches[ids["slow"]].error or "")
    assert "robots.txt" in (fetches[ids["robots"]].error or "")
    assert server.hits("/private/feed.ics") == 0
    assert "larger than" in (fetches[ids["huge"]].error or "")
    assert "empty" in (fetches[ids["empty"]].error or "")
    assert "refused" in (fetches[ids["dead"]].error or "")

    rows = sources(sqlite_engine)
    assert rows[ids["boom"]].consecutive_failures == 1
    assert "500" in (rows[ids["boom"]].last_error or "")
    assert rows[ids["meetup"]].last_success_at is not None and rows[ids["meetup"]].etag
    assert rows[ids["meetup"]].next_crawl_at is not None
    assert rows[ids["meetup"]].detected_format == "meetup"
    assert run.stats["sources"] == 14 and run.stats["failed"] == 8
    assert run.stats["new"] == event_count(sqlite_engine)
    user_agents = {h.get("User-Agent") for _m, _p, h in server.requests}
    assert user_agents == {f"techagenda/0.1 (+{crawl_settings.user_agent_contact})"}

    events_before = event_count(sqlite_engine)
    assert events_before > 0
    again = run_crawl(crawl_settings, source_id=ids["meetup"], timeout=60, now=NOW)
    assert again.status == RunStatus.done, again.error
    second = fetches_by_source(sqlite_engine, again.id or 0)[ids["meetup"]]
    assert second.not_modified and second.http_status == 304 and second.error is None
    assert second.events_found == 0 and second.bytes == 0
    assert event_count(sqlite_engine) == events_before
    assert again.stats["not_modified"] == 1
    last = [h for _m, p, h in server.requests if p.endswith("meetup-marseille-python.ics")][-1]
    assert last.get("If-None-Match") == rows[ids["meetup"]].etag
    assert sources(sqlite_engine)[ids["meetup"]].consecutive_failures == 0


def test_a_crawl_past_its_time_limit_is_killed_keeping_the_sources_already_recorded(
    crawl_settings: Settings, sqlite_engine: Engine, http_server: LoopbackHTTPServer
) -> None:
    serve_corpus(http_server)
    http_server.add("/stalled.ics", b"", content_type="text/calendar", delay=30)
    slow = crawl_settings.model_copy(update={"download_timeout": 60, "max_events_per_source": 2})
    ids = add_sources(
        sqlite_engine,
        {
            "stalled": http_server.url("/stalled.ics"),
            "capped": http_server.url("/ical/google-calendar-frenchtech.ics"),
        },
    )
    with Session(sqlite_engine) as session:
        queued = CrawlRun(requested_by="admin")
        session.add(queued)
        session.commit()
        run_id = queued.id
    run = run_crawl(slow, run_id=run_id, timeout=10, now=NOW)
    assert run.id == run_id and run.status == RunStatus.failed
    assert "longer than 10 seconds" in (run.error or "")
    assert run.finished_at is not None and run.pid
    fetches = fetches_by_source(sqlite_engine, run_id or 0)
    assert ids["stalled"] not in fetches  # killed mid-download: nothing half-written
    capped = fetches[ids["capped"]]  # finished before the kill: kept
    assert capped.error is None and capped.events_found == 2
    assert run.stats["sources"] == 1


@pytest.mark.postgres
def test_a_crawl_lands_events_in_postgresql(
    pg_url: str, settings: Settings, http_server: LoopbackHTTPServer
) -> None:
    engine = make_engine(pg_url)
    upgrade(engine)
    serve_corpus(http_server)
    ids = add_sources(
        engine,
        {
            "google": http_server.url("/ical/google-calendar-frenchtech.ics"),
            "gancio": http_server.url("/feeds/gancio-instance.rss"),
            "dead": f"http://127.0.0.1:{dead_port()}/feed",
        },
    )
    pg_settings = settings.model_copy(update={"database_url": pg_url})
    run = run_crawl(pg_settings, timeout=60, now=NOW)
    assert run.status == RunStatus.done, run.error
    fetches = fetches_by_source(engine, run.id or 0)
    assert fetches[ids["google"]].events_new > 0 and fetches[ids["gancio"]].events_new > 0
    assert fetches[ids["dead"]].error
    assert event_count(engine) > 0
    engine.dispose()


def test_the_crawler_refuses_inward_urls_redirect_hops_and_dns_answers(
    settings: Settings, sqlite_engine: Engine, http_server: LoopbackHTTPServer
) -> None:
    """Only the host name ``localhost`` is allow-listed here, so the same loopback server is
    refused when reached by its address, by a redirect to a metadata address, or by another
    name that resolves to it (the check made by the crawler's DNS resolver)."""
    serve_corpus(http_server)
    port = http_server.port
    http_server.add(
        "/to-metadata",
        b"",
        status=302,
        headers={"Location": "http://169.254.169.254/latest/meta-data/"},
    )
    http_server.add("/to-private", b"", status=301, headers={"Location": "http://0x0a000001/"})
    guarded = settings.model_copy(update={"fetch_allowlist": "localhost"})
    name = socket.gethostname()
    ids = add_sources(
        sqlite_engine,
        {
            "allowed": f"http://localhost:{port}/ical/meetup-marseille-python.ics",
            "metadata hop": f"http://localhost:{port}/to-metadata",
            "private hop": f"http://localhost:{port}/to-private",
            "by address": f"http://127.0.0.1:{port}/ical/mobilizon-group.ics",
            "by other name": f"http://{name}:{port}/ical/dst-weekends.ics",
        },
    )
    run = run_crawl(guarded, timeout=60, now=NOW)
    assert run.status == RunStatus.done, run.error
    fetches = fetches_by_source(sqlite_engine, run.id or 0)
    assert fetches[ids["allowed"]].error is None and fetches[ids["allowed"]].events_new > 0
    assert "metadata" in (fetches[ids["metadata hop"]].error or "")
    assert "private" in (fetches[ids["private hop"]].error or "")
    assert "loopback" in (fetches[ids["by address"]].error or "")
    other = fetches[ids["by other name"]].error or ""
    if name != "localhost":
        assert "refused" in other and "loopback" in other, other
    assert http_server.hits("/ical/mobilizon-group.ics") == 0
    assert http_server.hits("/ical/dst-weekends.ics") == 0
