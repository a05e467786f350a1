"""A subscriber's personal calendar holds every upcoming event matching the preferences,
up to six months ahead; it is offered as webcal:// and add-to-app links; its name carries
no email address."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

from fastapi.testclient import TestClient
from icalendar import Calendar
from sqlalchemy.engine import Engine
from sqlmodel import Session

from aggregator.models import Event
from aggregator.settings import Settings
from newsletter.tokens import make_token
from tests.newsletter.conftest import add_subscriber
from tests.web.conftest import NOW
from web.present import subscribe_links, webcal_url


def _event(session: Session, title: str, days: int, topics: list[str]) -> None:
    start = NOW + timedelta(days=days, hours=9)
    session.add(Event(title=title, start=start, end=start + timedelta(hours=2), city="Marseille",
                      insee="13055", in_region=True, relevance=3.0, topics=topics,
                      timezone="Europe/Paris", created_at=NOW, updated_at=NOW))


def test_the_personal_calendar_reaches_six_months_ahead_without_the_email_in_its_name(
    client: TestClient, settings: Settings, sqlite_engine: Engine
) -> None:
    with Session(sqlite_engine, expire_on_commit=False) as session:
        _event(session, "Meetup Python dans dix jours", 10, ["web-mobile"])
        _event(session, "Meetup Python dans cent jours", 100, ["web-mobile"])
        _event(session, "Meetup Python dans deux cents jours", 200, ["web-mobile"])
        _event(session, "Atelier soudure dans vingt jours", 20, ["fablab-hardware"])
        sub = add_subscriber(session, "lea@example.org", topics=["web-mobile"], towns=["13055"])
        session.commit()
    token = make_token(settings, sub, "feed")
    calendar = Calendar.from_ical(client.get(f"/me/{token}/events.ics").content)
    titles = {str(e["summary"]) for e in calendar.walk("VEVENT")}
    assert {"Meetup Python dans dix jours", "Meetup Python dans cent jours"} <= titles
    assert "Meetup Python dans deux cents jours" not in titles
    assert "Atelier soudure dans vingt jours" not in titles
    name = str(calendar.get("X-WR-CALNAME", "")) + str(calendar.get("NAME", ""))
    assert "lea@example.org" not in client.get(f"/me/{token}/events.ics").text
    assert "Agenda tech" in name
    atom = client.get(f"/me/{token}/feed.xml").text
    assert "Meetup Python dans cent jours" in atom


def test_the_preferences_page_offers_webcal_and_add_to_calendar_buttons(
    client: TestClient, settings: Settings, sqlite_engine: Engine
) -> None:
    with Session(sqlite_engine, expire_on_commit=False) as session:
        sub = add_subscriber(session, "lea@example.org", topics=["web-mobile"])
        session.commit()
    html = client.get(f"/preferences/{make_token(settings, sub, 'preferences')}").text
    feed = make_token(settings, sub, "feed")
    assert re.search(rf'href="webcal://[^"/]+/me/{re.escape(feed)}/events.ics"', html)
    for label in ("Ajouter à Google Agenda", "Ajouter à Apple Calendrier", "Ajouter à Outlook"):
        assert label in html


def test_subscribe_links_point_each_app_at_the_same_feed() -> None:
    links = subscribe_links("https://agenda.example/me/t/events.ics", "Agenda tech")
    assert links["webcal"] == links["apple"] == "webcal://agenda.example/me/t/events.ics"
    google = parse_qs(urlsplit(links["google"]).query)
    assert google["cid"] == ["webcal://agenda.example/me/t/events.ics"]
    outlook = parse_qs(urlsplit(links["outlook"]).query)
    assert outlook["url"] == ["https://agenda.example/me/t/events.ics"]
    assert webcal_url("ftp://x/y.ics") == "ftp://x/y.ics"
