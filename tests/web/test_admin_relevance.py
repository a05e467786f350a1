"""The admin's view of the relevance filter: what it keeps out, why, and the two answers."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import select

from aggregator.db import session_scope
from aggregator.ingest import ingest_events
from aggregator.models import Event, Source
from aggregator.raw import RawEvent
from aggregator.settings import Settings
from aggregator.sources import add_source
from tests.support.httpserver import LoopbackHTTPServer
from tests.web.conftest import NOW, post_form


def _crawl_city_agenda(engine: Engine, settings: Settings) -> int:
    """A city agenda (mixed scope) lists a concert, a Python workshop and a board-game night."""
    start = datetime(2026, 12, 2, 18, 0)
    batch = [
        RawEvent(title="Concert de jazz manouche", start=start, uid="c1@ville", city="Marseille",
                 description="Un trio en plein air."),
        RawEvent(title="Initiation à Python", start=start + timedelta(days=1), uid="c2@ville",
                 city="Marseille", description="Atelier de programmation pour ados."),
        RawEvent(title="Soirée jeux de société", start=start + timedelta(days=2), uid="c3@ville",
                 city="Marseille", description="Venez jouer entre amis."),
    ]
    with session_scope(engine) as session:
        city = add_source(session, "https://ville.example/agenda.ics", name="Ville", kind="city",
                          now=NOW)
        ingest_events(session, city, batch, now=NOW, complete=True, settings=settings)
        return city.id or 0


def _form_action(page: str, button: str, near: str) -> str:
    """The action of the form holding ``button`` in the table row that shows ``near``."""
    row = next(r for r in page.split("<tr") if near in r)
    forms = re.findall(r'<form method="post" action="([^"]+)"[^>]*>(.*?)</form>', row, re.S)
    return next(action for action, body in forms if button in body)


def test_the_filtered_out_toggle_shows_dropped_events_with_their_reason(
    admin_client: TestClient, sqlite_engine: Engine, settings: Settings
) -> None:
    _crawl_city_agenda(sqlite_engine, settings)
    everything = admin_client.get("/admin/events").text
    assert "Initiation à Python" in everything and "Concert de jazz manouche" in everything
    filtered = admin_client.get("/admin/events", params={"filtered": "true"}).text
    assert "Concert de jazz manouche" in filtered and "Soirée jeux de société" in filtered
    assert "Initiation à Python" not in filtered
    assert "hors sujet (source mixte)" in filtered and "concert" in filtered
    assert "C&#39;est tech" in filtered or "C'est tech" in filtered


def test_this_is_tech_publishes_the_event_and_keeps_it_across_crawls(
    admin_client: TestClient, sqlite_engine: Engine, settings: Settings
) -> None:
    _crawl_city_agenda(sqlite_engine, settings)
    with session_scope(sqlite_engine) as session:
        games = session.exec(select(Event).where(Event.title == "Soirée jeux de société")).one()
        games_id = games.id
    assert "Soirée jeux de société" not in admin_client.get("/").text  # the public agenda
    assert "Initiation à Python" in admin_client.get("/").text
    page = admin_client.get("/admin/events", params={"filtered": "true"}).text
    action = _form_action(page, "tech", "Soirée jeux de société")
    response = post_form(admin_client, action, {}, follow_redirects=False)
    assert response.status_code == 303
    assert "Soirée jeux de société" in admin_client.get("/").text
    _crawl_city_agenda(sqlite_engine, settings)  # the next crawl brings the same events
    assert "Soirée jeux de société" in admin_client.get("/").text
    assert f"/events/{games_id}" in admin_client.get("/").text
    after = admin_client.get("/admin/events", params={"filtered": "true"}).text
    assert "Soirée jeux de société" not in after and "Concert de jazz manouche" in after


def test_lowering_the_threshold_from_the_events_page_edits_the_source(
    admin_client: TestClient, sqlite_engine: Engine, settings: Settings
) -> None:
    city_id = _crawl_city_agenda(sqlite_engine, settings)
    page = admin_client.get("/admin/events", params={"filtered": "true"}).text
    action = _form_action(page, "Baisser le seuil", "Soirée jeux de société")
    response = post_form(admin_client, action, {}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith(
        f"/admin/sources/{city_id}"
    )
    with session_scope(sqlite_engine) as session:
        city = session.get(Source, city_id)
        assert city is not None and city.relevance_threshold == 0.0
    source_page = admin_client.get(response.headers["location"]).text
    assert 'value="mixed" selected' in source_page
    # A threshold of 0 lets everything of the source in but what is clearly off topic.
    filtered = admin_client.get("/admin/events", params={"filtered": "true"}).text
    assert "Soirée jeux de société" not in filtered and "Concert de jazz manouche" in filtered


def test_the_scope_is_shown_and_editable_on_the_source_page(
    admin_client: TestClient, sqlite_engine: Engine, settings: Settings
) -> None:
    city_id = _crawl_city_agenda(sqlite_engine, settings)
    post_form(admin_client, f"/admin/sources/{city_id}",
              {"name": "Ville", "timezone": "Europe/Paris", "scope": "tech"})
    with session_scope(sqlite_engine) as session:
        city = session.get(Source, city_id)
        assert city is not None and city.scope == "tech"
    filtered = admin_client.get("/admin/events", params={"filtered": "true"}).text
    assert "Soirée jeux de société" not in filtered  # rescored: a tech feed keeps it
    assert "Concert de jazz manouche" in filtered  # ...but not a concert
    bad = post_form(admin_client, f"/admin/sources/{city_id}",
                    {"name": "Ville", "timezone": "Europe/Paris", "scope": "both"})
    assert bad.status_code == 422


def test_checking_a_source_from_its_page_shows_the_proposed_scope(
    admin_client: TestClient, sqlite_engine: Engine, http_server: LoopbackHTTPServer
) -> None:
    from tests.crawlers.test_check_scope import CITY_AGENDA

    url = http_server.add("/ville/agenda.ics", CITY_AGENDA.replace("\n", "\r\n"),
                          headers={"Content-Type": "text/calendar; charset=utf-8"})
    with session_scope(sqlite_engine) as session:
        city = add_source(session, url, name="Ville", scope="tech", now=NOW)
        city_id = city.id
    page = admin_client.get(f"/admin/sources/{city_id}").text
    action = re.search(r'<form method="post" action="([^"]+/check)"', page)
    assert action is not None
    post_form(admin_client, action.group(1), {})
    shown = admin_client.get(f"/admin/sources/{city_id}").text
    assert "Portée proposée" in shown and "<strong>mixed</strong>" in shown
    assert "25 %" in shown and "la source est en tech" in shown
