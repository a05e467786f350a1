"""Mobilizon and Gancio: ActivityPub ``Event`` objects (alone, in a ``Create``, in an
outbox page), Mobilizon's iCalendar feed, and Gancio's ``/api/events`` JSON."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from aggregator.raw import SourceDefaults
from crawlers.parsers import ParseResult, parse_document

DATA = Path(__file__).resolve().parents[1] / "data" / "platforms"
DEFAULTS = SourceDefaults(timezone="Europe/Paris")


def parse(path: str, url: str = "https://example.org/doc") -> ParseResult:
    return parse_document((DATA / path).read_bytes(), url=url, headers={}, defaults=DEFAULTS)


@pytest.mark.parametrize(
    ("path", "platform"),
    [
        ("activitypub/mobilizon-event.json", "mobilizon"),
        ("activitypub/mobilizon-create-online.json", "mobilizon"),
        ("activitypub/mobilizon-outbox-page.json", "mobilizon"),
        ("activitypub/mobilizon-feed.ics", "mobilizon"),
        ("activitypub/gancio-event.json", "gancio"),
        ("gancio/api-events.json", "gancio"),
    ],
)
def test_each_fediverse_document_names_its_platform(path: str, platform: str) -> None:
    result = parse(path)
    assert result.platform == platform and result.events


def test_a_mobilizon_event_reads_its_postal_address_tags_and_banner() -> None:
    (event,) = parse("activitypub/mobilizon-event.json").events
    assert (event.venue, event.address, event.postcode, event.city, event.country) == (
        "Le Ligoures",
        "Place Romée de Villeneuve",
        "13090",
        "Aix-en-Provence",
        "France",
    )
    assert event.categories == ("logiciellibre", "linux")
    assert event.image == "https://mobilizon.example.fr/media/banner-rll.jpg"
    assert event.online is False


def test_an_online_mobilizon_event_in_a_create_keeps_its_visio_link() -> None:
    (event,) = parse("activitypub/mobilizon-create-online.json").events
    assert (event.online, event.online_url) == (True, "https://meet.jit.si/apero-nextcloud-assos")


def test_an_outbox_page_gives_its_events_and_skips_notes_and_bare_links() -> None:
    events = parse("activitypub/mobilizon-outbox-page.json").events
    assert sorted(e.title for e in events) == [
        "Apéro visio : Nextcloud pour les assos",
        "Install party de décembre",
    ]
    assert {e.title: e.status for e in events}["Install party de décembre"] == "cancelled"


def test_gancio_api_skips_hidden_events_and_recurrent_parents_and_links_event_pages() -> None:
    events = parse("gancio/api-events.json", "https://gancio.example.org/api/events").events
    assert [e.uid for e in events] == ["201", "211", "212", "230"]
    assert {e.series_uid for e in events if e.title == "Permanence Linux"} == {"210"}
    first = events[0]
    assert first.url == "https://gancio.example.org/event/atelier-velo-arduino"
    assert first.image == "https://gancio.example.org/media/7c1e0f.jpg"
    assert first.start == datetime(2026, 9, 19, 12, 0, tzinfo=UTC)
    assert first.start.isoformat() == "2026-09-19T14:00:00+02:00"  # the source's zone
    assert (first.postcode, first.city) == ("13002", "Marseille")


def test_a_gancio_event_on_a_voice_server_is_online() -> None:
    events = parse("gancio/api-events.json", "https://gancio.example.org/api/events").events
    mumble = events[-1]
    assert (mumble.online, mumble.online_url) == (True, "mumble://mumble.example.org:64738/jeudi")


def test_a_mobilizon_atom_feed_is_named_by_its_generator() -> None:
    result = parse("activitypub/mobilizon-group.atom")
    assert result.platform == "mobilizon" and result.format == "atom"
