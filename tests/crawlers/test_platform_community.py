"""Bevy chapters, developers.events, Luma calendars and Eventbrite's API: each read by
its content and named as its platform."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from aggregator.raw import SourceDefaults
from crawlers.parsers import ParseResult, parse_document

DATA = Path(__file__).resolve().parents[1] / "data" / "platforms"
DEFAULTS = SourceDefaults(timezone=None)


def parse(path: str, defaults: SourceDefaults = DEFAULTS) -> ParseResult:
    body = (DATA / path).read_bytes()
    return parse_document(body, url="https://example.org/doc", headers={}, defaults=defaults)


@pytest.mark.parametrize(
    ("path", "platform"),
    [
        ("bevy/chapter-events.json", "bevy"),
        ("bevy/chapter-page.html", "bevy"),
        ("devevents/all-events.json", "developers.events"),
        ("luma/calendar.ics", "luma"),
        ("eventbrite/organizer-events.json", "eventbrite"),
    ],
)
def test_each_community_platform_is_named_from_its_content(path: str, platform: str) -> None:
    result = parse(path)
    assert result.platform == platform and result.events


def test_bevy_reads_the_event_type_and_a_cancelled_status() -> None:
    by_id = {e.uid: e for e in parse("bevy/chapter-events.json").events}
    assert by_id["81301"].online is True and by_id["81301"].venue is None
    assert by_id["81234"].online is False and by_id["81234"].postcode == "13007"
    assert by_id["81355"].status == "cancelled"
    assert by_id["81234"].organizer == "GDG Aix-Marseille"


def test_developers_events_are_all_day_conferences_from_first_to_last_day() -> None:
    devoxx = next(
        e for e in parse("devevents/all-events.json").events if e.title == "Devoxx France"
    )
    assert (devoxx.start, devoxx.end, devoxx.all_day) == (
        date(2026, 4, 15),
        date(2026, 4, 17),
        True,
    )


@pytest.mark.parametrize(
    ("towns", "mapping", "kept"),
    [
        ("Marseille, Aix-en-Provence", None, ["Provence Tech Day", "Aix JS Conf"]),
        ("aix en provence", None, ["Aix JS Conf"]),
        ("AIX-EN-PROVENCE", None, ["Aix JS Conf"]),
        (None, {"cities": "Sophia Antipolis; Marseille"}, ["Riviera DEV", "Provence Tech Day"]),
    ],
)
def test_developers_events_keep_the_towns_the_source_names(
    towns: str | None, mapping: dict[str, str] | None, kept: list[str]
) -> None:
    defaults = SourceDefaults(timezone=None, city=towns, mapping=mapping)
    assert [e.title for e in parse("devevents/all-events.json", defaults).events] == kept


def test_luma_takes_the_event_page_from_the_description_and_not_as_a_venue() -> None:
    demo, office = parse("luma/calendar.ics").events
    assert demo.url == "https://lu.ma/ai-demo-night-mrs" and demo.venue == "The Camp"
    assert office.url == "https://lu.ma/office-hours-agents" and office.venue is None


def test_eventbrite_reads_local_times_venues_online_and_leaves_drafts_out() -> None:
    events = parse("eventbrite/organizer-events.json").events
    assert [e.uid for e in events] == ["912345678901", "912345678955"]
    afterwork, webinar = events
    assert afterwork.start is not None
    assert afterwork.start.isoformat() == "2026-10-29T18:30:00+01:00"
    assert (afterwork.venue, afterwork.postcode, afterwork.latitude) == (
        "Le Golden Tulip Euromed",
        "13002",
        43.3094,
    )
    assert (webinar.online, webinar.status) == (True, "cancelled")


@pytest.mark.parametrize(
    ("location", "url"),
    [
        ("https://lu.ma/abc123", "https://lu.ma/abc123"),
        ("https://luma.com/event/evt-9xY", "https://luma.com/event/evt-9xY"),
    ],
)
def test_a_luma_location_that_is_the_event_page_becomes_its_url(location: str, url: str) -> None:
    ics = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Luma//EN\r\nBEGIN:VEVENT\r\n"
        "UID:evt-1@events.lu.ma\r\nDTSTART:20261015T163000Z\r\nSUMMARY:Demo\r\n"
        f"LOCATION:{location}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    result = parse_document(
        ics.encode(), url="https://api.lu.ma/ics", headers={}, defaults=DEFAULTS
    )
    (event,) = result.events
    assert (result.platform, event.url, event.venue) == ("luma", url, None)
