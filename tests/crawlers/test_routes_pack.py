"""Each route of the Aix-Marseille pack reads its captured-shape fixture into the expected
events (tests/data/sites/, expected in routes.expected.json), and the loader says clearly
what is wrong with a broken routes file."""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import Session

from aggregator.db import session_scope
from aggregator.errors import ConfigError
from aggregator.models import Source, SourceState
from aggregator.raw import RawEvent, SourceDefaults
from aggregator.regions import load_region
from aggregator.settings import Settings
from crawlers.adapters import REGISTRY, kept, read_route
from crawlers.adapters.routes import Keep, Paging, Route, load_routes, parse_routes
from crawlers.check import check_source, manual_route_note
from crawlers.document import Fetched
from tests.support.httpserver import LoopbackHTTPServer

PACK = Path(__file__).parents[2] / "aggregator" / "regions" / "aix-marseille"
SITES = Path(__file__).parents[1] / "data" / "sites"
EXPECTED = json.loads((SITES / "routes.expected.json").read_text(encoding="utf-8"))
ROUTES = {r.name: r for r in load_routes(PACK / "routes.toml")}
CONTENT_TYPES = {".ics": "text/calendar", ".json": "application/json", ".html": "text/html"}
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=ZoneInfo("Europe/Paris"))
DEFAULTS = SourceDefaults(
    window_start=NOW - timedelta(days=30), window_end=NOW + timedelta(days=365)
)
# Read by the platform parsers (crawlers/parsers/), whose field mapping is theirs: for
# these the test compares titles only.
TITLES_ONLY = {"bevy", "wp-rest", "developers-events"}


def fixture(route: Route, name: str | None = None) -> Fetched:
    path = SITES / (name or route.fixture or "")
    assert route.url is not None
    return Fetched(path.read_bytes(), route.url, {"content-type": CONTENT_TYPES[path.suffix]})


def test_every_starter_source_has_a_route_or_a_reason() -> None:
    with (PACK / "sources.csv").open(encoding="utf-8") as handle:
        names = {row["name"] for row in csv.DictReader(handle)}
    assert set(ROUTES) == names
    for route in ROUTES.values():
        assert route.readable or route.unreadable, route.name


def test_every_readable_route_has_a_fixture_and_expected_events() -> None:
    readable = [r for r in ROUTES.values() if r.readable]
    assert len(readable) >= 30  # of 41 starter sources (issue #18 asks for 30)
    for route in readable:
        assert route.fixture and (SITES / route.fixture).is_file(), route.name
        assert EXPECTED.get(route.name), route.name


def test_the_corrected_urls_are_the_routes() -> None:
    alcazar = ROUTES["Bibliothèques de Marseille - Alcazar (OpenAgenda)"]
    assert alcazar.url and "/events.v2.json" in alcazar.url and "events.json" not in alcazar.url
    lab = ROUTES["LAB - Laboratoire d'Aixpérimentation et de Bidouille"]
    assert lab.page_url == "https://labaixbidouille.fr/"
    assert not any("community.cncf.io" in (r.url or "") for r in ROUTES.values())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_pack_route_yields_the_expected_events(name: str) -> None:
    route = ROUTES[name]
    reading = read_route(fixture(route), DEFAULTS, route=route)
    expected = EXPECTED[name]
    assert reading.events, f"{name}: no events from {route.fixture}"
    if route.adapter in TITLES_ONLY:
        assert {e["title"] for e in expected} <= {e.title for e in reading.events}
        return
    if "day" in expected[0]:
        got = [{"title": e.title, "day": _day(e)} for e in reading.events]
    else:
        got = [{"title": e.title, "start": _iso(e)} for e in reading.events]
    assert sorted(got, key=str) == sorted(expected, key=str)
    if REGISTRY[route.adapter or ""].platforms:
        assert reading.platform in REGISTRY[route.adapter or ""].platforms


def _iso(event: RawEvent) -> str:
    assert event.start is not None
    return event.start.isoformat()


