"""The admin console: sources, crawl requests, event moderation, digest, subscribers."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import select

from aggregator.admins import create_admin
from aggregator.db import session_scope
from aggregator.models import CrawlRun, Event, EventLink, Source, SourceFetch, Subscriber
from aggregator.settings import Settings
from tests.web.conftest import ADMIN_PASSWORD, NOW, post_form


def add_source(engine: Engine, state: str = "pending", **kw: object) -> int:
    values: dict[str, object] = {
        "name": "Fablab d'Aubagne",
        "url": "https://fablab-aubagne.example/agenda.ics",
        "contact_email": "contact@fablab-aubagne.example",
    }
    values.update(kw)
    with session_scope(engine) as session:
        source = Source(state=state, **values)  # type: ignore[arg-type]
        session.add(source)
        session.flush()
        return source.id or 0


def test_dashboard_shows_sources_with_their_health(
    admin_client: TestClient, sqlite_engine: Engine
) -> None:
    source_id = add_source(
        sqlite_engine,
        state="approved",
        consecutive_failures=2,
        last_error="HTTP 503 <Service Unavailable>",
        last_crawl_at=NOW,
    )
    with session_scope(sqlite_engine) as session:
        run = CrawlRun(status="done", created_at=NOW)
        session.add(run)
        session.flush()
        for n in range(3):
            session.add(
                SourceFetch(
                    crawl_run_id=run.id or 0,
                    source_id=source_id,
                    url="u",
                    http_status=200 if n < 2 else 503,
                    error=None if n < 2 else "HTTP 503",
                )
            )
    html = admin_client.get("/admin").text
    assert "Fablab d&#39;Aubagne" in html
    assert "HTTP 503 &lt;Service Unavailable&gt;" in html
    assert '<svg class="strip"' in html and html.count('fill="#b91c1c"') >= 1


def test_admin_approves_then_pauses_a_pending_source(
    admin_client: TestClient, sqlite_engine: Engine
) -> None:
    source_id = add_source(sqlite_engine)
    response = post_form(
        admin_client,
        f"/admin/sources/{source_id}/state",
        {"action": "approve"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    with session_scope(sqlite_engine) as session:
        assert session.get(Source, source_id).state == "approved"  # type: ignore[union-attr]
    post_form(admin_client, f"/admin/sources/{source_id}/state", {"action": "pause"})
    with session_scope(sqlite_engine) as session:
        assert session.get(Source, source_id).state == "paused"  # type: ignore[union-attr]
    assert (
        post_form(admin_client, f"/admin/sources/{source_id}/state", {"action": "nuke"}).status_code
        == 422
    )


def test_admin_edits_timezone_threshold_and_interval(
    admin_client: TestClient, sqlite_engine: Engine
) -> None:
    source_id = add_source(sqlite_engine)
    post_form(
        admin_client,
        f"/admin/sources/{source_id}",
        {
            "name": "Fablab Aubagne",
            "timezone": "America/New_York",
            "relevance_threshold": "0.5",
            "crawl_interval": "12h",
        },
    )
    with session_scope(sqlite_engine) as session:
        source = session.get(Source, source_id)
        assert source and source.timezone == "America/New_York"
        assert source.relevance_threshold == 0.5 and source.crawl_interval == 12 * 3600
    bad = post_form(
        admin_client, f"/admin/sources/{source_id}", {"name": "x", "timezone": "Mars/Olympus"}
    )
    assert bad.status_code == 422


def test_crawl_now_queues_a_run_named_after_the_admin(
    admin_client: TestClient, sqlite_engine: Engine
) -> None:
    source_id = add_source(sqlite_engine, state="approved")
    response = post_form(
        admin_client, "/admin/crawl", {"source_id": str(source_id)}, follow_redirects=False
    )
    assert response.status_code == 303
    page = admin_client.get(response.headers["location"]).text
    assert "en file" in page and 'http-equiv="refresh"' in page
    post_form(admin_client, "/admin/crawl", {})
    with session_scope(sqlite_engine) as session:
        runs = session.exec(select(CrawlRun).order_by(CrawlRun.id)).all()  # type: ignore[arg-type]
    assert [(r.source_id, r.status, r.requested_by) for r in runs] == [
        (source_id, "queued", "admin:camille"),
        (None, "queued", "admin:camille"),
    ]


def test_hide_and_unhide_an_event(
    admin_client: TestClient, events: dict[str, int], sqlite_engine: Engine
) -> None:
    event_id = events["Atelier Arduino au LFO"]
    post_form(admin_client, f"/admin/events/{event_id}/hide", {})
    assert admin_client.get(f"/events/{event_id}").status_code == 404
    post_form(admin_client, f"/admin/events/{event_id}/unhide", {})
    assert admin_client.get(f"/events/{event_id}").status_code == 200


def test_merge_then_split_pins_the_links(
    admin_client: TestClient, events: dict[str, int], sqlite_engine: Engine
) -> None:
    keep, other = events["Atelier Arduino au LFO"], events["Soirée IA générative & data"]
    post_form(admin_client, "/admin/events/merge", {"keep_id": str(keep), "other_id": str(other)})
    with session_scope(sqlite_engine) as session:
        links = session.exec(select(EventLink).where(EventLink.event_id == keep)).all()
        assert len(links) == 2 and all(link.pinned for link in links)
        assert session.get(Event, other).hidden  # type: ignore[union-attr]
        moved = next(link for link in links if link.external_id == "uid-2")
    post_form(admin_client, f"/admin/links/{moved.id}/split", {})
    with session_scope(sqlite_engine) as session:
        link = session.get(EventLink, moved.id)
        assert link and link.event_id not in (keep, other) and link.pinned
        fresh = session.get(Event, link.event_id)
        assert fresh and not fresh.hidden


def test_subscribers_page_counts_by_state(admin_client: TestClient, sqlite_engine: Engine) -> None:
    with session_scope(sqlite_engine) as session:
        for n, status in enumerate(["confirmed", "confirmed", "pending", "unsubscribed"]):
            session.add(Subscriber(email=f"s{n}@exemple.fr", status=status, confirmed_at=NOW))
    html = admin_client.get("/admin/subscribers").text
    assert "s3@exemple.fr" in html and '<svg class="chart"' in html
    assert "<strong>2</strong>confirmé·es" in html


def test_digest_preview_and_test_send(
    admin_client: TestClient, events: dict[str, int], settings: Settings
) -> None:
    page = admin_client.get("/admin/digest?week=2026-W49")
    assert page.status_code == 200 and "2026-W49" in page.text
    preview = admin_client.get("/admin/digest/preview?week=2026-W49")
    assert preview.status_code == 200 and "Startup Weekend" in preview.text
    response = post_form(
        admin_client, "/admin/digest/test", {"week": "2026-W49"}, follow_redirects=False
    )
    assert response.status_code == 303
    outbox = list((settings.data_dir.parent / "outbox").glob("*.eml"))
    assert len(outbox) == 1 and b"camille@techagenda.example" in outbox[0].read_bytes()


def test_source_page_shows_the_clash_radar_for_its_evenings(
    admin_client: TestClient, sqlite_engine: Engine
) -> None:
    from datetime import UTC, date, datetime

    source_id = add_source(sqlite_engine, state="approved")
    with session_scope(sqlite_engine) as session:
        common = {"in_region": True, "insee": "13055", "city": "Marseille", "relevance": 2.0}
        mine = Event(
            title="Repair café du fablab",
            start=datetime(2026, 12, 3, 18, 0, tzinfo=UTC),
            start_date=date(2026, 12, 3),
            **common,
        )
        other = Event(
            title="Apéro Python Marseille",
            start=datetime(2026, 12, 3, 17, 30, tzinfo=UTC),
            start_date=date(2026, 12, 3),
            **common,
        )
        session.add_all([mine, other])
        session.flush()
        assert mine.id is not None
        session.add(EventLink(event_id=mine.id, source_id=source_id, external_id="repair-1"))
    html = admin_client.get(f"/admin/sources/{source_id}").text
    radar = html.split("Radar des conflits")[1].split("</section>")[0]
    assert "Apéro Python Marseille" in radar
    assert "Repair café du fablab" not in radar  # its own event is no clash


def test_a_source_without_url_is_listed_and_cannot_be_approved(
    admin_client: TestClient, sqlite_engine: Engine
) -> None:
    source_id = add_source(sqlite_engine, url=None, name="La Coque Numérique")
    assert "La Coque Numérique" in admin_client.get("/admin").text
    assert "La Coque Numérique" in admin_client.get(f"/admin/sources/{source_id}").text
    refused = post_form(admin_client, f"/admin/sources/{source_id}/state", {"action": "approve"})
    assert refused.status_code in (400, 409, 422)
    with session_scope(sqlite_engine) as session:
        source = session.get(Source, source_id)
        assert source is not None and source.state == "pending"


def logged_in(app: FastAPI, password: str = ADMIN_PASSWORD) -> TestClient:
    """A second browser, logged in as camille."""
    other = TestClient(app)
    answer = post_form(
        other, "/admin/login", {"username": "camille", "password": password},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    return other


def refused(client: TestClient, cookie: str) -> bool:
    """Whether /admin sends a browser holding ``cookie`` to the login page."""
    client.cookies.set("ta_admin", cookie)
    answer = client.get("/admin", follow_redirects=False)
    return answer.status_code == 303 and answer.headers["location"].startswith("/admin/login")


def test_a_session_cookie_kept_from_before_logout_is_refused(admin_client: TestClient) -> None:
    stolen = admin_client.cookies["ta_admin"]
    assert not refused(admin_client, stolen)
    assert post_form(admin_client, "/admin/logout", {}, follow_redirects=False).status_code == 303
    assert refused(admin_client, stolen)


def test_changing_the_password_ends_the_other_sessions_and_keeps_this_one(
    app: FastAPI, admin_client: TestClient
) -> None:
    other = logged_in(app)
    other_cookie = other.cookies["ta_admin"]
    page = admin_client.get("/admin/password")
    assert page.status_code == 200 and "Changer mon mot de passe" in page.text
    wrong = post_form(
        admin_client, "/admin/password",
        {"current": "nope", "new": "a brand new passphrase", "confirmation": "a brand new passphrase"},
    )
    assert wrong.status_code == 422 and "Le mot de passe actuel est incorrect" in wrong.text
    assert not refused(other, other_cookie)
    changed = post_form(
        admin_client, "/admin/password",
        {"current": ADMIN_PASSWORD, "new": "a brand new passphrase",
         "confirmation": "a brand new passphrase"},
    )
    assert changed.status_code == 200 and "Mot de passe changé" in changed.text
    assert admin_client.get("/admin", follow_redirects=False).status_code == 200
    assert refused(other, other_cookie)
    old = post_form(
        TestClient(app), "/admin/login", {"username": "camille", "password": ADMIN_PASSWORD}
    )
    assert old.status_code == 401
    logged_in(app, "a brand new passphrase")


def test_a_password_reset_from_the_command_line_ends_every_session(
    app: FastAPI, admin_client: TestClient, sqlite_engine: Engine
) -> None:
    cookie = admin_client.cookies["ta_admin"]
    with session_scope(sqlite_engine) as session:
        create_admin(session, "camille", "reset by the operator", now=NOW)
    assert refused(admin_client, cookie)
