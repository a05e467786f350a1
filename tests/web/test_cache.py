"""The response cache: anonymous pages and feeds again from memory, fresh after an ingest,
never for admins or personal links."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import select

from aggregator.db import make_engine, session_scope, upgrade
from aggregator.ingest import ingest_events
from aggregator.models import Event, Source, Subscriber
from aggregator.raw import RawEvent
from aggregator.settings import Settings
from newsletter.tokens import make_token
from tests.web.conftest import NOW, seed_events
from web.app import create_app
from web.cache import ResponseCache

PARIS_EVENING = (NOW + timedelta(days=3)).replace(hour=18, minute=30, tzinfo=None)


def ingest(engine: Engine, settings: Settings, *titles: str) -> None:
    """What a crawl does: one source's listing through ``ingest_events``, committed."""
    with session_scope(engine) as session:
        source = session.exec(select(Source).where(Source.name == "Meetup JUG")).first()
        if source is None:
            source = Source(
                name="Meetup JUG",
                url="https://jug.example/feed.ics",
                state="approved",
                created_at=NOW,
            )
            session.add(source)
            session.flush()
        raws = [
            RawEvent(
                title=title,
                start=PARIS_EVENING + timedelta(days=n),
                city="Marseille",
                venue="La Coque",
                uid=f"jug-{n}",
                url=f"https://jug.example/e/{n}",
                description="Meetup de développeurs : talk technique, programmation.",
                categories=("meetup", "développement"),
            )
            for n, title in enumerate(titles)
        ]
        ingest_events(session, source, raws, now=NOW, complete=True, settings=settings)


@pytest.fixture
def cache(app: FastAPI) -> ResponseCache:
    found: ResponseCache = app.state.response_cache
    return found


def test_a_second_visit_is_a_hit_and_an_ingest_brings_the_fresh_page(
    client: TestClient,
    cache: ResponseCache,
    sqlite_engine: Engine,
    settings: Settings,
    events: dict[str, int],
) -> None:
    for path in ("/", "/api/events", "/feed.ics", "/feed.xml"):
        first = client.get(path)
        hits = cache.hits
        again = client.get(path)
        assert first.status_code == again.status_code == 200
        assert again.content == first.content and cache.hits == hits + 1, path
        assert "Java 25 en production" not in first.text

    ingest(sqlite_engine, settings, "Java 25 en production")
    for path in ("/", "/api/events", "/feed.ics", "/feed.xml"):
        assert "Java 25 en production" in client.get(path).text, path

    ingest(sqlite_engine, settings, "Java 25 en production : complet")  # same event, new title
    assert "Java 25 en production : complet" in client.get("/").text
    assert "complet" in client.get("/api/events").text


def test_an_event_page_follows_its_event_and_a_hidden_event_is_gone_at_once(
    client: TestClient, sqlite_engine: Engine, events: dict[str, int]
) -> None:
    event_id = next(iter(events.values()))
    assert client.get(f"/events/{event_id}").status_code == 200
    assert client.get(f"/events/{event_id}").status_code == 200  # from the cache
    with session_scope(sqlite_engine) as session:
        event = session.get(Event, event_id)
        assert event is not None
        event.hidden = True
        session.add(event)
    assert client.get(f"/events/{event_id}").status_code == 404
    assert client.get(f"/events/{event_id}.ics").status_code == 404


def test_cached_answers_keep_etag_and_304(client: TestClient, events: dict[str, int]) -> None:
    for path in ("/feed.ics", "/", "/api/events"):
        first = client.get(path)
        etag = first.headers["etag"]
        cached = client.get(path)
        assert cached.headers["etag"] == etag
        assert cached.headers["content-type"] == first.headers["content-type"]
        assert cached.headers["x-content-type-options"] == "nosniff"  # security headers still
        again = client.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""
        assert client.get(path, headers={"If-None-Match": '"other"'}).status_code == 200
    feed = client.get("/feed.ics")
    assert feed.headers["cache-control"] == "public, max-age=300"
    since = client.get("/feed.ics", headers={"If-Modified-Since": feed.headers["last-modified"]})
    assert since.status_code == 304


def test_each_language_and_query_has_its_own_page(
    client: TestClient, events: dict[str, int]
) -> None:
    fr = client.get("/", headers={"Accept-Language": "fr"})
    en = client.get("/", headers={"Accept-Language": "en"})
    assert fr.text != en.text
    assert client.get("/", headers={"Accept-Language": "fr"}).text == fr.text
    online = client.get("/api/events?online=yes").json()
    assert online != client.get("/api/events").json()


