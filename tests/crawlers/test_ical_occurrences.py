"""iCal occurrences are read without the VEVENT copy ``between`` makes for each: the same
events as reading the copies, for every iCal file of the corpus."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import icalendar
import pytest
import recurring_ical_events

from crawlers.parsers import ical

DATA = Path(__file__).resolve().parents[1] / "data"


def _readable(path: Path) -> bool:
    try:
        icalendar.Calendar.from_ical(path.read_bytes())
    except ValueError:  # the corpus's broken files (empty, truncated, UTF-16 without decoding)
        return False
    return True


FILES = sorted(p for p in DATA.rglob("*.ics") if _readable(p))
START, END = datetime(2020, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC)


class BetweenOnly:
    """The library's query with only its public ``between`` (as another version may be)."""

    def __init__(self, query: Any) -> None:
        self.between = query.between


def events(seen: list[ical._Seen], recurring: set[str]) -> list[Any]:
    details: dict[int, Any] = {}
    return [ical._to_raw(s, recurring, None, "https://example.org/c.ics", details) for s in seen]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_occurrences_read_in_place_equal_the_copies_between_makes(path: Path) -> None:
    calendar = icalendar.Calendar.from_ical(path.read_bytes())
    masters = [c for c in calendar.walk("VEVENT") if "DTSTART" in c]
    recurring = ical._recurring_uids(masters)
    query = recurring_ical_events.of(calendar, skip_bad_series=True)
    in_place = ical._occurrences(query, START, END)
    copied = ical._occurrences(BetweenOnly(query), START, END)
    assert len(in_place) == len(copied)
    assert events(in_place, recurring) == events(copied, recurring)


def test_the_installed_library_gives_occurrences_to_read_in_place() -> None:
    calendar = icalendar.Calendar.from_ical((DATA / "ical" / "dst-weekends.ics").read_bytes())
    query = recurring_ical_events.of(calendar, skip_bad_series=True)
    seen = ical._occurrences(query, START, END)
    sources = calendar.walk("VEVENT")
    assert seen and all(any(s.component is c for c in sources) for s in seen)