def _day(event: RawEvent) -> str:
    start = event.start
    assert start is not None
    if isinstance(start, datetime):
        start = start.astimezone(ZoneInfo("Europe/Paris")) if start.tzinfo else start
        return start.date().isoformat()
    return start.isoformat()


def test_css_cards_give_links_and_the_event_page_gives_the_full_title() -> None:
    route = ROUTES["La Fabulerie"]
    listing = read_route(fixture(route), DEFAULTS, route=route)
    card = listing.events[0]
    assert card.title.endswith("…")
    assert listing.links[0] == "https://lafabulerie.com/evenement/atelier-arduino-debutants/"
    page = Fetched((SITES / "css-fabulerie-detail.html").read_bytes(), listing.links[0], {})
    detail = read_route(page, DEFAULTS, route=route, card=card)
    assert [e.title for e in detail.events] == [
        "Atelier Arduino pour débutants : premiers pas avec les capteurs"
    ]
    assert detail.events[0].start == card.start


def test_css_prose_dates_read_in_the_schema_language_with_times() -> None:
    route = ROUTES["La Fabulerie"]
    events = read_route(fixture(route), DEFAULTS, route=route).events
    assert [str(e.start) for e in events] == [
        "2026-12-12 14:00:00",
        "2026-12-16 18:30:00",
        "2027-01-04",
    ]
    assert str(events[2].end) == "2027-01-06"


def test_css_page_without_matching_cards_yields_nothing_and_says_so() -> None:
    route = ROUTES["Friche la Belle de Mai (Zinc, LFO fablab)"]
    redesigned = Fetched(b"<html><body><ul class='agenda'><li>Concert</li></ul></body></html>",
                         route.url or "", {"content-type": "text/html"})  # fmt: skip
    reading = read_route(redesigned, DEFAULTS, route=route)
    assert reading.events == []
    assert any("no card matched" in w for w in reading.warnings)


def test_css_route_normalizes_with_the_region_like_ingest() -> None:
    route = ROUTES["Friche la Belle de Mai (Zinc, LFO fablab)"]
    reading = read_route(fixture(route), DEFAULTS, route=route, region=load_region("aix-marseille"))
    assert len(reading.normalized) == len(reading.events) == 3
    first = reading.normalized[0]
    assert first.start == datetime(2026, 12, 8, 18, 0, tzinfo=UTC)  # 19:00 in Paris


def test_a_spider_route_is_checked_on_its_first_page_only_and_says_so() -> None:
    gdg = manual_route_note(ROUTES["GDG Marseille (Google Developer Group)"], 7)
    assert gdg is not None and gdg.code == "manual_first_page" and gdg.severity == "info"
    assert "« bevy-chapter »" in gdg.message("fr") and "première page" in gdg.message("fr")
    assert "techagenda crawl --source 7" in gdg.message("fr")
    assert "first page only" in gdg.message("en") and "during a crawl" in gdg.message("en")
    others = [r for r in ROUTES.values() if r.adapter != "manual"]
    assert others and all(manual_route_note(r, 7) is None for r in others)
    assert manual_route_note(None) is None


def test_sources_check_on_the_spider_route_reads_the_page_and_says_the_rest_waits(
    sqlite_engine: Engine, settings: Settings, http_server: LoopbackHTTPServer
) -> None:
    page = (SITES / "bevy-gdg-marseille.html").read_bytes()
    url = http_server.add("/gdg-marseille/", page, headers={"Content-Type": "text/html"})
    route = replace(ROUTES["GDG Marseille (Google Developer Group)"], url=url)
    with session_scope(sqlite_engine) as session:
        source = Source(name=route.name, url=url, state=SourceState.approved,
                        adapter=route.adapter, route=route.to_json(), spider=route.spider,
                        created_at=NOW)  # fmt: skip
        session.add(source)
        session.flush()
        source_id = source.id
        assert source_id is not None
    with session_scope(sqlite_engine) as session:
        report = check_source(session, settings, source_id, now=NOW, refetch_delay=0.0)
    assert report.error is None and report.upcoming == 2  # the page's own events
    assert "manual_first_page" in {f.code for f in report.findings}
    assert any(f"techagenda crawl --source {source_id}" in w for w in report.warnings)
    assert http_server.hits("/gdg-marseille/") >= 1
    assert http_server.hits("/api/event_slim/for_chapter/91/") == 0  # the crawl's request
    with Session(sqlite_engine) as session:
        stored = session.get(Source, source_id)
        assert stored is not None and stored.last_check is not None
        assert "manual_first_page" in {f["code"] for f in stored.last_check["findings"]}


