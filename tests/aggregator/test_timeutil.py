"""The one time-zone helper: zone lookup (strict, lenient, Windows names) and the DST rule."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aggregator.errors import InvalidInputError
from aggregator.timeutil import UnknownZoneError, as_utc, find_zone, local, zone
from crawlers.parsers import common

PARIS = ZoneInfo("Europe/Paris")


def test_a_zone_is_found_by_iana_or_windows_name_and_cached() -> None:
    assert zone("Europe/Paris") is zone(" Europe/Paris ") is PARIS
    assert zone("Romance Standard Time") == PARIS
    assert zone(PARIS) is PARIS


def test_an_unknown_zone_is_refused_unless_a_default_is_given() -> None:
    with pytest.raises(UnknownZoneError, match="Mars/Olympus") as caught:
        zone("Mars/Olympus")
    assert isinstance(caught.value, InvalidInputError) and isinstance(caught.value, ValueError)
    assert zone("Mars/Olympus", "America/Toronto") == ZoneInfo("America/Toronto")
    assert zone(None, "Nowhere/Else") == ZoneInfo("UTC")
    assert find_zone("Mars/Olympus") is None and find_zone("") is None and find_zone(3) is None


def test_the_parsers_use_the_same_helpers() -> None:
    assert common.zone is find_zone and common.localize is local


def test_a_time_in_the_spring_gap_moves_forward_and_a_doubled_one_is_the_first() -> None:
    gap = local(datetime(2026, 3, 29, 2, 30), PARIS)
    assert (gap.hour, gap.utcoffset()) == (3, datetime(2026, 7, 1, tzinfo=PARIS).utcoffset())
    assert as_utc(datetime(2026, 3, 29, 2, 30), PARIS) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    twice = as_utc(datetime(2026, 10, 25, 2, 30), PARIS)
    assert twice == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # still summer time


@given(st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2100, 1, 1)))
def test_local_and_as_utc_name_one_instant(naive: datetime) -> None:
    assert local(naive, PARIS).astimezone(UTC) == as_utc(naive, PARIS)
    aware = as_utc(naive, PARIS)
    assert as_utc(aware) == aware and local(aware, PARIS) == aware
    assert local(local(naive, PARIS), PARIS) == local(naive, PARIS)
