"""Platform shapes as they occur in the wild (issue 17): OpenAgenda's default answer with
only first/last/next timings, Gancio's multi-day, online and recurrent events, a Mobilizon
``Create`` with a place and a live stream, locations ending in a country code, a broken
RRULE, an export in Windows-1252 followed by a PHP notice."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from aggregator.raw import RawEvent, SourceDefaults
from crawlers.parsers import ParseResult, parse_document
from crawlers.parsers.common import split_location

DATA = Path(__file__).resolve().parents[1] / "data"
DEFAULTS = SourceDefaults(
    timezone=None,
    window_start=datetime(2026, 3, 1, tzinfo=UTC),
    window_end=datetime(2027, 3, 1, tzinfo=UTC),
)


def parse(name: str, url: str = "file:///tmp/export", timezone: str | None = None) -> ParseResult:
    body = (DATA / name).read_bytes()
    settings = replace(DEFAULTS, timezone=timezone)
    return parse_document(body, url=url, headers={}, defaults=settings)


def by_title(result: ParseResult) -> dict[str, RawEvent]:
    return {event.title: event for event in result.events}


def test_a_day_of_two_sessions_with_only_first_and_last_timing_is_one_occurrence() -> None:
    events = [e for e in parse("platforms/openagenda/default-fields.json").events
              if e.title == "Atelier Scratch Junior"]  # fmt: skip
    assert len(events) == 1
    assert events[0].uid == "48213377" and events[0].series_uid is None
    assert events[0].start is not None and events[0].end is not None
    assert (events[0].start.isoformat(), events[0].end.isoformat()) == (
        "2027-01-06T10:00:00+01:00",
        "2027-01-06T16:00:00+01:00",
    )


def test_a_weekend_festival_spans_from_its_first_begin_to_its_last_end() -> None:
    festival = by_title(parse("platforms/openagenda/default-fields.json"))["Festival du code libre"]
    assert festival.start == datetime(2026, 6, 5, 12, 0, tzinfo=UTC)
    assert festival.end == datetime(2026, 6, 7, 16, 0, tzinfo=UTC)


def test_a_months_long_series_is_read_as_its_next_session_else_its_first() -> None:
    events = by_title(parse("platforms/openagenda/default-fields.json"))
    assert events["Club Python"].start == datetime(2026, 12, 3, 17, 30, tzinfo=UTC)  # next
    exhibition = events["Exposition : l'art du pixel"]
    assert exhibition.start == datetime(2026, 11, 3, 9, 0, tzinfo=UTC)  # first
    assert exhibition.end == datetime(2026, 11, 3, 17, 0, tzinfo=UTC)


def test_an_online_openagenda_event_without_place_is_shown_in_paris_time() -> None:
    events = by_title(parse("platforms/openagenda/default-fields.json"))
    webinar = events["Webinaire : l'inclusion numérique en bibliothèque"]
    assert (webinar.online, webinar.venue) == (True, None)
    assert webinar.online_url == "https://visio.example.org/b/inclusion-numerique"
    assert webinar.start is not None and webinar.start.isoformat() == "2026-12-08T14:00:00+01:00"


def test_a_windows_1252_export_followed_by_a_php_notice_is_read() -> None:
    result = parse("text/openagenda-cp1252-notice.json")
    assert result.platform == "openagenda"
    assert len(result.events) == 3
    talk = by_title(result)["Conférence : la cryptographie expliquée à tous"]
    assert talk.description == "Par l’équipe de l’université – public adulte."


def test_gancio_instants_are_shown_in_the_source_zone_across_a_dst_change() -> None:
    result = parse(
        "platforms/gancio/api-events-multidate.json",
        url="https://gancio.example.org/api/events",
        timezone="Europe/Paris",
    )
    weekend = by_title(result)["Week-end du libre"]
    assert weekend.start is not None and weekend.end is not None
    assert weekend.start.isoformat() == "2026-10-24T10:00:00+02:00"
    assert weekend.end.isoformat() == "2026-10-25T18:00:00+01:00"  # after the change
    assert weekend.url == "https://gancio.example.org/event/week-end-du-libre"


def test_gancio_online_pseudo_place_is_no_venue_and_a_child_joins_its_parents_series() -> None:
    events = by_title(parse("platforms/gancio/api-events-multidate.json"))
    visio = events["Visio : sauvegarder ses données"]
    assert (visio.online, visio.venue, visio.address) == (True, None, None)
    assert visio.online_url == "https://visio.giroll.example.org/b/sauvegardes"
    child = events["Permanence Linux"]
    assert (child.series_uid, child.city, child.end) == ("318", "Bègles", None)


def test_a_mobilizon_event_with_a_place_and_a_live_stream_is_mixed_and_cancelled() -> None:
    result = parse("platforms/activitypub/mobilizon-create-place.json")
    assert result.platform == "mobilizon"
    (event,) = result.events
    assert (event.venue, event.address, event.postcode, event.city) == (
        "Tiers-lieu Le Garage", "14 rue Jules Guesde", "33130", "Bègles"
    )  # fmt: skip
    assert (event.online, event.online_url) == (
        True,
        "https://videos.libre-gironde.example/w/9xQe2LkPz",
    )
    assert event.status == "cancelled"
    assert event.image == "https://agenda.libre-gironde.example/media/4c1f0b5e.jpg"


def test_a_trailing_country_code_is_never_the_town() -> None:
    assert split_location("Bègles, fr") == ("Bègles", None, None, None)
    assert split_location("Le Garage, 14 rue Jules Guesde, Bègles, FR")[3] == "Bègles"
    cities = {e.title: e.city for e in parse("ical/country-tail-locations.ics").events}
    assert cities == {
        "Permanence logiciels libres": None,
        "Atelier Inkscape": "Bordeaux",
        "Café vie privée": "Bègles",
        "Install party": "Bègles",
    }


def test_a_malformed_rrule_loses_only_the_rule() -> None:
    result = parse("bad/malformed-rrule.ics")
    titles = [e.title for e in result.events]
    assert titles.count("Soirée ouverte du lundi") == 1  # "FREQ=WEEKLY; BYDAY=MO": rule lost
    assert titles.count("Club électronique") == 1  # unknown weekday JE: rule lost
    assert titles.count("Repair café") == 3  # the sound rule still expands
    assert any("RRULE" in warning for warning in result.warnings)


def test_gancio_federated_online_locations_make_the_event_online() -> None:
    result = parse("platforms/activitypub/gancio-outbox-online.json")
    assert result.platform == "gancio"
    events = by_title(result)
    hybrid = events["Atelier Raspberry Pi (sur place et en visio)"]
    assert (hybrid.online, hybrid.online_url, hybrid.city) == (
        True,
        "https://meet.jit.si/atelier-raspberry-lescommuns",
        "Marseille",
    )
    remote = events["Causerie : chiffrer ses mails"]
    assert (remote.online, remote.venue, remote.description) == (True, None, None)
    assert remote.online_url == "https://salon.lescommuns.example/b/causerie"


def test_php_warnings_printed_before_a_rest_answer_are_skipped() -> None:
    body = (DATA / "text/tec-php-notice.json").read_bytes()
    result = parse_document(
        body,
        url="https://numerique-ouvert.example.org/wp-json/tribe/events/v1/events",
        headers={"Content-Type": "application/json; charset=UTF-8"},
        defaults=DEFAULTS,
    )
    assert result.platform == "tribe-rest"
    (event,) = result.events
    assert event.start == datetime(2026, 10, 17, 12, 0, tzinfo=UTC)
    assert (event.venue, event.city) == ("Tiers-lieu La Ruche", "Limoges")


def test_gancio_ics_is_named_and_loses_its_site_prefix_and_dash_place() -> None:
    result = parse("platforms/gancio/export.ics")
    assert result.platform == "gancio"
    events = by_title(result)
    assert set(events) == {"Atelier Raspberry Pi", "Causerie : chiffrer ses mails"}
    workshop = events["Atelier Raspberry Pi"]
    assert (workshop.venue, workshop.address, workshop.city) == (
        "Le Foyer du peuple", "21 rue Paradis, 13001 Marseille", "Marseille"
    )  # fmt: skip
    talk = events["Causerie : chiffrer ses mails"]
    assert (talk.online, talk.venue, talk.online_url) == (
        True, None, "https://salon.lescommuns.example/b/causerie"
    )  # fmt: skip


def test_gancio_feed_export_tags_written_as_objects_are_read() -> None:
    events = by_title(parse("platforms/gancio/feed-export.json"))
    assert events["Atelier Raspberry Pi"].categories == ("raspberrypi", "linux")
    assert events["Causerie : chiffrer ses mails"].venue is None


def test_gancio_times_written_as_text_are_read_only_with_an_offset() -> None:
    body = (
        b'[{"id": 9, "title": "Atelier", "slug": "atelier", "place": {"name": "Le Foyer"},'
        b' "start_datetime": "2026-10-14T18:00:00.000Z", "end_datetime": "2026-10-14"},'
        b' {"id": 10, "title": "Flottant", "slug": "flottant", "place": {"name": "Le Foyer"},'
        b' "start_datetime": "2026-10-15T18:00:00"}]'
    )
    result = parse_document(body, url="https://g.example.org/api/events", headers={},
                            defaults=replace(DEFAULTS, timezone="Europe/Paris"))  # fmt: skip
    (event,) = result.events
    assert event.start is not None and event.start.isoformat() == "2026-10-14T20:00:00+02:00"
    assert event.end is None


def test_an_openagenda_event_page_is_built_from_the_agenda_uid_of_the_api_address() -> None:
    api = "https://api.openagenda.com/v2/agendas/12345678/events?key=k&detailed=1"
    events = by_title(parse("platforms/openagenda/first-last-timing.json", url=api))
    assert (
        events["Café Linux"].url
        == "https://openagenda.com/agendas/12345678/events/cafe-linux-istres"
    )
    assert by_title(parse("platforms/openagenda/first-last-timing.json"))["Café Linux"].url is None
