"""The admin's "Crawl now": a double click queues one crawl, and the crawl page says when
no scheduler is running to take it."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import select

from aggregator import locks
from aggregator.db import session_scope
from aggregator.models import CrawlRun, Source, SourceState
from tests.web.conftest import NOW, post_form


def _source(engine: Engine) -> int:
    with session_scope(engine) as session:
        source = Source(
            name="Openlab Aix", url="https://openlab-aix.example/agenda.ics",
            state=SourceState.approved, created_at=NOW,
        )  # fmt: skip
        session.add(source)
        session.flush()
        assert source.id is not None
        return source.id


def _queued(engine: Engine) -> list[tuple[int | None, str]]:
    with session_scope(engine) as session:
        return [(r.source_id, str(r.status)) for r in session.exec(select(CrawlRun))]


def test_a_double_click_on_crawl_now_queues_one_crawl(
    admin_client: TestClient, sqlite_engine: Engine
) -> None:
    source_id = _source(sqlite_engine)
    clicks = [
        post_form(
            admin_client, "/admin/crawl", {"source_id": str(source_id)}, follow_redirects=False
        )
        for _ in range(2)
    ]
    assert [c.status_code for c in clicks] == [303, 303]
    assert clicks[0].headers["location"] == clicks[1].headers["location"]
    post_form(admin_client, "/admin/crawl", {})
    post_form(admin_client, "/admin/crawl", {})
    assert _queued(sqlite_engine) == [(source_id, "queued"), (None, "queued")]


def test_the_crawl_page_says_when_no_scheduler_was_seen_recently(
    admin_client: TestClient, sqlite_engine: Engine
) -> None:
    source_id = _source(sqlite_engine)
    click = post_form(
        admin_client, "/admin/crawl", {"source_id": str(source_id)}, follow_redirects=False
    )
    page = click.headers["location"]
    assert "Aucun planificateur vu depuis plus de deux minutes" in admin_client.get(page).text
    # a scheduler renewing its leader lease a few seconds ago
    holder = "sched.example:4242:0a1b2c3d"
    ttl = timedelta(seconds=60)
    assert locks.acquire_lease(sqlite_engine, locks.LEADER, holder, ttl=ttl, now=NOW)
    text = admin_client.get(page).text
    assert "Aucun planificateur" not in text and "le planificateur va le lancer" in text
    assert "en file" in text
    locks.release_lease(sqlite_engine, locks.LEADER, holder)  # a scheduler that stopped
    english = admin_client.get(f"{page}?lang=en").text
    assert "No scheduler seen for more than two minutes" in english
