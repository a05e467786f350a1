"""The organizer preview reads an anonymous visitor's document in a limited child process:
a hostile calendar gets a plain finding, the preview shows events as they would be stored."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from crawlers.document import Limits
from tests.crawlers.test_document import TEXT, many_events
from tests.support.httpserver import LoopbackHTTPServer
from tests.web.conftest import post_form


def test_a_calendar_too_heavy_to_read_gets_a_clear_finding_in_french_and_english(
    app: FastAPI, client: TestClient, http_server: LoopbackHTTPServer
) -> None:
    app.state.read_limits = Limits(memory_mb=64, seconds=30)
    url = http_server.add("/hostile.ics", many_events(12_000), content_type="text/calendar")
    response = post_form(client, "/submit/preview", {"url": url})
    assert response.status_code == 422
    assert "Document trop complexe" in response.text
    english = post_form(client, "/submit/preview", {"url": url}, headers={"Accept-Language": "en"})
    assert "Document too complex" in english.text


def test_the_preview_shows_what_would_be_stored(
    client: TestClient, http_server: LoopbackHTTPServer
) -> None:
    body = (TEXT / "drupal-agenda-time.html").read_bytes()
    url = http_server.add("/agenda", body, content_type="text/html; charset=utf-8")
    html = post_form(client, "/submit/preview", {"url": url}).text
    assert "[cancelled] Webinaire : l&#39;IA générative pour les collectivités" in html
    rows = html.split("Événements détectés", 1)[1]
    assert "[ANNULÉ]" not in rows  # the rows show the title as stored, its status apart
    assert "Cité du Livre, Aix-en-Provence" in html
    assert "html-time" in html  # the platform recognised
