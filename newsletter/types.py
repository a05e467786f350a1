"""The digest's plain data types, in a module importing nothing of ours (no cycles).

``EventView`` is the part of a published event a digest needs; ``DigestItem`` is one event
as a subscriber's digest shows it. ``newsletter.select`` builds them, ``newsletter.series``
folds them, ``newsletter.render`` shows them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from aggregator.timeutil import DEFAULT_ZONE


@dataclass(frozen=True, slots=True)
class EventView:
    """The part of a published event a digest needs (mapped from ``Event`` at the edge)."""

    id: int
    title: str
    start: datetime | None  # aware; None for all-day events
    end: datetime | None = None
    all_day: bool = False
    start_date: date | None = None
    end_date: date | None = None
    timezone: str = DEFAULT_ZONE
    status: str = "scheduled"
    online: bool = False
    insee: str | None = None
    city: str | None = None
    venue: str | None = None
    address: str | None = None
    url: str | None = None
    description: str | None = None
    organizer: str | None = None
    topics: tuple[str, ...] = ()
    created_at: datetime | None = None
    updated_at: datetime | None = None
    series_uid: str | None = None
    title_key: str = ""
    cancelled_at: datetime | None = None

    @property
    def cancelled(self) -> bool:
        return self.status == "cancelled"


@dataclass(frozen=True, slots=True)
class DigestItem:
    """One event as this subscriber's digest shows it."""

    event: EventView
    day: date  # local day it is listed under
    local_start: datetime | None  # in the digest's timezone; None when all-day
    local_end: datetime | None
    is_new: bool = False
    is_cancelled: bool = False
    was_start: datetime | None = None  # moved: the start the reader was told (local)
    was_place: str | None = None  # moved: the venue/town the reader was told
    score: float = 0.0

    @property
    def is_moved(self) -> bool:
        return self.was_start is not None or self.was_place is not None
