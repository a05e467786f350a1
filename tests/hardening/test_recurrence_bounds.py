"""Hostile recurrences stay small: expanded lazily, capped per series, per document, in time.

Each calendar here is a few hundred bytes that would give millions of dates if expanded
eagerly. The tests assert the count cap, that parsing finishes, and a memory bound
measured with tracemalloc (never a timing).
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import TypeVar

import icalendar
import pytest

from aggregator.raw import SourceDefaults
from crawlers.document import Fetched, Limits, read_document, read_isolated
from crawlers.parsers import ParseResult, parse_document
from crawlers.parsers.recurrence import Bounds, bound_recurrences

WINDOW = SourceDefaults(
    window_start=datetime(2026, 11, 1, tzinfo=UTC), window_end=datetime(2046, 11, 1, tzinfo=UTC)
)
CAP = 5000
PEAK_MB = 96  # what parsing one of these documents may allocate at its peak
T = TypeVar("T")


def calendar(*events: str) -> bytes:
    """A VCALENDAR of the given VEVENT bodies (property lines joined by CRLF)."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Hostile//Test//FR"]
    for n, body in enumerate(events):
        lines += ["BEGIN:VEVENT", f"UID:hostile-{n}@example.org", "DTSTAMP:20261101T000000Z"]
        lines += [*body.strip().splitlines(), "END:VEVENT"]
    return ("\r\n".join([*lines, "END:VCALENDAR", ""])).encode()


def series(rule: str, *, start: str = "20261102T180000Z", title: str = "Rencontre") -> str:
    return f"DTSTART:{start}\nRRULE:{rule}\nSUMMARY:{title}"


def within_memory(run: Callable[[], T], mb: int = PEAK_MB) -> T:
    """Run ``run`` under tracemalloc and check its peak allocation stays under ``mb``."""
    tracemalloc.start()
    try:
        result = run()
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < mb * 1024 * 1024, f"peak {peak / 2**20:.0f} MB"
    return result


def parse(body: bytes, defaults: SourceDefaults = WINDOW) -> ParseResult:
    url = "https://hostile.example/a.ics"
    return within_memory(lambda: parse_document(body, url=url, headers={}, defaults=defaults))


def too_many(result: ParseResult) -> bool:
    return any(w.startswith("too many occurrences") for w in result.warnings)


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=HOURLY",
        "FREQ=HOURLY;BYMINUTE=0,30",
        "FREQ=DAILY;BYHOUR=0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23",
        "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR,SA,SU;BYHOUR=8,9,10,11,12,13,14,15,16,17,18,19;"
        "BYMINUTE=0,15,30,45",
        "FREQ=HOURLY;COUNT=100000000",
    ],
    ids=["hourly", "hourly-byminute", "daily-byhour", "weekly-byhour-byminute", "huge-count"],
)
def test_an_endless_fine_grained_rule_is_cut_at_the_cap_with_a_finding(rule: str) -> None:
    result = parse(calendar(series(rule)))
    assert len(result.events) == CAP
    assert too_many(result)
    starts = [e.start for e in result.events]
    assert starts == sorted(starts) and starts[0] == datetime(2026, 11, 2, 18, tzinfo=UTC)


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=SECONDLY",
        "FREQ=MINUTELY;INTERVAL=1",
        "FREQ=HOURLY;BYMONTH=1,2,3,4,5,6,7,8,9,10,11,12",
        "FREQ=DAILY;BYHOUR=0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23;"
        "BYMINUTE=0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,"
        "28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,"
        "56,57,58,59;BYSECOND=0,10,20,30,40,50",
    ],
    ids=["secondly", "minutely", "hourly-filtered-by-month", "byhour-byminute-bysecond"],
)
def test_a_rule_too_fine_to_expand_keeps_only_its_first_date(rule: str) -> None:
    result = parse(calendar(series(rule), "DTSTART:20261110T190000Z\nSUMMARY:Atelier Git"))
    assert [e.title for e in result.events] == ["Rencontre", "Atelier Git"]
    assert too_many(result)


