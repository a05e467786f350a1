"""Focused behaviour of the parsers beyond the golden corpus."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from aggregator.errors import ParseError
from aggregator.raw import SourceDefaults
from crawlers.parsers import parse_document
from crawlers.parsers.common import decode_body, localize, split_location
from crawlers.parsers.html import MAX_LINKS
from crawlers.parsers.ical import MAX_OCCURRENCES
from crawlers.parsers.textdates import find_when

DATA = Path(__file__).resolve().parents[1] / "data"
PARIS = ZoneInfo("Europe/Paris")
WINDOW = SourceDefaults(
    window_start=datetime(2026, 3, 1, tzinfo=UTC), window_end=datetime(2027, 3, 1, tzinfo=UTC)
)


def parse(name: str, url: str = "https://example.fr/doc", **kwargs: object):  # type: ignore[no-untyped-def]
    defaults = kwargs.pop("defaults", WINDOW)
    headers = kwargs.pop("headers", {})
    return parse_document(
        (DATA / name).read_bytes(),
        url=url,
        headers=headers,  # type: ignore[arg-type]
        defaults=defaults,  # type: ignore[arg-type]
    )


# --- DST rule -------------------------------------------------------------------------


def test_a_nonexistent_local_time_shifts_forward_by_the_gap() -> None:
    value = localize(datetime(2026, 3, 29, 2, 30), PARIS)
    assert value.isoformat() == "2026-03-29T03:30:00+02:00"


def test_an_ambiguous_local_time_takes_its_first_occurrence() -> None:
    value = localize(datetime(2026, 10, 25, 2, 30), PARIS)
    assert value.isoformat() == "2026-10-25T02:30:00+02:00"


def test_ical_events_on_the_dst_weekends_follow_the_rule() -> None:
    events = {e.uid: e for e in parse("ical/dst-weekends.ics").events}
    assert events["nuit-printemps@example.fr"].start.isoformat() == "2026-03-29T03:30:00+02:00"  # type: ignore[union-attr]
    assert events["nuit-automne@example.fr"].start.isoformat() == "2026-10-25T02:30:00+02:00"  # type: ignore[union-attr]


# --- iCalendar ------------------------------------------------------------------------


def test_a_weekly_series_keeps_its_local_hour_across_the_october_dst_change() -> None:
    events = [
        e
        for e in parse("ical/google-calendar-frenchtech.ics").events
        if e.series_uid == "7g2h4j6k8automne@google.com"
    ]
    starts = [e.start.isoformat() for e in events]  # type: ignore[union-attr]
    assert starts == [
        "2026-10-13T18:30:00+02:00",
        "2026-10-20T18:30:00+02:00",
        "2026-10-27T19:00:00+01:00",  # the RECURRENCE-ID override
        "2026-11-10T18:30:00+01:00",  # 3 November is an EXDATE
    ]
    override = events[2]
    assert override.uid == "7g2h4j6k8automne@google.com#20261027T173000Z"
    assert override.venue == "Epitech Marseille"


def test_a_series_is_expanded_only_inside_the_window() -> None:
    narrow = SourceDefaults(
        window_start=datetime(2026, 10, 19, tzinfo=UTC),
        window_end=datetime(2026, 10, 30, tzinfo=UTC),
    )
    events = parse("ical/google-calendar-frenchtech.ics", defaults=narrow).events
    assert [e.start.isoformat() for e in events if e.series_uid] == [  # type: ignore[union-attr]
        "2026-10-20T18:30:00+02:00",
        "2026-10-27T19:00:00+01:00",
    ]


def test_without_a_window_a_series_expands_around_the_document_s_own_dates() -> None:
    events = parse("ical/google-calendar-frenchtech.ics", defaults=SourceDefaults()).events
    assert len([e for e in events if e.series_uid]) == 7


def test_an_endless_secondly_rule_keeps_only_its_first_date() -> None:
    body = (
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:spam@x\r\n"
        b"DTSTART:20261201T000000Z\r\nRRULE:FREQ=SECONDLY\r\nSUMMARY:Spam\r\n"
        b"END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    result = parse_document(body, url="https://x.fr/c.ics", headers={}, defaults=WINDOW)
    assert len(result.events) == 1
    assert any("every second or minute" in w for w in result.warnings)


def test_an_hourly_rule_is_capped_at_the_occurrence_limit() -> None:
    body = (
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:h@x\r\n"
        b"DTSTART:20260401T000000Z\r\nRRULE:FREQ=HOURLY\r\nSUMMARY:Spam\r\n"
        b"END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    events = parse_document(body, url="https://x.fr/c.ics", headers={}, defaults=WINDOW).events
    assert len(events) == MAX_OCCURRENCES


def test_an_all_day_event_ends_on_its_last_day_not_the_exclusive_dtend() -> None:
    salon = next(
        e
        for e in parse("ical/google-calendar-frenchtech.ics").events
        if e.uid == "0a9b8c7d6salon@google.com"
    )
    assert (salon.start, salon.end) == (date(2026, 10, 15), date(2026, 10, 17))


def test_a_calendar_with_an_unreadable_start_says_so_in_a_warning() -> None:
    result = parse("bad/malformed-calendar.ics")
    assert [e.title for e in result.events] == ["Date lisible : atelier Git"]
    assert any("no readable start" in w for w in result.warnings)


def test_a_truncated_calendar_is_a_parse_error() -> None:
    with pytest.raises(ParseError):
        parse_document(
            b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART", url="x.ics", headers={}, defaults=WINDOW
        )


# --- feeds ----------------------------------------------------------------------------


def test_an_entity_bomb_is_refused_quickly() -> None:
    began = time.monotonic()
    with pytest.raises(ParseError, match="entities"):
        parse("bad/billion-laughs.rss")
    assert time.monotonic() - began < 10  # refused before expanding (expanded: minutes)


def test_a_feed_body_that_looks_like_a_path_is_never_opened_as_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret.rss"
    secret.write_text(
        "<rss version='2.0'><channel><item><title>Secret</title>"
        "<description>le 3/12/2026 à 18h</description></item></channel></rss>"
    )
    with pytest.raises(ParseError):
        parse_document(
            str(secret).encode(), url="https://x.fr/feed.rss", headers={}, defaults=WINDOW
        )


def test_news_items_without_a_date_in_their_text_are_skipped_not_dated_by_pubdate() -> None:
    result = parse("feeds/agenda-du-libre-paca.rss")
    titles = [e.title for e in result.events]
    assert "Compte rendu de l'install party de novembre" not in titles
    assert any("no event date" in w for w in result.warnings)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("mardi 1 décembre à 18h30", datetime(2026, 12, 1, 18, 30), None),
        ("le 12/12/2026 de 19h à 21h", datetime(2026, 12, 12, 19), datetime(2026, 12, 12, 21)),
        ("Thu, Dec 3, 6:30 PM", datetime(2026, 12, 3, 18, 30), None),
        ("3 December 2026, 18:30-20:00", datetime(2026, 12, 3, 18, 30), datetime(2026, 12, 3, 20)),
        ("jeudi 14 janvier dès 19 h", datetime(2027, 1, 14, 19), None),
        ("Samedi 1er mai 2027", date(2027, 5, 1), None),
    ],
)
def test_event_dates_are_read_from_french_and_english_text(
    text: str, start: datetime | date, end: datetime | None
) -> None:
    found = find_when(text, reference=date(2026, 11, 20), day_first=True)
    assert found is not None
    assert (found.start, found.end) == (start, end)


def test_a_year_less_date_takes_the_year_of_the_publication_date_or_the_next() -> None:
    found = find_when("le 8 janvier à 18h", reference=date(2026, 11, 20))
    assert found is not None and found.start == datetime(2027, 1, 8, 18)


def test_text_without_a_date_gives_nothing() -> None:
    assert (
        find_when(
            "Merci aux 25 participants, les slides sont en ligne.", reference=date(2026, 11, 1)
        )
        is None
    )


# --- HTML -----------------------------------------------------------------------------


def test_a_page_with_one_broken_json_ld_block_still_yields_its_valid_block() -> None:
    result = parse("bad/malformed-jsonld.html")
    assert [e.title for e in result.events] == ["Soirée Flutter Marseille"]
    assert any("not valid JSON" in w for w in result.warnings)


def test_a_listing_page_gives_same_site_event_links_without_duplicates() -> None:
    result = parse("html/listing-agenda-fr.html", url="https://cantine.example.fr/agenda/")
    assert result.format == "listing"
    assert result.events == []
    assert result.links == [
        "https://cantine.example.fr/agenda/listing-event-meetup-data.html",
        "https://cantine.example.fr/agenda/listing-event-afterwork.html",
    ]


def test_listing_links_are_bounded() -> None:
    anchors = "".join(f'<a href="/evenements/{i}">Soirée {i}</a>' for i in range(300))
    body = f"<html><body>{anchors}</body></html>".encode()
    result = parse_document(body, url="https://x.fr/agenda", headers={}, defaults=WINDOW)
    assert len(result.links) == MAX_LINKS


def test_a_sitemap_gives_same_site_links_event_pages_first() -> None:
    result = parse(
        "html/sitemap-events.xml", url="https://www.marseille-innovation.example.fr/sitemap.xml"
    )
    assert result.format == "sitemap"
    assert result.links[:2] == [
        "https://www.marseille-innovation.example.fr/agenda/petit-dejeuner-cybersecurite/",
        "https://www.marseille-innovation.example.fr/agenda/portes-ouvertes-incubateurs/",
    ]
    assert not any("cdn.example.net" in link for link in result.links)


def test_a_sitemap_with_a_dtd_is_refused() -> None:
    body = b'<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY a "b">]><urlset><url><loc>&a;</loc></url></urlset>'
    with pytest.raises(ParseError):
        parse_document(body, url="https://x.fr/sitemap.xml", headers={}, defaults=WINDOW)


def test_every_schema_org_event_subtype_is_an_event() -> None:
    body = (
        b'<html><head><script type="application/ld+json">[{"@type":"Hackathon","name":"H",'
        b'"startDate":"2026-12-01"},{"@type":"FoodEvent","name":"F","startDate":"2026-12-02"},'
        b'{"@type":"Organization","name":"Not an event","startDate":"2026-12-03"}]'
        b"</script></head></html>"
    )
    result = parse_document(body, url="https://x.fr/", headers={}, defaults=WINDOW)
    assert [e.title for e in result.events] == ["H", "F"]


# --- decoding -------------------------------------------------------------------------


def test_latin1_bytes_declared_as_utf8_are_read_correctly() -> None:
    event = parse("bad/latin1-declared-utf8.rss").events[0]
    assert event.title == "Soirée découverte : sécurité de vos données"


def test_utf8_bytes_declared_as_latin1_are_read_correctly() -> None:
    event = parse("bad/utf8-declared-latin1.html").events[0]
    assert event.venue == "École Centrale Méditerranée"


def test_a_byte_order_mark_is_stripped() -> None:
    assert decode_body(b"\xef\xbb\xbfBEGIN:VCALENDAR") == "BEGIN:VCALENDAR"


def test_a_location_line_is_split_into_venue_address_and_city() -> None:
    assert split_location("La Coque (2 Rue Henri Barbusse, Marseille, France)") == (
        "La Coque",
        "2 Rue Henri Barbusse, Marseille",
        None,
        "Marseille",
    )
    assert split_location("Le Cargo, 10 Place de la Joliette, 13002 Marseille") == (
        "Le Cargo",
        "10 Place de la Joliette, 13002 Marseille",
        "13002",
        "Marseille",
    )
