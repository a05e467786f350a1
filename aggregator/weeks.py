"""ISO 8601 weeks as the digest uses them: ``2026-W49`` is Monday 30 Nov to Sunday 6 Dec 2026.

:class:`Week` is the one type for a week inside the code; its string form (``str(week)``,
read back by :meth:`Week.parse`) lives only at the edges: URLs, form fields, CLI options
and the ``Digest.week`` column. A week belongs to the ISO year of its Thursday, so
29 Dec 2025 is in ``2026-W01`` and some years (2026, 2032...) have a week 53.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from aggregator.errors import InvalidInputError
from aggregator.timeutil import zone

_WEEK = re.compile(r"^(\d{4})-?W(\d{2})$", re.IGNORECASE)


class InvalidWeekError(InvalidInputError, ValueError):
    """A text or a (year, number) pair that is not an ISO week."""


@dataclass(frozen=True, order=True, slots=True)
class Week:
    """One ISO week: ``year`` is the ISO year (that of the week's Thursday), ``number`` 1-53."""

    year: int
    number: int

    def __post_init__(self) -> None:
        try:
            date.fromisocalendar(self.year, self.number, 1)
        except (ValueError, TypeError) as exc:
            raise InvalidWeekError(
                f"'{self.year}-W{self.number:02d}' is not an ISO week: "
                f"{self.year} has no week {self.number}"
            ) from exc

    @classmethod
    def parse(cls, text: str) -> Week:
        """The week written ``YYYY-Www`` (``2026-W49``; ``2026W49`` and lower case too)."""
        match = _WEEK.match(text.strip()) if isinstance(text, str) else None
        if not match:
            raise InvalidWeekError(
                f"{text!r} is not an ISO week: expected YYYY-Www, e.g. 2026-W49"
            )
        year, number = int(match[1]), int(match[2])
        try:
            return cls(year, number)
        except InvalidWeekError as exc:
            raise InvalidWeekError(
                f"{text.strip()!r} is not an ISO week: {year} has no week {number}"
            ) from exc

    @classmethod
    def of(cls, moment: datetime | date, tz: tzinfo | str | None = None) -> Week:
        """The week a day falls in, or an aware instant on the local calendar of ``tz``."""
        day = _local_day(moment, tz)
        year, number, _ = day.isocalendar()
        return cls(year, number)

    @classmethod
    def upcoming(cls, moment: datetime | date, tz: tzinfo | str | None = None) -> Week:
        """The week the next digest covers: the one starting on the next Monday, on the
        local calendar of ``tz`` (this week when that day is a Monday)."""
        day = _local_day(moment, tz)
        return cls.of(day + timedelta(days=(7 - day.weekday()) % 7))

    @property
    def monday(self) -> date:
        """The week's first day."""
        return date.fromisocalendar(self.year, self.number, 1)

    @property
    def sunday(self) -> date:
        """The week's last day."""
        return self.monday + timedelta(days=6)

    def bounds(self, tz: tzinfo | str) -> tuple[datetime, datetime]:
        """Aware start (Monday 00:00 local) and end (next Monday 00:00 local) of the week;
        one week's end is the next one's start, whatever the DST changes in between."""
        local = zone(tz) if isinstance(tz, str) else tz
        start = datetime.combine(self.monday, time(0), tzinfo=local)
        return start, datetime.combine(self.monday + timedelta(days=7), time(0), tzinfo=local)

    def next(self) -> Week:
        """The week after this one."""
        return Week.of(self.monday + timedelta(days=7))

    def previous(self) -> Week:
        """The week before this one."""
        return Week.of(self.monday - timedelta(days=7))

    def __str__(self) -> str:
        return f"{self.year}-W{self.number:02d}"


def _local_day(moment: datetime | date, tz: tzinfo | str | None) -> date:
    if not isinstance(moment, datetime):
        return moment
    if moment.tzinfo is None or tz is None:
        raise ValueError("a week of an instant needs an aware datetime and a time zone")
    return moment.astimezone(zone(tz) if isinstance(tz, str) else tz).date()
