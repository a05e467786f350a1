"""Meetup: events from a group or event page's Apollo state (``__NEXT_DATA__``), and the
group's iCalendar export, with locale segments removed from the event addresses."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from aggregator.raw import SourceDefaults
from crawlers.parsers import ParseResult, parse_document
from crawlers.parsers.meetup import normalise_url

DATA = Path(__file__).resolve().parents[1] / "data" / "platforms" / "meetup"
DEFAULTS = SourceDefaults(
    timezone=None,
    window_start=datetime(2026, 3, 1, tzinfo=UTC),
    window_end=datetime(2027, 3, 1, tzinfo=UTC),
)


def parse(name: str) -> ParseResult:
    body = (DATA / name).read_bytes()
    return parse_document(body, url="https://example.org/page", headers={}, defaults=DEFAULTS)


@pytest.mark.parametrize(
    "name", ["group-events.html", "event-page-hybrid.html", "group-export.ics"]
)
def test_meetup_pages_and_exports_are_recognised_by_their_content(name: str) -> None:
    assert parse(name).platform == "meetup"


def test_a_group_page_gives_every_event_of_its_apollo_state() -> None:
    events = {e.uid: e for e in parse("group-events.html").events}
    assert set(events) == {"305118842", "305118990", "305119021", "299001122"}
    rust = events["305118842"]
    assert (rust.venue, rust.city, rust.postcode, rust.online) == (
        "La Coque",
        "Marseille",
        "13001",
        False,
    )
    assert rust.url == "https://www.meetup.com/marseille-rust/events/305118842/"
    assert rust.end is not None and rust.end.isoformat() == "2026-10-13T21:30:00+02:00"
    assert events["305119021"].status == "cancelled"


def test_an_online_event_keeps_its_link_and_drops_the_placeholder_coordinates() -> None:
    online = next(e for e in parse("group-events.html").events if e.uid == "305118990")
    assert online.online is True
    assert online.online_url == "https://meet.jit.si/rust-marseille-revue"
    assert (online.latitude, online.longitude) == (None, None)
    assert online.start is not None and online.start.isoformat() == "2026-11-03T19:30:00+01:00"


def test_the_apollo_state_wins_over_the_thinner_json_ld_of_an_event_page() -> None:
    (event,) = parse("event-page-hybrid.html").events
    assert event.source_format == "meetup"
    assert (event.online, event.city) == (True, "Aix-en-Provence")
    assert event.url == "https://www.meetup.com/aix-data-ia/events/306440017/"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.meetup.com/fr-FR/g/events/1/", "https://www.meetup.com/g/events/1/"),
        ("https://meetup.com/en-US/g/events/1/", "https://meetup.com/g/events/1/"),
        ("https://www.meetup.com/fr/g/events/1/", "https://www.meetup.com/g/events/1/"),
        ("https://www.meetup.com/g/events/1/", "https://www.meetup.com/g/events/1/"),
        ("https://example.org/fr-FR/x/", "https://example.org/fr-FR/x/"),
    ],
)
def test_locale_segments_are_removed_from_meetup_addresses_only(url: str, expected: str) -> None:
    assert normalise_url(url) == expected


def test_other_groups_suggested_events_in_the_cache_are_left_out() -> None:
    titles = {e.title for e in parse("group-events.html").events}
    assert "Kotlin Lyon : coroutines" not in titles and len(titles) == 4


def test_an_event_page_gives_its_own_event_only() -> None:
    assert [e.uid for e in parse("event-page-hybrid.html").events] == ["306440017"]
