"""Source-provided strings, ingested for real from a hostile agenda, come out inert in the
pages, the feeds, the API and the digest; subscriber addresses cannot smuggle headers."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from aggregator.errors import InvalidInputError
from aggregator.ingest import ingest_events
from aggregator.models import Event, Source
from aggregator.raw import SourceDefaults
from aggregator.settings import Settings
from crawlers.parsers import parse_document
from newsletter.send import send_digest
from newsletter.subscribers import normalize_email
from tests.hardening.helpers import add_source, hardening_settings
from tests.newsletter.conftest import WEEK, add_subscriber
from tests.support.smtpserver import LoopbackSMTPServer
from web.app import create_app
from web.security import CSRF_COOKIE

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
XSS = "<img src=x onerror=alert(1)>"
HOSTILE = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Hostile//Agenda//FR\r\n"
    "BEGIN:VEVENT\r\n"
    "UID:hostile-1@agenda.example\r\n"
    "DTSTAMP:20261120T090000Z\r\n"
    "DTSTART;TZID=Europe/Paris:20261202T183000\r\n"
    "DTEND;TZID=Europe/Paris:20261202T210000\r\n"
    f"SUMMARY:{XSS} Meetup Python Marseille\\nBcc: victime@exemple.fr\r\n"
    "URL:javascript:alert(document.cookie)\r\n"
    "LOCATION:La Coque\\, 36 rue de la République\\, 13002 Marseille\r\n"
    'ORGANIZER;CN="</script><script>alert(3)</script>":mailto:orga@exemple.fr\r\n'
    'DESCRIPTION:<p>Conférences Python et data. <a href="https://meetup.example/py">'
    'Inscription</a></p><script>alert(2)</script><a href="javascript:alert(4)">clic</a>'
    '<iframe src="https://evil.example"></iframe><b onclick="alert(5)">gras</b>\r\n'
    "END:VEVENT\r\nEND:VCALENDAR\r\n"
)
HTML_SUMMARY = (
    '<p>Conférences Python et data. <a href="https://meetup.example/py">Inscription</a></p>'
    '<script>alert(2)</script><a href="javascript:alert(4)">clic</a>'
    '<iframe src="https://evil.example"></iframe><b onclick="alert(5)">gras</b>'
)
DANGEROUS = ("<img src=x", "<script>alert", "javascript:", "onerror=alert", "onclick=", "<iframe")


@pytest.fixture
def hostile(sqlite_engine: Engine, settings: Settings) -> int:
    """The hostile agenda parsed and ingested the way a crawl does; returns the event id."""
    url = "https://agenda.example/hostile.ics"
    source_id = add_source(sqlite_engine, url, name="Agenda piégé")
    result = parse_document(
        HOSTILE.encode(),
        url=url,
        headers={"Content-Type": "text/calendar"},
        defaults=SourceDefaults(),
    )
    assert result.events
    # iCal descriptions are plain text; a feed's HTML summary reaches ingest like this:
    events = [e.with_(description=HTML_SUMMARY) for e in result.events]
    with Session(sqlite_engine) as session:
        source = session.get(Source, source_id)
        assert source is not None
        ingest_events(session, source, events, now=NOW, complete=True, settings=settings)
        session.commit()
        event = session.exec(select(Event)).one()
        assert event.id is not None
        return event.id


@pytest.fixture
def app(settings: Settings, sqlite_engine: Engine) -> FastAPI:
    return create_app(settings, clock=lambda: NOW)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def test_the_stored_description_is_sanitized_and_its_links_are_nofollow_noopener(
    sqlite_engine: Engine, hostile: int
) -> None:
    with Session(sqlite_engine) as session:
        event = session.get(Event, hostile)
        assert event is not None
        html = event.description_html or ""
    assert 'href="https://meetup.example/py"' in html
    assert 'rel="nofollow noopener"' in html
    for bad in DANGEROUS:
        assert bad not in html
    assert not (event.url or "").lower().startswith("javascript:")


@pytest.mark.parametrize(
    "path", ["/", "/events/{id}", "/feed.xml", "/feed.ics", "/api/events", "/events/{id}.ics"]
)
def test_a_hostile_title_and_link_come_out_inert_on_every_page_and_feed(
    client: TestClient, hostile: int, path: str
) -> None:
    response = client.get(path.format(id=hostile))
    assert response.status_code == 200
    body = response.text
    assert "Meetup Python Marseille" in body  # the event is there...
    for bad in DANGEROUS:  # ...but nothing of it runs
        assert bad not in body, f"{bad!r} in {path}"
    if path == "/api/events":
        item = json.loads(body)["items"][0]
        assert "<img" not in item["title"]  # markup in a title is dropped at normalize
        assert "<script" not in (item["description"] or "")


def test_the_digest_of_a_hostile_event_is_inert_and_its_headers_whole(
    tmp_path: Path,
    sqlite_engine: Engine,
    sqlite_url: str,
    hostile: int,
    smtp_server: LoopbackSMTPServer,
) -> None:
    with Session(sqlite_engine) as session:
        add_subscriber(session, "lecteur@exemple.fr", topics=[])
        session.commit()
    settings = hardening_settings(
        tmp_path,
        sqlite_url,
        mail_url=smtp_server.url,
        digest_send_empty=True,
    )
    report = send_digest(sqlite_engine, settings, week=WEEK, now=NOW)
    time.sleep(0.05)
    assert report.sent == 1
    (msg,) = smtp_server.messages
    assert smtp_server.envelopes[0][1] == ["lecteur@exemple.fr"]
    assert msg["Bcc"] is None and "victime" not in str(msg["To"])
    html = msg.get_body(("html",))
    text = msg.get_body(("plain",))
    assert html is not None and text is not None
    content = html.get_content()
    assert "Meetup Python Marseille" in content
    for bad in DANGEROUS:
        assert bad not in content
    assert "Meetup Python Marseille" in text.get_content()
    assert "javascript:" not in text.get_content()


@pytest.mark.parametrize(
    "address",
    [
        "lea@exemple.fr\r\nBcc: tous@exemple.fr",
        "lea@exemple.fr\nSubject: gagné",
        "Léa <lea@exemple.fr>",
        "lea@exemple.fr, autre@exemple.fr",
        "lea@exemple.fr\x00",
        "lea@@exemple.fr",
        "lea@",
        "@exemple.fr",
        "lea exemple.fr",
        "lea@exemple",
        "a" * 250 + "@exemple.fr",
    ],
)
def test_addresses_that_could_smuggle_headers_or_recipients_are_refused(address: str) -> None:
    with pytest.raises(InvalidInputError):
        normalize_email(address)


def test_a_header_injection_through_the_subscribe_form_sends_nothing(
    client: TestClient, settings: Settings
) -> None:
    client.get("/subscribe")
    response = client.post(
        "/subscribe",
        data={
            "email": "lea@exemple.fr\r\nBcc: tous@exemple.fr",
            "csrf_token": client.cookies[CSRF_COOKIE],
        },
    )
    assert response.status_code == 422
    outbox = settings.data_dir.parent / "outbox"
    assert not outbox.exists() or not any(outbox.iterdir())