def test_admins_and_personal_links_never_use_the_cache(
    admin_client: TestClient,
    cache: ResponseCache,
    sqlite_engine: Engine,
    settings: Settings,
    events: dict[str, int],
) -> None:
    before = (cache.hits, cache.misses)
    for _ in range(2):
        assert admin_client.get("/").status_code == 200
        assert admin_client.get("/api/events").status_code == 200
        assert admin_client.get("/admin").status_code == 200
    assert (cache.hits, cache.misses) == before and not cache.entries
    with session_scope(sqlite_engine) as session:
        sub = Subscriber(
            email="lea@example.org",
            status="confirmed",
            language="fr",
            created_at=NOW,
            consent_at=NOW,
            confirmed_at=NOW,
        )
        session.add(sub)
        session.flush()
        token = make_token(settings, sub, "feed")
    anonymous = TestClient(admin_client.app)
    for path in (f"/me/{token}/events.ics", f"/me/{token}/feed.xml"):
        anonymous.get(path)
        anonymous.get(path)
    assert (cache.hits, cache.misses) == before and not cache.entries


def test_two_workers_on_one_database_both_see_an_ingest(tmp_path: Path, settings: Settings) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    engine = make_engine(url)
    upgrade(engine)
    seed_events(engine)
    shared = settings.model_copy(update={"database_url": url})
    workers = [TestClient(create_app(shared, clock=lambda: NOW)) for _ in range(2)]
    with workers[0] as one, workers[1] as two:
        for worker in (one, two):
            worker.get("/")
            assert "Rust à la Coque" not in worker.get("/").text
        ingest(engine, settings, "Rust à la Coque")
        for worker in (one, two):
            assert "Rust à la Coque" in worker.get("/").text


def test_without_a_database_file_new_events_show_at_once_and_changes_within_the_interval(
    client: TestClient,
    app: FastAPI,
    sqlite_engine: Engine,
    settings: Settings,
    events: dict[str, int],
) -> None:
    ticks = [0.0]
    app.state.response_cache = ResponseCache(
        sqlite_engine, check_every=5.0, monotonic=lambda: ticks[0], watch_files=False
    )  # as on PostgreSQL: the version from SQL
    client.get("/")
    ingest(sqlite_engine, settings, "Kotlin à Aix")
    assert "Kotlin à Aix" in client.get("/").text  # a new id: seen on the next request
    ingest(sqlite_engine, settings, "Kotlin à Aix (reporté)")
    assert "(reporté)" not in client.get("/").text  # an update: within check_every
    ticks[0] = 5.0
    assert "(reporté)" in client.get("/").text


def test_a_page_of_another_minute_is_rendered_anew(
    settings: Settings, sqlite_engine: Engine
) -> None:
    seed_events(sqlite_engine)
    now = [NOW]
    with TestClient(create_app(settings, clock=lambda: now[0])) as client:
        cache: ResponseCache = client.app.state.response_cache  # type: ignore[attr-defined]
        client.get("/")
        client.get("/")
        assert cache.hits == 1
        now[0] = NOW + timedelta(minutes=1)
        client.get("/")
        assert cache.hits == 1


def test_the_cache_holds_at_most_its_byte_budget_oldest_first(
    client: TestClient, app: FastAPI, sqlite_engine: Engine, events: dict[str, int]
) -> None:
    page = len(client.get("/api/events").content)
    cache = ResponseCache(sqlite_engine, max_bytes=page * 2 + page // 2)
    app.state.response_cache = cache
    for offset in range(4):
        client.get(f"/api/events?offset={offset}")
    assert len(cache.entries) <= 3 and cache.held_bytes <= cache.max_bytes
    kept_queries = [key[1] for key in cache.entries]
    assert "offset=0" not in kept_queries and "offset=3" in kept_queries


@pytest.mark.postgres
def test_on_postgresql_two_workers_see_a_new_event_at_once_and_a_change_within_the_interval(
    pg_engine: Engine, pg_url: str, settings: Settings
) -> None:
    seed_events(pg_engine)
    shared = settings.model_copy(update={"database_url": pg_url})
    ticks = [0.0]
    apps = [create_app(shared, clock=lambda: NOW) for _ in range(2)]
    for one in apps:
        one.state.response_cache = ResponseCache(
            one.state.engine, check_every=1.0, monotonic=lambda: ticks[0]
        )
    with TestClient(apps[0]) as one, TestClient(apps[1]) as two:
        for worker in (one, two):
            worker.get("/api/events")
            assert "Go à la Coque" not in worker.get("/api/events").text
        ingest(pg_engine, settings, "Go à la Coque")
        for worker in (one, two):
            assert "Go à la Coque" in worker.get("/api/events").text
        ingest(pg_engine, settings, "Go à la Coque (salle 2)")
        ticks[0] = 1.0
        for worker in (one, two):
            assert "(salle 2)" in worker.get("/api/events").text
