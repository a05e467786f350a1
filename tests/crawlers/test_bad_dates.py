"""One bad date loses one event, never the source: year 1 with an offset, 9999 with one."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from aggregator.normalize import normalize
from aggregator.raw import RawEvent, SourceDefaults
from aggregator.regions import load_region
from crawlers.document import Fetched, read_document
from crawlers.parsers.common import parse_iso

REGION = load_region("aix-marseille")
WINDOW = SourceDefaults(
    window_start=datetime(2026, 1, 1, tzinfo=UTC), window_end=datetime(2027, 1, 1, tzinfo=UTC)
)
GOOD = "2026-12-01T18:30:00+01:00"
BAD = [
    "0001-01-01T00:30:00+01:00",  # to UTC is year 0: OverflowError
    "9999-12-31T23:30:00-02:00",  # to UTC is year 10000
    "0001-01-01",
    "9999-12-31",
]


def jsonld_page(*starts: str) -> bytes:
    blocks = [
        {
            "@context": "https://schema.org",
            "@type": "Event",
            "name": f"Meetup n°{n}",
            "startDate": start,
            "location": {"@type": "Place", "name": "La Coque", "address": "13002 Marseille"},
        }
        for n, start in enumerate(starts)
    ]
    scripts = "".join(
        f'<script type="application/ld+json">{json.dumps(b)}</script>' for b in blocks
    )
    return f"<!doctype html><html><head>{scripts}</head><body></body></html>".encode()


def ics(*starts: str) -> bytes:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Test//FR"]
    for n, start in enumerate(starts):
        lines += ["BEGIN:VEVENT", f"UID:e{n}@example.org", f"SUMMARY:Meetup n°{n}", start,
                  "END:VEVENT"]  # fmt: skip
    return ("\r\n".join([*lines, "END:VCALENDAR", ""])).encode()


@pytest.mark.parametrize("bad", BAD)
def test_a_jsonld_date_out_of_range_drops_that_event_only(bad: str) -> None:
    page = Fetched(jsonld_page(bad, GOOD), "https://agenda.example/e", {"content-type": "text/html"})
    reading = read_document(page, WINDOW, region=REGION)
    assert [e.title for e in reading.events] == ["Meetup n°1"]
    assert [e.title for e in reading.normalized] == ["Meetup n°1"]


@pytest.mark.parametrize(
    "bad",
    [
        "DTSTART;TZID=Europe/Paris:00010101T003000",
        "DTSTART:00010101T000000Z",
        "DTSTART;VALUE=DATE:00010101",
        "DTSTART;TZID=America/Sao_Paulo:99991231T233000",
        "DTSTART:99991231T233000",
    ],
)
def test_an_ical_date_out_of_range_drops_that_event_with_a_finding(bad: str) -> None:
    body = ics(bad, "DTSTART:20261201T173000Z")
    # no window given: the fallback window is computed from the starts it keeps
    reading = read_document(
        Fetched(body, "https://agenda.example/c.ics", {"content-type": "text/calendar"}),
        SourceDefaults(),
        region=REGION,
    )
    assert [e.title for e in reading.events] == ["Meetup n°1"]
    assert any("out of range" in w for w in reading.warnings)
    notes = [f for f in reading.findings if f.code == "parser_notes"]
    assert notes and "out of range" in notes[0].message_en


@pytest.mark.parametrize("text", BAD)
def test_parse_iso_answers_none_for_a_date_out_of_range(text: str) -> None:
    assert parse_iso(text) is None


def test_parse_iso_still_reads_ordinary_dates() -> None:
    assert parse_iso(GOOD) == datetime.fromisoformat(GOOD)
    assert parse_iso("2026-12-05") == date(2026, 12, 5)


@pytest.mark.parametrize(
    "start",
    [
        datetime(1, 1, 1, 0, 30, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 30),
        date(9999, 12, 31),
        date(1, 1, 1),
    ],
)
def test_normalising_an_event_at_the_edge_of_time_gives_no_start_and_never_raises(
    start: datetime | date,
) -> None:
    raw = RawEvent(title="Meetup", start=start, timezone="Pacific/Kiritimati")
    item = normalize(raw, defaults=SourceDefaults(timezone="America/Sao_Paulo"), region=REGION)
    assert item.title == "Meetup"
