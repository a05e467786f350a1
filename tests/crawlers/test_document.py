"""read_document: one reading path (platform, parse, online, normalise) and its child-process
variant with memory and time limits."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aggregator.errors import ParseError
from aggregator.raw import SourceDefaults
from aggregator.regions import load_region
from crawlers.document import Fetched, Limits, read_document, read_isolated
from crawlers.parsers.common import decode_body, load_json, split_location

TEXT = Path(__file__).resolve().parents[1] / "data" / "text"
DEFAULTS = SourceDefaults(
    timezone="Europe/Paris",
    window_start=datetime(2026, 3, 1, tzinfo=UTC),
    window_end=datetime(2027, 3, 1, tzinfo=UTC),
)


def fetched(name: str, content_type: str = "") -> Fetched:
    headers = {"content-type": content_type} if content_type else {}
    return Fetched((TEXT / name).read_bytes(), f"https://agenda.example.fr/{name}", headers)


@pytest.mark.parametrize(
    ("name", "platform"),
    [
        ("hugo-events-fr.xml", "rss"),
        ("zola-events-en.atom", "atom"),
        ("drupal-agenda-time.html", "html-time"),
        ("wordpress-theme-cards.html", "html-time"),
        ("hcalendar-v1.html", "hcalendar"),
        ("jsonld-stray-text.json", "jsonld"),
        ("utf16-bom-teams.ics", "ical"),
    ],
)
def test_read_document_names_the_platform_it_recognised(name: str, platform: str) -> None:
    assert read_document(fetched(name), DEFAULTS).platform == platform


def test_with_a_region_the_events_come_back_as_ingest_would_store_them() -> None:
    region = load_region("aix-marseille")
    reading = read_document(fetched("drupal-agenda-time.html"), DEFAULTS, region=region)
    by_title = {e.title: e for e in reading.normalized}
    webinar = by_title["Webinaire : l'IA générative pour les collectivités"]
    assert (webinar.status, webinar.online, webinar.venue, webinar.city) == (
        "cancelled",
        True,
        "En ligne",
        None,
    )
    assert by_title["Aix Data Day"].city == "Aix-en-Provence" and by_title["Aix Data Day"].in_region


def test_online_locations_keep_their_text_and_never_become_a_town() -> None:
    events = read_document(fetched("jsonld-stray-text.json"), DEFAULTS).events
    assert (events[0].venue, events[0].city, events[0].online) == ("Online event", None, True)
    cards = {
        e.title: e for e in read_document(fetched("wordpress-theme-cards.html"), DEFAULTS).events
    }
    discord = cards["Hackathon mobilité douce"]
    assert (discord.venue, discord.city, discord.online) == ("Distanciel (Discord)", None, True)
    hybrid = cards["Soirée accessibilité numérique"]
    assert (hybrid.venue, hybrid.city, hybrid.online) == ("La Cantine", "Aubagne", True)
    ics = {
        e.title: e for e in read_document(fetched("mixed-bytes-country-code.ics"), DEFAULTS).events
    }
    mumble = ics["Live coding Elixir"]
    assert (mumble.online, mumble.online_url) == (True, "mumble://mumble.lenode.example.org")


def test_a_country_code_after_the_town_is_not_the_town() -> None:
    assert split_location("Le Node, 12 rue des Étuves, Bègles, fr")[3] == "Bègles"
    assert split_location("Espace Mistral, 5 place de la Joliette, Marseille, France")[3] == (
        "Marseille"
    )


def test_legacy_encodings_are_decoded_as_declared_or_sniffed() -> None:
    text = "Conférence « L’open data » – 2 € – œufs"
    assert decode_body(text.encode("cp1252"), "text/xml; charset=ISO-8859-1") == text
    assert decode_body(
        b'<?xml version="1.0" encoding="latin-1"?>' + text.encode("cp1252")
    ).endswith(text)
    meta = b'<meta http-equiv="Content-Type" content="text/html; charset=windows-1252">'
    assert decode_body(meta + text.encode("cp1252"), "text/html").endswith(text)
    assert decode_body(text.encode("cp1252")) == text  # nothing declared: Windows-1252
    mixed = "Café ".encode() + b"caf\xe9 " + "l’été".encode()
    assert decode_body(mixed, "text/html; charset=utf-8") == "Café café l’été"
    assert decode_body(b"\xff\xfe" + "Réunion".encode("utf-16-le")) == "Réunion"
    reading = read_document(fetched("latin1-declared-feed.rss"), DEFAULTS)
    assert reading.events[0].title == "Conférence « L’open data à la Métropole »"
    page = read_document(fetched("windows1252-meta-jsonld.html", "text/html"), DEFAULTS)
    assert page.events[0].title == "Forum « Numérique & emploi »" and page.events[0].online


def test_json_followed_by_stray_text_is_still_read() -> None:
    assert load_json('{"a": 1}\n<br /><b>Notice</b>: Undefined index') == ({"a": 1}, True)
    assert load_json(")]}'\n[1, 2]") == ([1, 2], False)
    with pytest.raises(ParseError):
        load_json("<html>not json</html>")


HOURLY_FOR_DECADES = (
    b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//hostile//EN\r\nBEGIN:VEVENT\r\n"
    b"UID:every-five-minutes@hostile.example\r\nDTSTART:20260301T000000Z\r\n"
    b"RRULE:FREQ=HOURLY;BYMINUTE=0,5,10,15,20,25,30,35,40,45,50,55\r\n"
    b"SUMMARY:Toutes les cinq minutes\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


def many_events(count: int) -> bytes:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//hostile//EN"]
    for i in range(count):
        lines += [
            "BEGIN:VEVENT",
            f"UID:e{i}@hostile.example",
            f"DTSTART:2026{(i % 12) + 1:02d}{(i % 28) + 1:02d}T180000Z",
            f"SUMMARY:Événement numéro {i} avec un titre assez long pour peser",
            f"DESCRIPTION:{'x' * 200}",
            "END:VEVENT",
        ]
    return ("\r\n".join([*lines, "END:VCALENDAR", ""])).encode()


def test_a_document_that_needs_too_much_memory_answers_a_finding_not_a_grown_process() -> None:
    hostile = Fetched(
        many_events(40_000), "https://x.example/a.ics", {"content-type": "text/calendar"}
    )
    reading = read_isolated(hostile, DEFAULTS, region_name="aix-marseille", limits=Limits(64, 30))
    assert reading.events == [] and [f.code for f in reading.findings] == ["too_complex"]
    assert "Document trop complexe" in reading.findings[0].message_fr
    assert "Document too complex" in reading.findings[0].message_en


def test_an_endless_fine_grained_recurrence_is_cut_by_the_outer_limits() -> None:
    hostile = Fetched(
        HOURLY_FOR_DECADES, "https://x.example/b.ics", {"content-type": "text/calendar"}
    )
    defaults = SourceDefaults(
        window_start=datetime(2026, 3, 1, tzinfo=UTC), window_end=datetime(2046, 3, 1, tzinfo=UTC)
    )
    reading = read_isolated(hostile, defaults, limits=Limits(memory_mb=128, seconds=2))
    codes = {f.code for f in reading.findings}
    # Either the child was stopped, or the parser bounded the series itself (ical.py's caps).
    assert codes & {"too_complex", "too_many_occurrences"} or len(reading.events) <= 5000


def test_an_isolated_read_of_a_fine_document_gives_the_same_events() -> None:
    plain = read_document(fetched("hcalendar-v1.html"), DEFAULTS)
    isolated = read_isolated(fetched("hcalendar-v1.html"), DEFAULTS, region_name="aix-marseille")
    assert isolated.events == plain.events and len(isolated.normalized) == len(plain.events)


def test_an_unreadable_document_raises_the_parse_error_from_the_child() -> None:
    with pytest.raises(ParseError):
        read_isolated(Fetched(b"   ", "https://x.example/empty", {}), DEFAULTS)


def test_techagenda_extract_names_the_platform_it_recognised(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from cli import main

    path = str(TEXT / "hcalendar-v1.html")
    assert main(["extract", path, "--json", "--from", "2026-03-01", "--to", "2027-03-01"]) == 0
    captured = capsys.readouterr()
    assert "platform: hcalendar" in captured.err
    assert json.loads(captured.out)[0]["title"] == (
        "Install party de novembre"
    )
