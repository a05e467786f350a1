"""Series, not spam: a recurring meetup appears once per digest (pure, no DB, no clock).

Occurrences belong to one series when they share ``Event.series_uid`` (an iCal RRULE or a
platform's series id), or else the same title key and venue. A series with at least two
occurrences in a digest (the week and its "save the date" tail) becomes one
:class:`SeriesGroup` line ("tous les mardis : …" / "every Tuesday: …"). The *typical*
occurrence is the most common (title, venue, local time); the occurrences that differ from
it (another title such as a special speaker, another venue or time), and the ones with
news for the reader (moved, cancelled), keep their own place in the day lists.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import date, time
from functools import lru_cache

from aggregator import regions
from newsletter.types import DigestItem

MIN_OCCURRENCES = 2


@lru_cache(maxsize=8192)
def fold(text: str | None) -> str:
    """:func:`aggregator.regions.fold`, once per text: every reader's selection groups the
    same events again (a str keeps its hash, so a hit costs one dict lookup)."""
    return regions.fold(text)


@dataclass(frozen=True, slots=True)
class SeriesGroup:
    """One recurring event, shown once: its typical details and the dates folded into it."""

    key: str
    title: str
    weekday: int | None  # 0 = Monday when every folded date shares it, else None
    local_time: time | None
    venue: str | None
    city: str | None
    dates: tuple[date, ...]  # the folded occurrences' days
    items: tuple[DigestItem, ...]  # the folded occurrences, first one first
    is_new: bool = False  # no occurrence of it was announced to this reader before

    @property
    def first(self) -> DigestItem:
        return self.items[0]


def series_key(item: DigestItem) -> Hashable:
    """What ties occurrences together: the series UID, else the title key and venue."""
    event = item.event
    if event.series_uid:
        return ("uid", event.series_uid)
    title = event.title_key or fold(event.title)
    return ("title", title, fold(event.venue), event.insee or "", event.online)


def _details(item: DigestItem) -> tuple[str, str, time | None]:
    start = item.local_start.time().replace(second=0, microsecond=0) if item.local_start else None
    return (item.event.title.strip(), fold(item.event.venue), start)


def _typical(items: Sequence[DigestItem]) -> tuple[str, str, time | None]:
    counts = Counter(_details(item) for item in items)
    first_seen = {d: i for i, d in reversed(list(enumerate(_details(it) for it in items)))}
    # most common; on a tie the shortest title (a special session adds words), then earliest
    return min(counts, key=lambda d: (-counts[d], len(d[0]), first_seen[d]))


def group_series(
    items: Sequence[DigestItem], *, announced: frozenset[int] | set[int] = frozenset()
) -> tuple[list[SeriesGroup], set[int]]:
    """The series groups among ``items`` and the ids of the occurrences they fold away.

    An occurrence is folded when its details are the series' typical ones and it carries no
    news (not moved, not cancelled). A group needs ``MIN_OCCURRENCES`` folded occurrences on
    different days; otherwise everything stays listed on its own.
    """
    by_key: dict[Hashable, list[DigestItem]] = defaultdict(list)
    for item in items:
        by_key[series_key(item)].append(item)
    groups: list[SeriesGroup] = []
    folded: set[int] = set()
    for key, members in by_key.items():
        if len({m.day for m in members}) < MIN_OCCURRENCES:
            continue
        members.sort(key=lambda m: (m.day, m.local_start.timestamp() if m.local_start else 0))
        typical = _typical(members)
        plain = [
            m
            for m in members
            if _details(m) == typical and not m.is_cancelled and not m.is_moved
        ]
        if len({m.day for m in plain}) < MIN_OCCURRENCES:
            continue
        weekdays = {m.day.weekday() for m in plain}
        first = plain[0]
        groups.append(
            SeriesGroup(
                key=repr(key),
                title=first.event.title,
                weekday=weekdays.pop() if len(weekdays) == 1 else None,
                local_time=typical[2],
                venue=first.event.venue,
                city=first.event.city,
                dates=tuple(m.day for m in plain),
                items=tuple(plain),
                is_new=not any(m.event.id in announced for m in members),
            )
        )
        folded.update(m.event.id for m in plain)
    groups.sort(key=lambda g: (g.dates[0], g.title.casefold()))
    return groups, folded
