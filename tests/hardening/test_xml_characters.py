"""Characters XML forbids never reach the store through normalize, nor any feed we write."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree as ET

from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from icalendar import Calendar
from sqlalchemy.engine import Engine
from sqlmodel import Session

from aggregator.models import Event
from aggregator.normalize import clean_title, normalize, sanitize_html
from aggregator.raw import RawEvent, SourceDefaults
from aggregator.regions import load_region
from aggregator.settings import Settings
from aggregator.xmltext import drop_xml_illegal, has_xml_illegal
from newsletter.tokens import make_token
from tests.newsletter.conftest import add_subscriber
from web.app import create_app

REGION = load_region("aix-marseille")
PARIS = SourceDefaults(timezone="Europe/Paris", language="fr")
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ATOM = "{http://www.w3.org/2005/Atom}"
ILLEGAL = ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x0e", "\x1f", "\ufffe", "\uffff", "\ud800",
           "\udfff"]


def test_every_forbidden_character_is_dropped_and_the_allowed_ones_stay() -> None:
    assert drop_xml_illegal("a" + "".join(ILLEGAL) + "b") == "ab"
    kept = "tab\there\nline\rreturn é € \ufffd \U0001f600 \ue000"
    assert drop_xml_illegal(kept) == kept


def test_normalize_drops_forbidden_characters_from_every_text_field() -> None:
    raw = RawEvent(
        title="Meetup\ufffe Python\uffff Marseille\x0b",
        start=datetime(2026, 12, 3, 19, 0),
        description="Présentations\x00 et\ud800 démos",
        venue="La Coque\x1f",
        city="Marseille\x0c",
        organizer="Python\ufffe Marseille",
        categories=("python\uffff",),
        url="https://meetup.example/e/1",
    )
    event = normalize(raw, defaults=PARIS, region=REGION)
    assert event.title == "Meetup Python Marseille"
    for f in dataclasses.fields(event):
        value = getattr(event, f.name)
        if isinstance(value, str):
            assert not has_xml_illegal(value), f.name
    assert clean_title("Soirée &#xFFFE;Rust&#xffff;") == "Soirée Rust"


@given(st.text())
def test_cleaned_titles_and_descriptions_never_hold_a_forbidden_character(text: str) -> None:
    assert not has_xml_illegal(clean_title(text))
    assert not has_xml_illegal(sanitize_html(text) or "")


def test_an_event_titled_with_u_fffe_gives_well_formed_feeds_with_a_readable_title(
    settings: Settings, sqlite_engine: Engine
) -> None:
    start = NOW + timedelta(days=2)
    with Session(sqlite_engine, expire_on_commit=False) as s:
        # A row stored before normalize dropped these characters.
        s.add(
            Event(
                title="Soirée\ufffe Rust\uffff à Marseille",
                description_text="Démos\x0b et\x00 apéro",
                venue="La Coque\ufffe",
                start=start,
                end=start + timedelta(hours=2),
                start_date=start.date(),
                in_region=True,
                insee="13055",
                city="Marseille",
                topics=["web-mobile"],
                relevance=3.0,
                created_at=NOW,
                updated_at=NOW,
            )
        )
        reader = add_subscriber(s, "lea@exemple.fr")
        s.commit()
    feed = make_token(settings, reader, "feed")
    with TestClient(create_app(settings, clock=lambda: NOW)) as client:
        atoms = [client.get("/feed.xml"), client.get(f"/me/{feed}/feed.xml")]
        calendars = [client.get("/feed.ics"), client.get(f"/me/{feed}/events.ics")]
    for answer in atoms:
        assert answer.status_code == 200
        root = ET.fromstring(answer.content)  # raises when not well-formed
        titles = [e.findtext(f"{ATOM}title") for e in root.iter(f"{ATOM}entry")]
        assert "Soirée Rust à Marseille" in titles
        assert not has_xml_illegal(answer.content.decode("utf-8", "surrogatepass"))
    for answer in calendars:
        assert answer.status_code == 200
        text = answer.content.decode()
        assert not has_xml_illegal(text.replace("\r", "").replace("\n", "").replace("\t", ""))
        summaries = [str(c["summary"]) for c in Calendar.from_ical(answer.content).walk("VEVENT")]
        assert "Soirée Rust à Marseille" in summaries
