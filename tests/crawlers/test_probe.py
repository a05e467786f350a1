"""The route probe against a loopback site: it tries feed links, ?ical=1, the TEC header and
REST root, WordPress event types, the page's own Event data, .ics links and platform URL
patterns, in order, and proposes the first that yields events."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from aggregator.db import session_scope
from aggregator.errors import FetchError
from aggregator.models import Source
from aggregator.raw import SourceDefaults
from aggregator.settings import Settings
from crawlers.adapters.probe import page_hints, platform_route, probe_site
from crawlers.check import check_source
from crawlers.document import Fetched
from crawlers.extract import read_target
from tests.support.httpserver import LoopbackHTTPServer

SITES = Path(__file__).parents[1] / "data" / "sites"
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
DEFAULTS = SourceDefaults()
HTML = "text/html; charset=utf-8"
JSONLD = {
    "@context": "https://schema.org",
    "@type": "Event",
    "name": "Soirée open data",
    "startDate": "2026-12-14T19:00:00+01:00",
    "location": {"@type": "Place", "name": "La Coque", "address": "Marseille"},
}


def page(head: str = "", body: str = "") -> str:
    return f"<!DOCTYPE html><html><head>{head}</head><body><h1>Agenda</h1>{body}</body></html>"


def probe(server: LoopbackHTTPServer, settings: Settings, path: str):  # type: ignore[no-untyped-def]
    def fetch(url: str) -> Fetched:
        if not url.startswith("http"):
            raise FetchError(f"not an http(s) URL: {url}")
        return Fetched(*read_target(url, settings))

    return probe_site(fetch(server.url(path)), fetch, DEFAULTS)


def test_the_events_calendar_is_found_from_its_header_after_ical_fails(
    http_server: LoopbackHTTPServer, settings: Settings
) -> None:
    root = http_server.url("/wp-json/tribe/events/v1/")
    http_server.add("/agenda/", page('<link rel="https://api.w.org/" href="/wp-json/">'),
                    content_type=HTML, headers={"X-TEC-API-ROOT": root})  # fmt: skip
    http_server.add("/agenda/?ical=1", b"Not Found", status=404, content_type="text/plain")
    http_server.add("/wp-json/tribe/events/v1/events",
                    (SITES / "tec-makeitmarseille.json").read_bytes(),
                    content_type="application/json")  # fmt: skip
    proposal = probe(http_server, settings, "/agenda/")
    assert (proposal.adapter, proposal.url, proposal.events) == (
        "tec", http_server.url("/wp-json/tribe/events/v1/events"), 2
    )  # fmt: skip
    assert [a.step for a in proposal.attempts] == ["?ical=1", "x-tec-api-root"]
    assert "404" in proposal.attempts[0].outcome
    assert "tec" in proposal.finding().message_en


def test_a_calendar_feed_link_comes_first(
    http_server: LoopbackHTTPServer, settings: Settings
) -> None:
    http_server.add("/", page('<link rel="alternate" type="text/calendar" href="/cal.ics">',
                              f'<script type="application/ld+json">{json.dumps(JSONLD)}</script>'),
                    content_type=HTML)  # fmt: skip
    http_server.add("/cal.ics", (SITES / "meetup-afup.ics").read_bytes(),
                    content_type="text/calendar")  # fmt: skip
    proposal = probe(http_server, settings, "/")
    assert (proposal.adapter, proposal.url, proposal.events) == ("ical", http_server.url("/cal.ics"), 1)


def test_a_wordpress_custom_event_type_proposes_wp_rest(
    http_server: LoopbackHTTPServer, settings: Settings
) -> None:
    http_server.add("/", page(body='<img src="/wp-content/uploads/logo.png">'), content_type=HTML)
    types = {"post": {"name": "Articles", "rest_base": "posts"},
             "agenda": {"name": "Agenda", "rest_base": "agenda"}}  # fmt: skip
    http_server.add("/wp-json/wp/v2/types", json.dumps(types), content_type="application/json")
    proposal = probe(http_server, settings, "/")
    assert (proposal.adapter, proposal.url) == (
        "wp-rest", http_server.url("/wp-json/wp/v2/agenda?per_page=50")
    )  # fmt: skip
    assert [a.step for a in proposal.attempts] == ["?ical=1", "tribe REST", "wp/v2/types"]


def test_the_page_own_event_data_then_ics_links(
    http_server: LoopbackHTTPServer, settings: Settings
) -> None:
    http_server.add("/jsonld", page(body=f'<script type="application/ld+json">{json.dumps(JSONLD)}'
                                         "</script>"), content_type=HTML)  # fmt: skip
    assert probe(http_server, settings, "/jsonld").adapter == "schemaorg"
    http_server.add("/links", page(body='<a href="/export/agenda.ics">iCal</a>'), content_type=HTML)
    http_server.add("/export/agenda.ics", (SITES / "ical-agendadulibre.ics").read_bytes(),
                    content_type="text/calendar")  # fmt: skip
    proposal = probe(http_server, settings, "/links")
    assert (proposal.adapter, proposal.events) == ("ical", 3)


def test_nothing_to_read_asks_for_a_css_schema_and_never_reads_local_files(
    http_server: LoopbackHTTPServer, settings: Settings
) -> None:
    hostile = '<link rel="alternate" type="application/rss+xml" href="file:///etc/passwd">'
    http_server.add("/plain", page(hostile, "<p>Bientôt des dates.</p>"), content_type=HTML)
    proposal = probe(http_server, settings, "/plain")
    assert proposal.adapter is None
    assert "not an http(s) URL" in proposal.attempts[0].outcome
    assert "css schema" in proposal.finding().message_en


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.meetup.com/fr-FR/Machine-learning-Aix-Marseille/events/240114846/",
         ("meetup", "https://www.meetup.com/Machine-learning-Aix-Marseille/events/ical/")),
        ("https://openagenda.com/agendas/46688663",
         ("openagenda", "https://openagenda.com/agendas/46688663/events.v2.json"
                        "?relative[]=current&relative[]=upcoming")),
        ("https://gdg.community.dev/gdg-marseille/",
         ("bevy", "https://gdg.community.dev/gdg-marseille/")),
        ("https://lafabulerie.com/", None),
    ],
)  # fmt: skip
def test_platform_url_patterns(url: str, expected: tuple[str, str] | None) -> None:
    assert platform_route(url) == expected


def test_page_hints_read_feed_links_and_wordpress_signs() -> None:
    head = ('<link rel="alternate" type="application/rss+xml" href="/feed/">'
            '<link rel="https://api.w.org/" href="/wp-json/">')  # fmt: skip
    hints = page_hints(Fetched(page(head).encode(), "https://site.test/agenda/", {}))
    assert hints.feeds == (("feed", "https://site.test/feed/"),) and hints.wordpress


def test_a_check_that_reads_nothing_records_the_proposed_route(
    http_server: LoopbackHTTPServer, settings: Settings, sqlite_engine: Engine
) -> None:
    http_server.add("/robots.txt", "User-agent: *\nAllow: /\n", content_type="text/plain")
    root = http_server.url("/wp-json/tribe/events/v1/")
    http_server.add("/agenda/", page(body="<p>Prochaines dates bientôt.</p>"), content_type=HTML,
                    headers={"X-TEC-API-ROOT": root})  # fmt: skip
    http_server.add("/agenda/?ical=1", b"", status=404, content_type="text/plain")
    http_server.add("/wp-json/tribe/events/v1/events",
                    (SITES / "tec-makeitmarseille.json").read_bytes(),
                    content_type="application/json")  # fmt: skip
    with session_scope(sqlite_engine) as session:
        source = Source(name="Fab lab", url=http_server.url("/agenda/"), state="approved")
        session.add(source)
        session.flush()
        source_id = source.id or 0
    with session_scope(sqlite_engine) as session:
        report = check_source(session, settings, source_id, now=NOW, refetch_delay=0)
    assert report.upcoming == 0
    assert any(w.startswith("Route proposée : tec") for w in report.warnings)
    with Session(sqlite_engine) as session:
        stored = session.get(Source, source_id)
        assert stored is not None and stored.last_check is not None
        assert stored.last_check["route_proposal"]["adapter"] == "tec"
        assert stored.last_check["route_proposal"]["events"] == 2


def test_a_check_reads_a_css_route_like_the_crawl(
    http_server: LoopbackHTTPServer, settings: Settings, sqlite_engine: Engine
) -> None:
    from crawlers.adapters.routes import load_routes

    route = {r.name: r for r in load_routes(
        Path(__file__).parents[2] / "aggregator" / "regions" / "aix-marseille" / "routes.toml"
    )}["Friche la Belle de Mai (Zinc, LFO fablab)"]  # fmt: skip
    http_server.add("/robots.txt", "User-agent: *\nAllow: /\n", content_type="text/plain")
    url = http_server.add("/agenda/", (SITES / "css-friche.html").read_bytes(), content_type=HTML)
    with session_scope(sqlite_engine) as session:
        source = Source(name="Friche", url=url, state="approved", adapter="css",
                        route=route.to_json())  # fmt: skip
        session.add(source)
        session.flush()
        source_id = source.id or 0
    with session_scope(sqlite_engine) as session:
        report = check_source(session, settings, source_id, now=NOW, refetch_delay=0)
    assert (report.format, report.upcoming, report.error) == ("css", 3, None)
    assert not any(w.startswith("Route proposée") for w in report.warnings)
