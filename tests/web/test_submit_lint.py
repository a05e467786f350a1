"""The organizer preview shows the source check's findings, in the page language."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from aggregator.db import session_scope
from aggregator.models import Source
from tests.support.httpserver import LoopbackHTTPServer
from tests.web.conftest import NOW, post_form

LINT = Path(__file__).parent.parent / "data" / "lint"
ICAL = {"Content-Type": "text/calendar; charset=utf-8"}


@pytest.fixture
def quick_client(app: FastAPI) -> TestClient:
    app.state.refetch_delay = 0.0  # the two fetches for UIDs, without the wait
    return TestClient(app)


def test_a_churning_uid_feed_is_flagged_at_submission(
    quick_client: TestClient, http_server: LoopbackHTTPServer
) -> None:
    template = (LINT / "churning-uids.ics.tmpl").read_text(encoding="utf-8")
    url = http_server.add_sequence(
        "/agenda.ics", [(200, template.replace("{n}", str(n)).encode(), ICAL) for n in (1, 2)]
    )
    html = post_form(quick_client, "/submit/preview", {"url": url}).text
    assert "À corriger dans votre flux" in html
    assert "2 événement(s) changent d&#39;identifiant (UID)" in html
    assert "Repair café électronique" in html and "<strong>2</strong>" in html
    assert http_server.hits("/agenda.ics") == 2


def test_a_new_york_zone_for_an_aix_venue_is_explained_in_english(
    quick_client: TestClient, http_server: LoopbackHTTPServer
) -> None:
    url = http_server.add(
        "/aix-ia/events/ical/", (LINT / "meetup-new-york-zone.ics").read_bytes(), headers=ICAL
    )
    html = post_form(quick_client, "/submit/preview?lang=en", {"url": url}).text
    assert "What to fix in your feed" in html
    assert "2 event(s) in America/New_York while the venue is in the region" in html
    assert "for example: IA générative" in html


def test_a_robots_txt_that_forbids_us_is_said_before_anything_is_fetched(
    quick_client: TestClient, http_server: LoopbackHTTPServer
) -> None:
    http_server.add("/robots.txt", "User-agent: *\nDisallow: /\n", content_type="text/plain")
    url = http_server.add("/feed.ics", (LINT / "meetup-aix-devops.ics").read_bytes(), headers=ICAL)
    response = post_form(quick_client, "/submit/preview", {"url": url})
    assert response.status_code == 422 and "robots.txt" in response.text
    assert http_server.hits("/feed.ics") == 0


def test_a_sound_feed_shows_no_findings(
    quick_client: TestClient, http_server: LoopbackHTTPServer
) -> None:
    url = http_server.add(
        "/aix-devops/events/ical/", (LINT / "meetup-aix-devops.ics").read_bytes(), headers=ICAL
    )
    html = post_form(quick_client, "/submit/preview", {"url": url}).text
    assert "À corriger" not in html and "<strong>3</strong>" in html


def test_the_health_mail_link_fills_the_form(quick_client: TestClient) -> None:
    page = quick_client.get("/submit?url=https://www.meetup.com/fr-FR/aix-ia/events/ical/")
    assert 'value="https://www.meetup.com/fr-FR/aix-ia/events/ical/"' in page.text
    assert 'value=""' in quick_client.get("/submit?url=javascript:alert(1)").text


def test_the_admin_check_button_runs_the_check_and_shows_its_findings(
    admin_client: TestClient, app: FastAPI, http_server: LoopbackHTTPServer, sqlite_engine: Engine
) -> None:
    app.state.refetch_delay = 0.0
    url = http_server.add(
        "/aix-ia/events/ical/", (LINT / "meetup-new-york-zone.ics").read_bytes(), headers=ICAL
    )
    with session_scope(sqlite_engine) as session:
        source = Source(name="IA & Data Aix", url=url, state="pending", created_at=NOW)
        session.add(source)
        session.flush()
        source_id = source.id
    assert f'action="/admin/sources/{source_id}/check"' in admin_client.get("/admin").text
    page = post_form(admin_client, f"/admin/sources/{source_id}/check", {})
    assert page.status_code == 200 and "2 événement(s) en America/New_York" in page.text
    assert "événements à venir : <strong>2</strong>" in page.text
    with session_scope(sqlite_engine) as session:
        stored = session.get(Source, source_id)
        assert stored is not None and stored.state == "pending"
        assert stored.detected_format == "meetup"  # the platform the iCalendar shows
