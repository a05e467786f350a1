"""Organizer submission: fetch through the guarded path, preview with warnings, confirm."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import select

from aggregator.db import session_scope
from aggregator.models import Source
from tests.support.httpserver import LoopbackHTTPServer
from tests.web.conftest import DATA, post_form


def serve_feed(http_server: LoopbackHTTPServer) -> str:
    body = (DATA / "submitted_feed.ics").read_bytes()
    return http_server.add("/agenda.ics", body, content_type="text/calendar; charset=utf-8")


def test_preview_lists_events_and_warnings_a_person_can_act_on(
    client: TestClient, http_server: LoopbackHTTPServer
) -> None:
    url = serve_feed(http_server)
    html = post_form(client, "/submit/preview", {"url": url}).text
    assert "Repair café électronique" in html and "Initiation à l&#39;impression 3D" in html
    assert "<strong>3</strong>" in html
    assert "2 horaire(s) sans fuseau horaire : nous avons supposé Europe/Paris" in html
    assert "1 événement(s) hors de la région" in html
    assert "sam. 5 déc." in html and "14:00" in html
    assert http_server.hits("/agenda.ics") == 2  # fetched twice: do its UIDs hold?


def test_confirming_a_submission_creates_a_pending_source(
    client: TestClient, http_server: LoopbackHTTPServer, sqlite_engine: Engine
) -> None:
    url = serve_feed(http_server)
    response = post_form(
        client,
        "/submit/confirm",
        {"url": url, "name": "Fablab d'Aubagne", "contact_email": "bonjour@fablab.example"},
    )
    assert response.status_code == 200 and "Merci" in response.text
    with session_scope(sqlite_engine) as session:
        (source,) = session.exec(select(Source)).all()
    assert (source.url, source.state, source.contact_email) == (
        url,
        "pending",
        "bonjour@fablab.example",
    )
    again = post_form(client, "/submit/preview", {"url": url}).text
    assert "déjà connue" in again


def test_private_addresses_are_refused_without_the_allowlist(
    settings: object, sqlite_engine: Engine, http_server: LoopbackHTTPServer
) -> None:
    from aggregator.settings import Settings
    from web.app import create_app

    assert isinstance(settings, Settings)
    strict = settings.model_copy(update={"fetch_allowlist": ""})
    client = TestClient(create_app(strict))
    url = serve_feed(http_server)
    response = post_form(client, "/submit/preview", {"url": url})
    assert response.status_code == 422 and "Impossible de lire cette adresse" in response.text
    assert http_server.hits("/agenda.ics") == 0
    metadata = post_form(
        client, "/submit/preview", {"url": "http://169.254.169.254/latest/meta-data/"}
    )
    assert metadata.status_code == 422


def test_a_page_without_events_says_so(client: TestClient, http_server: LoopbackHTTPServer) -> None:
    url = http_server.add(
        "/about.html",
        "<html><head><title>Qui sommes-nous</title></head>"
        "<body><p>Une association.</p></body></html>",
        content_type="text/html",
    )
    response = post_form(client, "/submit/preview", {"url": url})
    assert "Aucun événement trouvé" in response.text


def test_non_http_urls_are_refused(client: TestClient) -> None:
    response = post_form(client, "/submit/preview", {"url": "file:///etc/passwd"})
    assert response.status_code == 422 and "root:" not in response.text


def test_submit_is_rate_limited(client: TestClient) -> None:
    statuses = [
        post_form(client, "/submit/preview", {"url": "ftp://x"}).status_code for _ in range(11)
    ]
    assert statuses[-1] == 429 and 429 not in statuses[:10]


def test_a_single_event_form_stores_a_hidden_event_awaiting_review(
    client: TestClient, sqlite_engine: Engine
) -> None:
    from aggregator.models import Event

    response = post_form(
        client,
        "/submit/event",
        {
            "title": "Atelier Raspberry Pi pour les ados",
            "day": "2026-12-09",
            "start_time": "14:00",
            "end_time": "17:00",
            "venue": "Médiathèque de l'Alcazar",
            "address": "58 cours Belsunce",
            "city": "Marseille",
            "organizer": "Club Robotique 13",
            "contact_email": "club@robot13.example",
        },
    )
    assert response.status_code == 200 and "Merci" in response.text
    with session_scope(sqlite_engine) as session:
        (event,) = session.exec(select(Event)).all()
        (source,) = session.exec(select(Source)).all()
    assert event.hidden and event.title == "Atelier Raspberry Pi pour les ados"
    assert event.start and event.start.hour == 13  # 14:00 in Paris, UTC+1 in December
    assert (source.kind, source.state, source.contact_email) == (
        "form",
        "paused",
        "club@robot13.example",
    )
    assert "Raspberry" not in client.get("/?from=2026-12-09&to=2026-12-09").text
    bad = post_form(
        client,
        "/submit/event",
        {"title": "Sans contact", "day": "2026-12-09", "organizer": "X", "contact_email": "nope"},
    )
    assert bad.status_code == 422 and 'value="Sans contact"' in bad.text


def test_preview_shows_the_other_tech_events_of_the_same_evening(
    client: TestClient, http_server: LoopbackHTTPServer, sqlite_engine: Engine
) -> None:
    from datetime import UTC, date, datetime

    from aggregator.models import Event

    with session_scope(sqlite_engine) as session:
        session.add(
            Event(
                title="Marseille JUG : Java 25",
                start=datetime(2026, 12, 8, 18, 0, tzinfo=UTC),  # 19:00 in Marseille
                start_date=date(2026, 12, 8),
                in_region=True,
                insee="13055",
                city="Marseille",
                relevance=2.0,
            )
        )
    feed = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//FR\r\nBEGIN:VEVENT\r\n"
        "UID:rust-1@example.org\r\nDTSTART;TZID=Europe/Paris:20261208T183000\r\n"
        "DTEND;TZID=Europe/Paris:20261208T210000\r\nSUMMARY:Meetup Rust Marseille\r\n"
        "LOCATION:La Coque, 2 rue Henri Barbusse, 13001 Marseille\r\nEND:VEVENT\r\n"
        "END:VCALENDAR\r\n"
    )
    url = http_server.add("/rust.ics", feed, content_type="text/calendar")
    html = post_form(client, "/submit/preview", {"url": url}).text
    assert "Le même soir dans la région" in html
    assert "Marseille JUG : Java 25" in html and "19:00" in html
