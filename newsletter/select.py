"""Choosing one subscriber's digest: pure data in, pure data out (no DB, no clock).

For the week starting ``week_start`` (a local Monday): the events of the coming seven
days, grouped by local day, and a short "save the date" list for the seven after, both
filtered by the subscriber's topics, towns and online choice. A cancelled event shows
only if an earlier digest announced it to this subscriber; an event first published
since that subscriber's last digest is marked new (never on a first digest).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo

MARSEILLE = "13055"


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
    timezone: str = "Europe/Paris"
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

    @property
    def cancelled(self) -> bool:
        return self.status == "cancelled"


@dataclass(frozen=True, slots=True)
class SubscriberPrefs:
    """What a subscriber asked for. Empty ``topics``/``towns`` mean all of them."""

    email: str
    language: str = "fr"
    topics: frozenset[str] = frozenset()
    towns: frozenset[str] = frozenset()
    include_online: bool = True
    id: int | None = None


@dataclass(frozen=True, slots=True)
class DigestItem:
    """One event as this subscriber's digest shows it."""

    event: EventView
    day: date  # local day it is listed under
    local_start: datetime | None  # in the digest's timezone; None when all-day
    local_end: datetime | None
    is_new: bool = False
    is_cancelled: bool = False


@dataclass(frozen=True, slots=True)
class DayGroup:
    day: date
    items: tuple[DigestItem, ...]


@dataclass(frozen=True, slots=True)
class DigestContent:
    """A subscriber's digest for one week, ready to render."""

    week_start: date
    days: tuple[DayGroup, ...] = ()
    save_the_date: tuple[DigestItem, ...] = ()
    language: str = "fr"
    event_ids: tuple[int, ...] = field(default=())

    @property
    def week_items(self) -> list[DigestItem]:
        return [item for group in self.days for item in group.items]

    @property
    def count(self) -> int:
        """Events of the week that still take place."""
        return sum(1 for item in self.week_items if not item.is_cancelled)

    @property
    def later_count(self) -> int:
        return sum(1 for item in self.save_the_date if not item.is_cancelled)

    @property
    def new_count(self) -> int:
        return sum(1 for item in self.week_items + list(self.save_the_date) if item.is_new)

    @property
    def is_empty(self) -> bool:
        return not self.days and not self.save_the_date


def normal_insee(code: str | None) -> str | None:
    """Marseille's arrondissements (13201–13216) count as Marseille (13055)."""
    if code and len(code) == 5 and code.startswith("132") and "13201" <= code <= "13216":
        return MARSEILLE
    return code


def matches(event: EventView, prefs: SubscriberPrefs) -> bool:
    """Whether ``event`` fits the subscriber's topics, towns and online choice."""
    if prefs.topics and not prefs.topics.intersection(event.topics):
        return False
    towns = {normal_insee(t) for t in prefs.towns}
    in_town = not towns or normal_insee(event.insee) in towns
    if event.online:
        # hybrid events (online and in a town) come through either door
        return prefs.include_online or (bool(event.insee) and bool(towns) and in_town)
    return in_town


def _placement(
    event: EventView, tz: tzinfo
) -> tuple[date, datetime | None, datetime | None] | None:
    if event.start is not None and not event.all_day:
        local_start = event.start.astimezone(tz)
        local_end = event.end.astimezone(tz) if event.end else None
        return local_start.date(), local_start, local_end
    if event.start_date is not None:
        return event.start_date, None, None
    return None


def _last_day(event: EventView, first: date, local_end: datetime | None) -> date:
    if event.end_date is not None and event.end_date >= first:
        return event.end_date
    if local_end is not None and local_end.date() >= first:
        return local_end.date()
    return first


def _sort_key(item: DigestItem) -> tuple[date, int, datetime | date, str]:
    when: datetime | date = item.local_start or item.day
    if isinstance(when, datetime):
        return item.day, 1, when.replace(tzinfo=None), item.event.title.casefold()
    return item.day, 0, when, item.event.title.casefold()


def select_digest(
    events: Sequence[EventView],
    subscriber: SubscriberPrefs,
    *,
    week_start: date,
    tz: tzinfo,
    announced_ids: set[int] | frozenset[int] = frozenset(),
    last_digest_at: datetime | None = None,
) -> DigestContent:
    """The digest of ``subscriber`` for the week starting ``week_start`` (see module doc).

    An event that began before the week and still runs is listed on the week's first day.
    """
    week_end = week_start + timedelta(days=7)
    later_end = week_start + timedelta(days=14)
    week: list[DigestItem] = []
    later: list[DigestItem] = []
    for event in events:
        placed = _placement(event, tz)
        if placed is None or not matches(event, subscriber):
            continue
        first, local_start, local_end = placed
        if event.cancelled and event.id not in announced_ids:
            continue
        last = _last_day(event, first, local_end)
        if last < week_start or first >= later_end:
            continue
        is_new = (
            last_digest_at is not None
            and event.id not in announced_ids
            and event.created_at is not None
            and event.created_at > last_digest_at
        )
        item = DigestItem(
            event=event,
            day=max(first, week_start),
            local_start=local_start,
            local_end=local_end,
            is_new=is_new,
            is_cancelled=event.cancelled,
        )
        (week if item.day < week_end else later).append(item)
    week.sort(key=_sort_key)
    later.sort(key=_sort_key)
    return DigestContent(
        week_start=week_start,
        days=tuple(_group_by_day(week)),
        save_the_date=tuple(later),
        language=subscriber.language,
        event_ids=tuple(item.event.id for item in [*week, *later]),
    )


def _group_by_day(items: Iterable[DigestItem]) -> list[DayGroup]:
    groups: dict[date, list[DigestItem]] = {}
    for item in items:
        groups.setdefault(item.day, []).append(item)
    return [DayGroup(day=day, items=tuple(group)) for day, group in groups.items()]
