"""Where a dedupe candidate is filed and where it looks: the blocking keys of
:func:`aggregator.dedupe.find_matches`, and the index of stored candidates a crawl keeps
across its batches.

A candidate is filed under its distinctive title/organizer words (per hourly bucket of its
start and per day), its canonical URL or UID, its page and linked URLs (per day) and its
commune or "online" (per hourly bucket, per day when all-day). Which of its words count, and
which buckets are too crowded to block on, depends on counts over every candidate of one
matching (see ``find_matches``); :class:`StoredIndex` files each stored candidate once under
every key it could have, and a batch filters by its own window and counts.
"""

from __future__ import annotations

import threading
from collections.abc import Container, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from aggregator import match_signals as sig
from aggregator.candidate import Candidate
from aggregator.match_evidence import _name_stems, _span

Key = tuple[Any, ...]


def block_words(c: Candidate) -> frozenset[str]:
    return sig.significant_words(c.title_key) | _name_stems(c.names)


HOUR = 3600  # timed listings meet by commune within one hourly bucket of their start


def days_of(c: Candidate) -> list[date]:
    first, last = _span(c)
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def around(days: list[date]) -> set[date]:
    one = timedelta(days=1)
    return {d + k * one for d in days for k in (-1, 0, 1)}


def near_hours(a: Candidate, b: Candidate, within: int = 1) -> bool:
    """Both timed with starts at most ``within`` hourly buckets apart, or one all-day."""
    if a.all_day or b.all_day or a.start is None or b.start is None:
        return True
    return abs(int(a.start.timestamp() // HOUR) - int(b.start.timestamp() // HOUR)) <= within


def places(c: Candidate) -> list[str]:
    return [p for p in (c.insee, "online" if c.online else None) if p]


def exact_keys(c: Candidate) -> list[tuple[Any, ...]]:
    """Exact identity keys: the canonical URL and the UID, on the listing's day."""
    keys: list[tuple[Any, ...]] = []
    if c.canonical_url:
        keys.append(("url", c.canonical_url, c.start_date))
    if c.uid:
        keys.append(("uid", c.uid, c.start_date))
    return keys


def word_keys(c: Candidate, words: Iterable[str], days: list[date],
               crowded: Container[tuple[Any, ...]] = frozenset()) -> list[tuple[Any, ...]]:
    """Title/organizer words: per hourly bucket and per day when timed, per day when all-day
    (a crowded bucket left out on both sides alike)."""
    if c.all_day or c.start is None:
        return [("wd", w, d) for w in words for d in days if ("wday", w, d) not in crowded]
    hour = int(c.start.timestamp() // HOUR)
    keys: list[tuple[Any, ...]] = []
    for w in words:
        if ("w", w, hour) not in crowded:
            keys.append(("w", w, hour))
        if ("wday", w, c.start_date) not in crowded:
            keys.append(("wt", w, c.start_date))
    return keys


def word_lookups(c: Candidate, words: Iterable[str], days: list[date],
                  crowded: Container[tuple[Any, ...]] = frozenset()) -> list[tuple[Any, ...]]:
    if c.all_day or c.start is None:
        near = sorted(around(days))
        return [k for w in words for k in
                [("wd", w, d) for d in near if ("wday", w, d) not in crowded]
                + [("wt", w, d) for d in days if ("wday", w, d) not in crowded]]
    hour = int(c.start.timestamp() // HOUR)
    looks: list[tuple[Any, ...]] = []
    for w in words:
        if ("w", w, hour) not in crowded:
            looks += [("w", w, hour + n) for n in range(-3, 4) if ("w", w, hour + n) not in crowded]
        if ("wday", w, c.start_date) not in crowded:
            looks.append(("wd", w, c.start_date))
    return looks


def word_buckets(c: Candidate, words: Iterable[str]) -> list[tuple[Any, ...]]:
    if c.all_day or c.start is None:
        return [("wday", w, d) for w in words for d in days_of(c)]
    hour = int(c.start.timestamp() // HOUR)
    return [k for w in words for k in (("w", w, hour), ("wday", w, c.start_date))]


def place_buckets(c: Candidate) -> list[tuple[Any, ...]]:
    """The place buckets ``c`` fills: (commune, hour) when timed, and (commune, day)."""
    out: list[tuple[Any, ...]] = []
    for place in places(c):
        if c.all_day:
            out += [("day", place, d) for d in days_of(c)]
        elif c.start is not None:
            out += [("c", place, int(c.start.timestamp() // HOUR)), ("day", place, c.start_date)]
    return out


def keys_of(c: Candidate, words: Iterable[str],
          crowded: Container[tuple[Any, ...]] = frozenset()) -> list[tuple[Any, ...]]:
    """Where ``c`` is filed: title/organizer words and URLs per local day; its commune (or
    "online") per hourly bucket of its start when timed, per day when all-day. A crowded
    place bucket (more than ``max_block`` listings) is left out, on both sides alike."""
    days = days_of(c)
    keys: list[tuple[Any, ...]] = word_keys(c, words, days, crowded)
    keys += exact_keys(c)
    if c.page:
        keys += [("u", c.page, d) for d in days]
    for link in c.links:
        keys += [("p", link, d) for d in days] + [("l", link, d) for d in days]
    for place in places(c):
        if c.all_day:
            keys += [("cd", place, d) for d in days if ("day", place, d) not in crowded]
        elif c.start is not None:
            bucket = ("c", place, int(c.start.timestamp() // HOUR))
            if bucket not in crowded:
                keys.append(bucket)
            if ("day", place, c.start_date) not in crowded:
                keys.append(("ct", place, c.start_date))
    return keys


def lookups_of(c: Candidate, words: Iterable[str],
             crowded: Container[tuple[Any, ...]] = frozenset()) -> list[tuple[Any, ...]]:
    """The keys under which every candidate :func:`compare` could match with ``c`` is filed."""
    days = days_of(c)
    near = sorted(around(days))
    looks: list[tuple[Any, ...]] = word_lookups(c, words, days, crowded)
    looks += exact_keys(c)
    if c.page:
        looks += [("p", c.page, d) for d in near]
    for link in c.links:
        looks += [("u", link, d) for d in near] + [("l", link, d) for d in near]
    for place in places(c):
        if c.all_day:
            looks += [(kind, place, d) for d in days if ("day", place, d) not in crowded
                      for kind in ("ct", "cd")]
        elif c.start is not None:
            hour = int(c.start.timestamp() // HOUR)
            if ("c", place, hour) not in crowded:
                looks += [("c", place, hour + k) for k in (-1, 0, 1)
                          if ("c", place, hour + k) not in crowded]
            if ("day", place, c.start_date) not in crowded:
                looks.append(("cd", place, c.start_date))
    return looks


@dataclass(frozen=True, slots=True)
class Prepared:
    """What blocking derives from one candidate alone (the same for every batch)."""

    words: tuple[str, ...]  # its block words, sorted
    near: tuple[date, ...]  # its days and the day either side
    word_days: tuple[tuple[str, date], ...]  # (word, day) for each of its days
    place_buckets: tuple[tuple[Any, ...], ...]

    @classmethod
    def of(cls, c: Candidate) -> Prepared:
        words = tuple(sorted(block_words(c)))
        days = days_of(c)
        return cls(words=words, near=tuple(around(days)),
                   word_days=tuple((w, d) for d in days for w in words),
                   place_buckets=tuple(place_buckets(c)))


class StoredIndex:
    """Stored candidates filed once under every key they could have (all their words, no
    bucket too crowded), for the batches of one store; see ``find_matches(index=...)``.

    A candidate is known by identity (``aggregator.matching`` hands out the same object for
    the same listing version, batch after batch) and held, so its id is never reused while
    it is filed. Stale versions stay filed but are never in a batch's window. Bounded: when
    a matching would pass ``limit`` candidates, the index starts again empty."""

    def __init__(self, limit: int = 200_000) -> None:
        self.limit = limit
        self.lock = threading.Lock()  # held by a matching for its whole batch
        self._clear()

    def _clear(self) -> None:
        self.prepared: dict[int, tuple[Candidate, Prepared]] = {}
        self.word_days: dict[tuple[str, date], list[Candidate]] = {}
        self.buckets: dict[Key, list[Candidate]] = {}  # place and word buckets (counts)
        self.keys: dict[Key, list[Candidate]] = {}

    def __len__(self) -> int:
        return len(self.prepared)

    def make_room(self, count: int) -> None:
        """Start again empty when ``count`` more would pass the limit (before a matching
        files its window, never during it)."""
        if len(self.prepared) + count > self.limit:
            self._clear()

    def prepare(self, c: Candidate) -> Prepared:
        """What blocking derives from ``c`` alone; ``c`` is filed on first sight."""
        found = self.prepared.get(id(c))
        if found is not None and found[0] is c:
            return found[1]
        prep = Prepared.of(c)
        self.prepared[id(c)] = (c, prep)
        for wd in prep.word_days:
            self.word_days.setdefault(wd, []).append(c)
        for key in (*prep.place_buckets, *word_buckets(c, prep.words)):
            self.buckets.setdefault(key, []).append(c)
        for key in keys_of(c, prep.words):
            self.keys.setdefault(key, []).append(c)
        return prep
