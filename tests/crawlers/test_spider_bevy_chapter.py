"""The pack's ``manual`` example: the ``bevy-chapter`` spider reads a Bevy chapter page, takes
the chapter id from it and reads the chapter's events JSON — through a real crawl (child
Scrapy process, loopback HTTP); the page's events stay when the JSON fails."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from aggregator.models import Event, EventLink, RunStatus, Source, SourceState
from aggregator.settings import Settings
from crawlers.adapters.routes import load_routes
from crawlers.run import run_crawl
from crawlers.spiders import spider_for
from crawlers.spiders.bevy_chapter import (
    EVENTS_QUERY,
    BevyChapterSpider,
    chapter_events_url,
    chapter_id,
)
from tests.support.httpserver import LoopbackHTTPServer

PACK = Path(__file__).parents[2] / "aggregator" / "regions" / "aix-marseille" / "routes.toml"
SITES = Path(__file__).parents[1] / "data" / "sites"
GDG = "GDG Marseille (Google Developer Group)"
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
PAGE = (SITES / "bevy-gdg-marseille.html").read_text(encoding="utf-8")


def test_the_pack_routes_gdg_marseille_to_the_registered_spider() -> None:
    route = {r.name: r for r in load_routes(PACK)}[GDG]
    assert route.adapter == "manual" and route.spider == "bevy-chapter"
    assert spider_for(route.spider) is BevyChapterSpider


def test_the_chapter_id_comes_from_the_page_state() -> None:
    assert chapter_id(PAGE) == 91
    assert chapter_events_url(PAGE, "https://gdg.community.dev/gdg-marseille/") == (
        f"https://gdg.community.dev/api/event_slim/for_chapter/91/?{EVENTS_QUERY}"
    )
    assert chapter_id("<html><body>GDG</body></html>") is None
    assert chapter_id('<script id="__NEXT_DATA__">{not json</script>') is None
    no_id = PAGE.replace('"id": 91,', '"id": "x",')
    assert chapter_id(no_id) is None


def _titles(engine: Engine, source_id: int) -> set[str]:
    with Session(engine) as session:
        rows = session.exec(
            select(Event.title)
            .join(EventLink, EventLink.event_id == Event.id)  # type: ignore[arg-type]
            .where(EventLink.source_id == source_id)
        ).all()
    return set(rows)


def _source(session: Session, name: str, url: str) -> Source:
    route = replace({r.name: r for r in load_routes(PACK)}[GDG], name=name, url=url)
    source = Source(name=name, url=url, state=SourceState.approved, adapter=route.adapter,
                    route=route.to_json(), spider=route.spider)  # fmt: skip
    session.add(source)
    session.commit()
    return source


def test_a_crawl_reads_the_page_then_the_chapter_json_and_keeps_the_page_if_it_fails(
    settings: Settings, sqlite_engine: Engine, http_server: LoopbackHTTPServer
) -> None:
    server = http_server
    server.add("/robots.txt", "User-agent: *\nAllow: /\n", content_type="text/plain")
    server.add("/gdg-marseille/", PAGE, content_type="text/html")
    api = f"/api/event_slim/for_chapter/91/?{EVENTS_QUERY}"
    server.add(api, (SITES / "bevy-gdg-marseille-events.json").read_bytes(),
               content_type="application/json")  # fmt: skip
    broken = PAGE.replace('"id": 91,', '"id": 93,')
    server.add("/gdg-broken/", broken, content_type="text/html")
    server.add(f"/api/event_slim/for_chapter/93/?{EVENTS_QUERY}", b"{}", status=404,
               content_type="application/json")  # fmt: skip
    with Session(sqlite_engine) as session:
        good = _source(session, GDG, server.url("/gdg-marseille/")).id or 0
        bad = _source(session, "GDG broken", server.url("/gdg-broken/")).id or 0
    crawl = settings.model_copy(update={"download_timeout": 5})

    run = run_crawl(crawl, timeout=120, now=NOW)

    assert run.status == RunStatus.done, run.error
    assert _titles(sqlite_engine, good) == {
        "DevFest Marseille 2026 : le retour",
        "Build with AI : atelier Gemini",
        "I/O Extended Marseille 2027",  # only in the chapter JSON
    }
    assert _titles(sqlite_engine, bad) == {  # its JSON failed: the page's own events stay
        "DevFest Marseille 2026 : le retour",
        "Build with AI : atelier Gemini",
    }
    assert any(path == api for _, path, _ in server.requests)
    with Session(sqlite_engine) as session:
        ok = session.get(Source, good)
        assert ok is not None and ok.last_error is None and ok.detected_format == "bevy"