def test_many_hourly_series_stop_at_the_document_cap() -> None:
    body = calendar(*(series("FREQ=HOURLY", title=f"Série {n}") for n in range(60)))
    result = parse(body)
    assert len(result.events) <= CAP + 60  # each cut series keeps at least its first date
    assert too_many(result)


def test_an_hourly_rule_started_decades_before_the_window_finishes_and_stays_small() -> None:
    result = parse(calendar(series("FREQ=HOURLY", start="19900101T000000Z")))
    assert len(result.events) <= CAP and too_many(result)


def test_a_long_rdate_list_keeps_its_first_dates_in_the_window_up_to_the_cap() -> None:
    days = [date(2026, 11, 2).toordinal() + n for n in range(400)]
    rdates = ",".join(f"{date.fromordinal(d):%Y%m%d}T180000Z" for d in days)
    text = calendar(f"DTSTART:20261102T180000Z\nRDATE:{rdates}\nSUMMARY:Permanence")
    cal = icalendar.Calendar.from_ical(text.decode())
    masters = list(cal.walk("VEVENT"))
    bounds = Bounds(datetime(2026, 11, 1, tzinfo=UTC), datetime(2046, 11, 1, tzinfo=UTC), 50)
    report = bound_recurrences(masters, bounds)
    assert report.too_many == 1
    kept = [d.dt for d in masters[0]["RDATE"].dts]
    assert len(kept) == 50 and kept[0] == datetime(2026, 11, 2, 18, tzinfo=UTC)


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=WEEKLY; BYDAY=MO",
        "FREQ=WEEKLY;BYDAY=XX",
        "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30",
        "FREQ=DAILY;BYYEARDAY=100",
        "FREQ=WEEKLY;COUNT=abc",
        "FREQ=SOMETIMES",
    ],
    ids=["space", "unknown-weekday", "30-february", "byyearday-daily", "bad-count", "bad-freq"],
)
def test_a_malformed_rule_loses_that_rule_not_the_event_nor_the_file(rule: str) -> None:
    result = parse(
        calendar(
            series(rule, title="Meetup Python"),
            "DTSTART:20261110T190000Z\nSUMMARY:Atelier Git",
        )
    )
    assert [e.title for e in result.events] == ["Meetup Python", "Atelier Git"]
    assert result.events[0].start == datetime(2026, 11, 2, 18, tzinfo=UTC)
    assert any("could not be read" in w for w in result.warnings)


def test_a_sane_weekly_series_is_expanded_as_before() -> None:
    result = parse(calendar(series("FREQ=WEEKLY;COUNT=10;BYDAY=MO")))
    assert len(result.events) == 10 and result.warnings == []


def test_the_finding_says_too_many_occurrences_in_french_and_english() -> None:
    body = calendar(series("FREQ=HOURLY"))
    fetched = Fetched(body, "https://hostile.example/a.ics", {"content-type": "text/calendar"})
    reading = within_memory(lambda: read_document(fetched, WINDOW))
    found = [f for f in reading.findings if f.code == "too_many_occurrences"]
    assert found and "Trop d'occurrences" in found[0].message_fr
    assert "Too many occurrences" in found[0].message_en


def test_the_organizer_preview_reads_it_in_the_isolated_child_and_shows_the_finding() -> None:
    hostile = (
        "FREQ=DAILY;BYHOUR=0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23;"
        "BYMINUTE=0,15,30,45"
    )
    fetched = Fetched(
        calendar(series(hostile)), "https://hostile.example/b.ics", {"content-type": "text/calendar"}
    )
    reading = read_isolated(fetched, WINDOW, region_name="aix-marseille", limits=Limits(512, 60))
    codes = [f.code for f in reading.findings]
    assert "too_many_occurrences" in codes and "too_complex" not in codes
    assert len(reading.events) == CAP
