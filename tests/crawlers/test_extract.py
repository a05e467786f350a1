"""`extract`: one file → events of a window, presentable times, the JSON shape."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from aggregator.errors import FetchError
from aggregator.raw import RawEvent, SourceDefaults
from aggregator.settings import Settings
from crawlers.extract import JSON_KEYS, event_to_json, extract_events, extract_target, read_target

DATA = Path(__file__).resolve().parents[1] / "data"
START = datetime(2026, 9, 1, tzinfo=UTC)
END = datetime(2027, 3, 1, tzinfo=UTC)


def extract(
    name: str, *, timezone: str | None = None, start: datetime = START, end: datetime = END
) -> list[RawEvent]:
    body, url, headers = read_target(str(DATA / name), Settings())
    return extract_events(
        body,
        url=url,
        headers=headers,
        defaults=SourceDefaults(timezone=timezone),
        window_start=start,
        window_end=end,
    )


def test_the_json_object_has_exactly_the_documented_keys_in_order() -> None:
    event = RawEvent(title="Apéro", start=date(2026, 12, 3), end=date(2026, 12, 4))
    data = event_to_json(event)
    assert tuple(data) == JSON_KEYS
    assert (data["start"], data["end"], data["all_day"]) == ("2026-12-03", "2026-12-04", True)
    assert data["categories"] == []


def test_a_floating_time_stays_floating_without_a_timezone() -> None:
    event = next(e for e in extract("ical/dst-weekends.ics") if e.uid == "flottant@example.fr")
    data = event_to_json(event)
    assert (data["start"], data["timezone"]) == ("2026-11-10T18:30:00", None)


def test_a_floating_time_takes_the_timezone_given_on_the_command_line() -> None:
    event = next(
        e
        for e in extract("ical/dst-weekends.ics", timezone="Europe/Paris")
        if e.uid == "flottant@example.fr"
    )
    data = event_to_json(event)
    assert (data["start"], data["end"], data["timezone"]) == (
        "2026-11-10T18:30:00+01:00",
        "2026-11-10T20:00:00+01:00",
        "Europe/Paris",
    )


def test_a_floating_time_on_the_spring_gap_shifts_forward_when_localized() -> None:
    body = b'<html><script type=\'application/ld+json\'>{"@type":"Event","name":"Nuit","startDate":"2026-03-29T02:30"}</script></html>'
    [event] = extract_events(
        body,
        url="https://x.fr/",
        headers={},
        defaults=SourceDefaults(timezone="Europe/Paris"),
        window_start=datetime(2026, 3, 1, tzinfo=UTC),
        window_end=END,
    )
    assert event_to_json(event)["start"] == "2026-03-29T03:30:00+02:00"


def test_only_events_starting_in_the_window_are_kept_sorted_by_start() -> None:
    events = extract(
        "ical/google-calendar-frenchtech.ics",
        start=datetime(2026, 10, 14, tzinfo=UTC),
        end=datetime(2026, 10, 28, tzinfo=UTC),
    )
    assert [(e.title, str(e.start)) for e in events] == [
        ("Salon du numérique Provence", "2026-10-15"),
        ("Coding dojo du mardi", "2026-10-20 18:30:00+02:00"),
        ("Coding dojo du mardi (spécial Rust)", "2026-10-27 19:00:00+01:00"),
    ]


def test_a_file_with_no_events_in_the_window_gives_an_empty_list() -> None:
    assert (
        extract(
            "ical/meetup-marseille-python.ics",
            start=datetime(2030, 1, 1, tzinfo=UTC),
            end=datetime(2030, 2, 1, tzinfo=UTC),
        )
        == []
    )


def test_a_missing_file_is_a_fetch_error_with_a_readable_message() -> None:
    with pytest.raises(FetchError, match="cannot read"):
        read_target(str(DATA / "nope.ics"), Settings())


def test_a_local_file_gets_a_content_type_from_its_suffix() -> None:
    _, url, headers = read_target(str(DATA / "ical/mobilizon-group.ics"), Settings())
    assert url.startswith("file:///") and headers == {"content-type": "text/calendar"}


def test_a_listing_page_s_event_pages_are_read_and_bounded() -> None:
    found = extract_target(
        str(DATA / "html/listing-agenda-fr.html"),
        Settings(),
        defaults=SourceDefaults(),
        window_start=START,
        window_end=END,
        max_pages=1,
    )
    assert found.format == "listing"
    assert [e.title for e in found.events] == ["Meetup Data & IA : les LLM en local"]
    assert found.pages == 2
    assert any("only the first 1 of 2 links" in w for w in found.warnings)
