"""The one Week type: ISO 8601 weeks, week-53 years, DST weeks, and its string edge."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aggregator.errors import InvalidInputError
from aggregator.weeks import InvalidWeekError, Week

PARIS = ZoneInfo("Europe/Paris")
days = st.dates(min_value=date(1900, 1, 8), max_value=date(9998, 12, 20))
weeks = days.map(Week.of)


def test_a_week_reads_and_writes_its_iso_label() -> None:
    week = Week.parse("2026-W49")
    assert (week.year, week.number, str(week)) == (2026, 49, "2026-W49")
    assert (week.monday, week.sunday) == (date(2026, 11, 30), date(2026, 12, 6))
    assert Week.parse(" 2026w50 ") == Week(2026, 50)


def test_the_iso_year_is_the_year_of_the_thursday() -> None:
    assert Week.of(date(2025, 12, 29)) == Week(2026, 1)  # a Monday of December
    assert Week.of(date(2027, 1, 3)) == Week(2026, 53)  # 2026 has 53 weeks
    assert Week(2026, 53).next() == Week(2027, 1)
    assert Week(2027, 1).previous() == Week(2026, 53)
    assert Week(2021, 1).previous() == Week(2020, 53)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("next", "expected YYYY-Www"),
        ("2026-W54", "2026 has no week 54"),
        ("2027-W53", "2027 has no week 53"),
        ("2026-W00", "2026 has no week 0"),
        ("", "expected YYYY-Www"),
    ],
)
def test_a_text_that_is_no_week_is_refused_by_name(text: str, message: str) -> None:
    with pytest.raises(InvalidWeekError, match=message) as caught:
        Week.parse(text)
    assert isinstance(caught.value, InvalidInputError) and isinstance(caught.value, ValueError)


def test_a_week_is_immutable() -> None:
    week = Week(2026, 49)
    with pytest.raises(AttributeError):
        week.number = 50  # type: ignore[misc]
    assert {week, Week.parse("2026-W49")} == {week}


def test_an_instant_belongs_to_the_week_of_its_local_day() -> None:
    sunday_night = datetime(2026, 12, 6, 23, 30, tzinfo=UTC)  # Monday 00:30 in Paris
    assert Week.of(sunday_night, "UTC") == Week(2026, 49)
    assert Week.of(sunday_night, PARIS) == Week(2026, 50)
    with pytest.raises(ValueError, match="aware"):
        Week.of(datetime(2026, 12, 6, 23, 30), PARIS)
    with pytest.raises(ValueError, match="aware"):
        Week.of(sunday_night)


def test_the_upcoming_week_starts_on_the_next_monday() -> None:
    assert Week.upcoming(date(2026, 11, 30)) == Week(2026, 49)  # a Monday: its own week
    assert Week.upcoming(date(2026, 12, 1)) == Week(2026, 50)
    assert Week.upcoming(date(2026, 12, 6)) == Week(2026, 50)
    sunday_night = datetime(2026, 12, 6, 23, 30, tzinfo=UTC)  # already Monday in Paris
    assert Week.upcoming(sunday_night, PARIS) == Week(2026, 50)
    assert Week.upcoming(sunday_night, "UTC") == Week(2026, 50)
    assert Week.upcoming(sunday_night - timedelta(days=7), PARIS) == Week(2026, 49)


@given(weeks)
def test_a_week_survives_its_string(week: Week) -> None:
    assert Week.parse(str(week)) == week


@given(days)
def test_the_week_of_a_day_holds_that_day_and_starts_on_a_monday(day: date) -> None:
    week = Week.of(day)
    assert week.monday.isoweekday() == 1 and week.sunday.isoweekday() == 7
    assert week.monday <= day <= week.sunday
    assert Week.of(week.monday) == week == Week.of(week.sunday)


@given(weeks)
def test_next_and_previous_are_seven_days_apart(week: Week) -> None:
    assert week.next().monday - week.monday == timedelta(days=7)
    assert week.next().previous() == week
    assert week.previous() < week < week.next()


@given(weeks)
def test_the_upcoming_week_is_this_one_or_the_next(week: Week) -> None:
    assert Week.upcoming(week.monday) == week
    for offset in range(1, 7):
        assert Week.upcoming(week.monday + timedelta(days=offset)) == week.next()


@given(st.dates(min_value=date(2000, 1, 3), max_value=date(2099, 12, 20)).map(Week.of))
def test_bounds_are_contiguous_and_start_at_local_midnight(week: Week) -> None:
    start, end = week.bounds(PARIS)
    assert (start.hour, start.minute, start.date(), end.date()) == (
        0, 0, week.monday, week.next().monday,
    )
    assert end == week.next().bounds(PARIS)[0]
    elapsed = end.astimezone(UTC) - start.astimezone(UTC)
    assert timedelta(hours=167) <= elapsed <= timedelta(hours=169)


@pytest.mark.parametrize(
    ("label", "hours"),
    [("2026-W13", 167), ("2026-W43", 169), ("2026-W50", 168)],  # DST 29 Mar, 25 Oct 2026
)
def test_a_dst_week_is_an_hour_shorter_or_longer(label: str, hours: int) -> None:
    week = Week.parse(label)
    start, end = week.bounds("Europe/Paris")
    assert end - start == timedelta(days=7)  # on the wall clock, in one zone
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=hours)
    assert week.previous().bounds(PARIS)[1] == start and week.next().bounds(PARIS)[0] == end
    instants = [start.astimezone(UTC) + timedelta(minutes=30 * n) for n in range(2 * hours)]
    assert {Week.of(moment, PARIS) for moment in instants} == {week}  # every hour of it
    assert Week.of(end.astimezone(UTC), PARIS) == week.next()
