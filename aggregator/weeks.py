"""ISO weeks as the digest uses them: ``2026-W49`` is Monday 30 Nov to Sunday 6 Dec 2026."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from aggregator.errors import ConfigError, InvalidInputError

_WEEK = re.compile(r"^(\d{4})-?W(\d{2})$", re.IGNORECASE)


def week_monday(week: str) -> date:
    """The Monday of an ISO week written ``YYYY-Www``."""
    match = _WEEK.match(week.strip())
    if not match:
        raise ConfigError(f"invalid week {week!r}: expected YYYY-Www, e.g. 2026-W49")
    year, number = int(match[1]), int(match[2])
    try:
        return date.fromisocalendar(year, number, 1)
    except ValueError as exc:
        raise ConfigError(f"invalid week {week!r}: {year} has no week {number}") from exc


def week_of(day: date) -> str:
    """The ISO week label of a day."""
    year, number, _ = day.isocalendar()
    return f"{year}-W{number:02d}"


def upcoming_week(today: date) -> str:
    """The week the next digest covers: the one starting on the next Monday (today if Monday)."""
    return week_of(today + timedelta(days=(7 - today.weekday()) % 7))


def week_bounds(week: str, tz: str) -> tuple[datetime, datetime]:
    """Aware start (Monday 00:00 local) and end (next Monday 00:00 local) of a week."""
    monday = week_monday(week)
    zone = ZoneInfo(tz)
    start = datetime.combine(monday, time(0), tzinfo=zone)
    return start, datetime.combine(monday + timedelta(days=7), time(0), tzinfo=zone)


def checked_week(value: str | None, default: str) -> str:
    """``value`` when it is a valid ISO week (``default`` when empty); else InvalidInputError."""
    week = (value or default).strip()
    try:
        week_monday(week)
    except ConfigError as exc:
        raise InvalidInputError(f"{week!r} is not an ISO week like 2026-W49") from exc
    return week