def test_keep_filter_by_title_and_town() -> None:
    event = RawEvent(title="Epitech Summit 2027 - Lyon", start=None, city="Lyon")
    assert not kept(event, Keep(titles=("Epitech",), cities=("Marseille",)))
    assert kept(event.with_(city="Marseille"), Keep(titles=("epitech",), cities=("Marseille",)))


def test_paging_expands_the_listing_url() -> None:
    paging = Paging(param="page", first=1, pages=3)
    assert paging.urls("https://x.test/wp-json/wp/v2/agenda?per_page=50&page=9") == [
        "https://x.test/wp-json/wp/v2/agenda?per_page=50&page=1",
        "https://x.test/wp-json/wp/v2/agenda?per_page=50&page=2",
        "https://x.test/wp-json/wp/v2/agenda?per_page=50&page=3",
    ]


def test_a_route_round_trips_through_its_stored_json() -> None:
    for route in ROUTES.values():
        assert Route.from_json(json.loads(json.dumps(route.to_json()))) == route


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"name": "A", "adapter": "rss", "url": "https://a.test/"}, "unknown adapter 'rss'"),
        ({"name": "A", "adapter": "ical"}, "needs a 'url'"),
        ({"name": "A"}, "give an 'adapter' or 'unreadable"),
        ({"name": "A", "adapter": "css", "url": "https://a.test/"}, "needs a [source.css]"),
        ({"name": "A", "adapter": "css", "url": "https://a.test/",
          "css": {"items": "div..x", "title": "h3", "date": "time"}}, "css 'items' is not a valid"),
        ({"name": "A", "adapter": "css", "url": "https://a.test/",
          "css": {"items": "div", "title": "h3"}}, "css schema needs 'date'"),
        ({"name": "A", "adapter": "ical", "url": "ftp://a.test/"}, "must be an http(s) URL"),
        ({"name": "A", "adapter": "ical", "url": "https://a.test/", "colour": 1}, "unknown key"),
        ({"name": "A", "adapter": "ical", "url": "https://a.test/", "unreadable": "x"},
         "exclude each other"),
        ({"name": "A", "adapter": "manual"}, "names its 'spider'"),
        ({"name": "A", "adapter": "ical", "url": "https://a.test/", "paging": {"pages": 2}},
         "paging needs a 'param'"),
    ],
)  # fmt: skip
def test_a_broken_route_names_the_source_and_the_key(table: dict, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_routes({"source": [table]}, where="routes.toml")
    assert message in str(caught.value)
    assert "routes.toml: source #1 (A)" in str(caught.value) or "'name'" in str(caught.value)


def test_a_name_given_twice_is_an_error() -> None:
    table = {"name": "A", "unreadable": "none"}
    with pytest.raises(ConfigError, match="given twice"):
        parse_routes({"source": [table, table]})


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=400))
def test_a_css_schema_never_raises_on_junk(text: str) -> None:
    route = ROUTES["Friche la Belle de Mai (Zinc, LFO fablab)"]
    body = f"<div class='events'><div class='event' data-date='{text[:20]}'>{text}</div></div>"
    reading = read_route(Fetched(body.encode(), route.url or "", {}), DEFAULTS, route=route)
    assert all(e.title and e.start is not None for e in reading.events)
