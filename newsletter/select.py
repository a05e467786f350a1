"""Choosing one subscriber's digest: pure data in, pure data out (no DB, no clock).

For the week starting ``week_start`` (a local Monday): the events of the coming seven
days, grouped by local day, and a short "save the date" list for the seven after, both
filtered by the subscriber's topics, towns and online choice. This one function serves
the email and the personal iCal and Atom feeds (``newsletter.channels``).

What the reader was told is their own watermark: ``told_at`` maps each event an earlier
digest showed them to the instant that digest's events were read. Against it:

* **NEW**: an event this reader has never been shown (never on a first digest);
* **MOVED**: an event they were shown whose start, end, venue or town changed since
  (``aggregator.history``; the old value is kept to be struck through);
* **CANCELLED**: only for an event they were shown before it was cancelled; a cancelled
  event they never saw, or already saw cancelled, is left out.

Topic feedback (``SubscriberPrefs.topic_weights``, from "more/fewer like this" links): a
topic at ``MUTE_AT`` or below is muted, and an event whose topics are all muted is left
out (unless it is news about an event the reader was told of: moved or cancelled).
Within a day, events with a positive score (the sum of their topics' weights) come first,
then the rest, each in time order. Recurring series are folded into one line
(``newsletter.series``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import Protocol

from aggregator.history import is_moved, net_changes
from newsletter.series import SeriesGroup, group_series
from newsletter.types import DigestItem, EventView

MUTE_AT = -2.0  # a topic weight at or below this mutes the topic
WEIGHT_LIMIT = 3.0  # weights stay within [-3, 3]


class ChangeRecord(Protocol):
    """One recorded field change (``aggregator.models.EventChange`` fits)."""

    @property
    def id(self) -> int | None: ...
    @property
    def event_id(self) -> int: ...
    @property
    def field(self) -> str: ...
    @property
    def old(self) -> str | None: ...
    @property
    def new(self) -> str | None: ...
    @property
    def at(self) -> datetime: ...


@dataclass(frozen=True, slots=True)
class SubscriberPrefs:
    """What a subscriber asked for. Empty ``topics``/``towns`` mean all of them."""

    email: str
    language: str = "fr"
    topics: frozenset[str] = frozenset()
    towns: frozenset[str] = frozenset()
    include_online: bool = True
    id: int | None = None
    topic_weights: Mapping[str, float] = field(default_factory=dict)

    def score(self, event: EventView) -> float:
        """The sum of the reader's weights for the event's topics (0 when none)."""
        return sum(float(self.topic_weights.get(topic, 0.0)) for topic in event.topics)

    def muted(self, event: EventView) -> bool:
        """True when the event has topics and the reader muted every one of them."""
        return bool(event.topics) and all(
            float(self.topic_weights.get(topic, 0.0)) <= MUTE_AT for topic in event.topics
        )


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
    series: tuple[SeriesGroup, ...] = ()
    # all_items, sorted on first use (readers who share a selection share this too)
    _all_items: tuple[DigestItem, ...] | None = field(
        default=None, init=False, compare=False, repr=False
    )

    @property
    def week_items(self) -> list[DigestItem]:
        """The items listed under the week's days (series occurrences not included)."""
        return [item for group in self.days for item in group.items]

    @property
    def all_items(self) -> tuple[DigestItem, ...]:
        """Every item of the digest: days, series occurrences and save the date (sorted
        once: the content is immutable)."""
        found = self._all_items
        if found is None:
            folded = [item for group in self.series for item in group.items]
            found = tuple(
                sorted([*self.week_items, *folded, *self.save_the_date], key=_sort_key)
            )
            object.__setattr__(self, "_all_items", found)
        return found

    def _in_week(self, item: DigestItem) -> bool:
        return item.day < self.week_start + timedelta(days=7)

    @property
    def count(self) -> int:
        """Events of the week that still take place (series occurrences included)."""
        return sum(1 for i in self.all_items if self._in_week(i) and not i.is_cancelled)

    @property
    def later_count(self) -> int:
        return sum(1 for i in self.all_items if not self._in_week(i) and not i.is_cancelled)

    @property
    def size(self) -> int:
        """Events of the issue that still take place: the week and the save the date."""
        return sum(1 for item in self.all_items if not item.is_cancelled)

    @property
    def new_count(self) -> int:
        return sum(1 for item in self.all_items if item.is_new)

    @property
    def moved_count(self) -> int:
        return sum(1 for item in self.all_items if item.is_moved)

    @property
    def cancelled_count(self) -> int:
        return sum(1 for item in self.all_items if item.is_cancelled)

    @property
    def is_empty(self) -> bool:
        return not self.event_ids


