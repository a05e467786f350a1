"""OpenAgenda: API v2 wrapper, bare array, single event, first/last timings, the legacy
export and the ICS export — each named as the platform it is."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aggregator.raw import SourceDefaults
from crawlers.document import Fetched, read_document
from crawlers.parsers import ParseResult, parse_document

DATA = Path(__file__).resolve().parents[1] / "data" / "platforms" / "openagenda"
DEFAULTS = SourceDefaults(
    timezone=None,
    window_start=datetime(2026, 3, 1, tzinfo=UTC),
    window_end=datetime(2027, 3, 1, tzinfo=UTC),
)


def parse(name: str, url: str = "file:///tmp/export") -> ParseResult:
    body = (DATA / name).read_bytes()
    return parse_document(body, url=url, headers={}, defaults=DEFAULTS)


@pytest.mark.parametrize(
    "name",
    [
        "api-v2-events.json",
        "bare-array.json",
        "single-event.json",
        "first-last-timing.json",
        "legacy-events.json",
        "events-v2.ics",
    ],
)
def test_every_openagenda_shape_is_recognised_by_its_content(name: str) -> None:
    result = parse(name)
    assert result.platform == "openagenda"
    assert result.events


def test_an_event_with_three_timings_is_three_occurrences_of_one_series() -> None:
    events = [e for e in parse("api-v2-events.json").events if e.title.startswith("Atelier")]
    assert len(events) == 3
    assert {e.series_uid for e in events} == {"71203301"}
    assert len({e.uid for e in events}) == 3


def test_attendance_mode_and_status_say_online_and_cancelled() -> None:
    by_title = {e.title: e for e in parse("api-v2-events.json").events}
    webinar = by_title["Webinaire : les données ouvertes de la Métropole"]
    assert (webinar.online, webinar.online_url, webinar.venue) == (
        True,
        "https://webinaire.example.fr/b/open-data-amp",
        None,
    )
    assert by_title["Digital repair café"].status == "cancelled"  # English when no French
    assert by_title["Conférence cybersécurité des PME"].online is True  # mixed
    assert by_title["Conférence cybersécurité des PME"].city == "Marseille"


def test_a_utc_begin_is_shown_in_the_events_zone() -> None:
    fresque = next(e for e in parse("bare-array.json").events if e.title.startswith("Fresque"))
    assert fresque.start == datetime(2026, 9, 17, 17, 0, tzinfo=UTC)
    assert fresque.start.isoformat() == "2026-09-17T19:00:00+02:00"


def test_an_event_with_only_a_date_text_is_read_from_it() -> None:
    club = next(e for e in parse("first-last-timing.json").events if e.title == "Club robotique")
    assert club.start is not None and club.start.isoformat() == "2026-09-17T17:30:00+02:00"


def test_read_document_names_openagenda_for_the_ics_export() -> None:
    body = (DATA / "events-v2.ics").read_bytes()
    reading = read_document(Fetched(body, "https://example.org/agenda.ics", {}), DEFAULTS)
    assert reading.platform == "openagenda"
    assert reading.as_result().format == "openagenda"


def test_techagenda_extract_names_openagenda(capsys: pytest.CaptureFixture[str]) -> None:
    from cli import main

    path = str(DATA / "api-v2-events.json")
    assert main(["extract", path, "--json", "--from", "2026-03-01", "--to", "2027-03-01"]) == 0
    captured = capsys.readouterr()
    assert "platform: openagenda" in captured.err
    assert len(json.loads(captured.out)) == 6
