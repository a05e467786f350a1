"""An iCalendar LOCATION that says "online" makes an online event, never a lost one."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from aggregator.raw import SourceDefaults
from aggregator.regions import load_region
from crawlers.document import Fetched, read_document

REGION = load_region("aix-marseille")
WINDOW = SourceDefaults(
    window_start=datetime(2026, 11, 1, tzinfo=UTC), window_end=datetime(2027, 11, 1, tzinfo=UTC)
)


def one_event(location: str, rule: str | None = None) -> Fetched:
    lines = [
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Meetup//FR", "BEGIN:VEVENT",
        "UID:webinaire@meetup.example", "SUMMARY:Webinaire Python : typage statique",
        "DTSTART:20261201T173000Z", f"LOCATION:{location}",
        *([f"RRULE:{rule}"] if rule else []), "END:VEVENT", "END:VCALENDAR", "",
    ]  # fmt: skip
    return Fetched("\r\n".join(lines).encode(), "https://meetup.example/c.ics", {})


@pytest.mark.parametrize("location", ["Online event", "En ligne", "en ligne", "Événement en ligne"])
def test_an_online_location_is_an_online_event_without_a_town(location: str) -> None:
    reading = read_document(one_event(location), WINDOW, region=REGION)
    assert [(e.online, e.city) for e in reading.events] == [(True, None)]
    assert [(n.online, n.city, n.in_region) for n in reading.normalized] == [(True, None, False)]


def test_an_online_weekly_series_stays_online_through_the_bounded_expansion() -> None:
    reading = read_document(one_event("Online event", "FREQ=WEEKLY;COUNT=4"), WINDOW)
    assert [e.online for e in reading.events] == [True] * 4