def matches(event: EventView, prefs: SubscriberPrefs) -> bool:
    """Whether ``event`` fits the subscriber's topics, towns and online choice."""
    if prefs.topics and not prefs.topics.intersection(event.topics):
        return False
    towns = prefs.towns  # a commune's parts are read as the commune beforehand
    in_town = not towns or event.insee in towns  # (see newsletter.compose)
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


def _sort_key(item: DigestItem) -> tuple[date, int, int, datetime | date, str]:
    liked = 0 if item.score > 0 else 1
    when: datetime | date = item.local_start or item.day
    if isinstance(when, datetime):
        return item.day, liked, 1, when.replace(tzinfo=None), item.event.title.casefold()
    return item.day, liked, 0, when, item.event.title.casefold()


def _parse_instant(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def moved_from(
    changes: Sequence[ChangeRecord], tz: tzinfo
) -> tuple[datetime | None, str | None]:
    """``(old local start, old place)`` when ``changes`` amount to a move, else ``(None, None)``.

    The old values are those the reader was told (the first old value of each field).
    """
    net = net_changes(changes)  # type: ignore[arg-type]
    if not is_moved(net):
        return None, None
    was_start = None
    if "start" in net and net["start"].old and net["start"].new:
        old = _parse_instant(net["start"].old)
        was_start = old.astimezone(tz) if old is not None else None
    was_place = None
    venue, city = net.get("venue"), net.get("city")
    if (venue and venue.old and venue.new) or (city and city.old and city.new):
        was_place = ", ".join(
            x for x in ((venue.old if venue else None), (city.old if city else None)) if x
        )
    if was_start is None and was_place is None and "end" in net:
        return None, None  # only the end time changed: a detail, not a move
    return was_start, was_place


def select_digest(
    events: Sequence[EventView],
    subscriber: SubscriberPrefs,
    *,
    week_start: date,
    tz: tzinfo,
    announced_ids: set[int] | frozenset[int] = frozenset(),
    last_digest_at: datetime | None = None,
    told_at: Mapping[int, datetime] | None = None,
    changes: Mapping[int, Sequence[ChangeRecord]] | None = None,
) -> DigestContent:
    """The digest of ``subscriber`` for the week starting ``week_start`` (see module doc).

    ``announced_ids``: events earlier digests showed this reader; ``told_at`` (optional)
    gives, per such event, when its details were read for them; ``changes`` the recorded
    changes per event id (any period: only those after ``told_at`` count). With neither,
    nothing is marked moved. ``last_digest_at`` only tells whether the reader had a digest
    before (nothing is new on a first one). An event that began before the week and still
    runs is listed on the week's first day.
    """
    told = told_at or {}
    history = changes or {}
    has_history = bool(announced_ids) or last_digest_at is not None
    week_end = week_start + timedelta(days=7)
    later_end = week_start + timedelta(days=14)
    items: list[DigestItem] = []
    for event in events:
        placed = _placement(event, tz)
        if placed is None or not matches(event, subscriber):
            continue
        first, local_start, local_end = placed
        announced = event.id in announced_ids
        since = told.get(event.id)
        if event.cancelled and not announced:
            continue
        if (
            event.cancelled
            and since is not None
            and event.cancelled_at is not None
            and event.cancelled_at <= since
        ):
            continue  # the reader was already told it is cancelled
        last = _last_day(event, first, local_end)
        if last < week_start or first >= later_end:
            continue
        was_start, was_place = None, None
        if announced and since is not None and not event.cancelled:
            recent = [c for c in history.get(event.id, ()) if c.at > since]
            was_start, was_place = moved_from(recent, tz) if recent else (None, None)
        news = event.cancelled or was_start is not None or was_place is not None
        if subscriber.muted(event) and not news:
            continue
        items.append(
            DigestItem(
                event=event,
                day=max(first, week_start),
                local_start=local_start,
                local_end=local_end,
                is_new=has_history and not announced,
                is_cancelled=event.cancelled,
                was_start=was_start,
                was_place=was_place,
                score=subscriber.score(event),
            )
        )
    items.sort(key=_sort_key)
    series, folded = group_series(items, announced=frozenset(announced_ids))
    listed = [item for item in items if item.event.id not in folded]
    return DigestContent(
        week_start=week_start,
        days=tuple(_group_by_day(i for i in listed if i.day < week_end)),
        save_the_date=tuple(i for i in listed if i.day >= week_end),
        language=subscriber.language,
        event_ids=tuple(item.event.id for item in items),
        series=tuple(series),
    )


def _group_by_day(items: Iterable[DigestItem]) -> list[DayGroup]:
    groups: dict[date, list[DigestItem]] = {}
    for item in items:
        groups.setdefault(item.day, []).append(item)
    return [DayGroup(day=day, items=tuple(group)) for day, group in groups.items()]
