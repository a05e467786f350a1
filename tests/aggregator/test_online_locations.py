"""Online events told by their location: the text stays a location, never a town."""

from __future__ import annotations

from datetime import datetime

import pytest

from aggregator.normalize import normalize
from aggregator.place import hybrid_parts, is_online_location, is_online_url
from aggregator.raw import RawEvent, SourceDefaults
from aggregator.regions import load_region


@pytest.mark.parametrize(
    "text",
    [
        "Online event", "En ligne", "Événement en ligne", "Distanciel", "Visio",
        "Visioconférence Jitsi", "Google Meet", "Microsoft Teams", "BigBlueButton",
        "Salon vocal Discord", "Serveur Mumble de l'April", "(En ligne)",
        "https://meet.jit.si/atelier", "mumble://mumble.example.org", "https://zoom.us/j/123",
    ],
)  # fmt: skip
def test_remote_locations_are_online(text: str) -> None:
    assert is_online_location(text)


@pytest.mark.parametrize(
    "text",
    [
        "La Coque", "Le Web Café, Marseille", "Café Web", "Le Meet Point, Aix",
        "Zoom, 12 rue de la République, 13001 Marseille", "Zoomcamp Marseille",
        "https://example.com/event",
    ],
)  # fmt: skip
def test_places_with_lookalike_words_are_not_online(text: str) -> None:
    assert not is_online_location(text)


def test_voice_and_chat_server_addresses_are_online_urls() -> None:
    assert is_online_url("mumble://voix.example.org:64738") and is_online_url(
        "https://bbb.example.fr/b/x"
    )


def test_hybrid_locations_keep_their_place() -> None:
    assert hybrid_parts("Aubagne & visio") == ("Aubagne", True)
    assert hybrid_parts("La Coque (et en ligne)") == ("La Coque", True)
    assert hybrid_parts("Live Nation Arena") == ("Live Nation Arena", False)


def test_online_given_as_the_town_becomes_the_location_not_a_town() -> None:
    region = load_region("aix-marseille")
    raw = RawEvent(title="Meetup Rust", start=datetime(2026, 11, 12, 18, 30), city="Online")
    event = normalize(raw, defaults=SourceDefaults(city="Marseille"), region=region)
    assert (event.online, event.city, event.venue, event.in_region) == (True, None, "Online", False)
