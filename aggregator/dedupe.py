"""Is this the same real-world event? Pure, explainable match decisions.

Exact keys first (same source and external id is handled by ingest; the same canonical URL
or the same foreign UID on the same day), then fuzzy matching *blocked* by title word and
time: two candidates are compared only when they share a significant title word and their
starts could match (within 20 minutes, a whole-hour timezone slip apart, or one side
all-day on the other's local day), so the cost grows about linearly, never as all pairs.
See :func:`find_matches`.

A fuzzy match needs all of:

* similar titles (rapidfuzz on accent-, case- and stop-word-free keys), and no
  contradicting numbers ("#45" vs "#46", "2026" vs "2027");
* compatible times: starts within 20 minutes, or whole hours apart with a near-identical
  title (a timezone slip), or one side all-day on the other's local day;
* compatible places: the same commune or venue, both online, or one side unknown; two
  different communes never match (nor a town outside the region and another town), nor an
  online-only event and one in a known town.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from rapidfuzz import fuzz

from aggregator.regions import Region, fold

if TYPE_CHECKING:
    from aggregator.normalize import NormalizedEvent

TIME_FIELDS = ("start", "end", "all_day", "start_date", "end_date", "timezone", "end_before_start")
PLACE_FIELDS = ("venue", "address", "city", "postcode", "insee", "latitude", "longitude",
                "in_region")
SINGLE_FIELDS = ("title", "description_html", "description_text", "url", "image", "price",
                 "organizer", "language", "series_uid", "online")

STOP_WORDS = frozenset(
    ["le", "la", "les", "l", "un", "une", "des", "du", "de", "d", "au", "aux", "et", "ou", "en", "a", "à", "pour", "par", "sur", "avec", "dans", "chez", "sans", "ce", "cette", "ces", "se", "sa", "son", "ses", "notre", "nos", "votre", "vos", "the", "an", "of", "and", "or", "in", "on", "at", "for", "with", "to", "by", "from", "is", "are", "meetup", "rencontre", "soiree", "evening", "event", "evenement", "session", "edition"]
)
_SITE_WORDS = frozenset({"meetup", "eventbrite", "openagenda", "mobilizon", "facebook"})


def title_key(title: str | None, region: Region | None = None) -> str:
    """Accent-, case-, punctuation- and stop-word-free words of a title, in order.

    With a ``region``, its town names are left out too: they say where, not what
    ("Marseille : Kubernetes en production" is the talk "Kubernetes en production"); the
    place check of :func:`compare` keeps a Marseille and an Aix edition apart.
    """
    folded = fold(title)
    if region is not None:
        folded = region.strip_place_words(folded)
    words = [w for w in folded.split() if w not in STOP_WORDS]
    return " ".join(words) if words else folded


@dataclass(frozen=True, slots=True)
class Candidate:
    """What matching needs to know of one event (built from a NormalizedEvent or an Event)."""

    key: Hashable
    title_key: str
    start: datetime | None
    all_day: bool
    start_date: date | None
    source_id: int | None = None
    canonical_url: str | None = None
    uid: str | None = None
    venue: str | None = None
    insee: str | None = None
    online: bool = False
    city: str | None = None  # the town as given; matters when it lies outside the region


@dataclass(frozen=True, slots=True)
class Match:
    """A decision that ``left`` and ``right`` are one event, with the evidence."""

    left: Hashable
    right: Hashable
    score: float
    reasons: tuple[str, ...] = field(default_factory=tuple)


@lru_cache(maxsize=65536)
def _numbers(key: str) -> frozenset[str]:
    return frozenset(re.findall(r"\d+", key))


@lru_cache(maxsize=65536)
def _folded(text: str) -> str:
    return fold(text)


SESSION_SHARE = 0.2  # own words this large a share of both titles: two sessions of a series


def title_similarity(a: str, b: str) -> float:
    """0–100 similarity of two title keys.

    Word order does not count. When one title's words are all in the other ("KCD Provence"
    inside "Kubernetes Community Days Provence (KCD Provence)") it is the token-set ratio.
    When *each* title has words of its own, unlike each other, and those words make up a
    large share (``SESSION_SHARE``) of *both* titles ("… : transformers" vs "… : séries
    temporelles"), the titles name different sessions of one series: 0. A detail added on
    each side ("… avec Argo CD" vs "Marseille : …") is a small share of one of them and
    only lowers the score.
    """
    if not a or not b:
        return 0.0
    words_a, words_b = set(a.split()), set(b.split())
    only_a, only_b = words_a - words_b, words_b - words_a
    if only_a and only_b:
        own = fuzz.ratio(" ".join(sorted(only_a)), " ".join(sorted(only_b)))
        share = min(len(only_a) / len(words_a), len(only_b) / len(words_b))
        if own < 50 and share >= SESSION_SHARE:
            return 0.0
        return 0.5 * fuzz.token_set_ratio(a, b) + 0.5 * fuzz.token_sort_ratio(a, b)
    if min(len(words_a), len(words_b)) < 2:
        return float(fuzz.token_sort_ratio(a, b))  # one word inside a long title proves little
    return float(fuzz.token_set_ratio(a, b))


def compare(a: Candidate, b: Candidate) -> Match | None:
    """The match decision for one pair (None: they stay apart)."""
    if a.start_date is None or b.start_date is None:
        return None
    if abs((a.start_date - b.start_date).days) > 1:
        return None
    if a.source_id is not None and a.source_id == b.source_id:
        return None  # one source lists distinct events under distinct ids
    if a.canonical_url and a.canonical_url == b.canonical_url and a.start_date == b.start_date:
        return Match(a.key, b.key, 100.0, ("same canonical URL",))
    if a.uid and a.uid == b.uid and a.start_date == b.start_date:
        return Match(a.key, b.key, 100.0, ("same UID",))
    # The cheap checks first (place, time), the title's numbers and similarity last.
    if a.insee and b.insee and a.insee != b.insee:
        return None
    if _towns_differ(a, b):
        return None
    if a.insee and a.insee == b.insee:
        place, reasons_place = 1.0, "same town"
    elif a.online and b.online:
        place, reasons_place = 1.0, "both online"
    elif a.venue and b.venue and fuzz.token_set_ratio(_folded(a.venue), _folded(b.venue)) >= 80:
        place, reasons_place = 1.0, "same venue"
    elif a.online != b.online and (a.insee or b.insee):
        return None  # a webinar and an in-person session are two events
    else:
        place, reasons_place = 0.5, "place unknown"
    if a.all_day or b.all_day:
        if a.start_date != b.start_date:
            return None
        time_ok, need = "all-day on the same day", 88.0
    else:
        assert a.start is not None and b.start is not None
        gap = abs((a.start - b.start).total_seconds()) / 60
        if gap <= 20:
            time_ok, need = f"start {gap:.0f} min apart", 72.0 if place == 1.0 else 82.0
        elif gap <= 13 * 60 and gap % 60 <= 1 and (gap // 60) in (1, 2, 3, 6, 9):
            time_ok, need = f"start {gap / 60:.0f} h apart (timezone slip)", 90.0
        else:
            return None
    numbers_a, numbers_b = _numbers(a.title_key), _numbers(b.title_key)
    if numbers_a != numbers_b and numbers_a and numbers_b:
        return None
    if place == 0.5:
        need = max(need, 85.0)
    sim = title_similarity(a.title_key, b.title_key)
    if sim < need:
        return None
    return Match(a.key, b.key, round(sim, 1), (f"title {sim:.0f}", reasons_place, time_ok))


def _towns_differ(a: Candidate, b: Candidate) -> bool:
    """A town outside the region named on one side, another town on the other."""
    if (a.insee and b.insee) or a.online or b.online:
        return False
    out_a = fold(a.city) if a.city and not a.insee else None
    out_b = fold(b.city) if b.city and not b.insee else None
    if out_a and out_b:
        return out_a != out_b
    return bool((out_a and b.insee) or (out_b and a.insee))


SLOT = 1200  # seconds: timed candidates are indexed by 20-minute slot of their UTC start
_SLIP_HOURS = (1, 2, 3, 6, 9)  # whole-hour gaps compare accepts as a timezone slip
# Slot offsets where a start within 20 minutes, or a whole-hour slip (60 h to 60 h + 1
# minutes, i.e. 3 h to 3 h + 0.05 slots apart), of a candidate's start can fall.
_SLOT_OFFSETS = tuple(sorted({0, 1, -1} | {
    sign * (3 * hours + d) for hours in _SLIP_HOURS for d in (0, 1) for sign in (1, -1)
}))


def _slot(c: Candidate) -> int | None:
    if c.all_day or c.start is None:
        return None
    return int(c.start.timestamp() // SLOT)


def _block_words(c: Candidate) -> list[str]:
    return list(_key_words(c.title_key))


@lru_cache(maxsize=65536)
def _key_words(key: str) -> tuple[str, ...]:
    words = [w for w in key.split() if len(w) >= 3 and w not in _SITE_WORDS]
    return tuple(sorted(set(words or key.split()[:1] or ["_"])))


def _keys(c: Candidate, words: Iterable[str]) -> list[tuple[Any, ...]]:
    """Where ``c`` is filed: per word, its 20-minute slot (timed) or its day (all-day and,
    for all-day lookups, timed too); its canonical URL and UID on its day."""
    day = c.start_date
    keys: list[tuple[Any, ...]] = []
    slot = _slot(c)
    for word in words:
        if slot is not None:
            keys.append(("slot", word, slot))
            keys.append(("timed-day", word, day))
        else:
            keys.append(("day", word, day))
    if c.canonical_url:
        keys.append(("url", c.canonical_url, day))
    if c.uid:
        keys.append(("uid", c.uid, day))
    return keys


def _lookups(c: Candidate, words: Iterable[str]) -> list[tuple[Any, ...]]:
    """The keys under which every candidate ``compare`` could match with ``c`` is filed."""
    day = c.start_date
    looks: list[tuple[Any, ...]] = []
    slot = _slot(c)
    for word in words:
        if slot is not None:
            looks.extend(("slot", word, slot + offset) for offset in _SLOT_OFFSETS)
            looks.append(("day", word, day))  # an all-day event on the same local day
        else:
            looks.append(("day", word, day))
            looks.append(("timed-day", word, day))
    if c.canonical_url:
        looks.append(("url", c.canonical_url, day))
    if c.uid:
        looks.append(("uid", c.uid, day))
    return looks


def find_matches(
    new: Sequence[Candidate],
    existing: Iterable[Candidate] = (),
    *,
    among_new: bool = True,
    max_block: int = 60,
    min_words: int = 2,
) -> list[Match]:
    """Pairs (new, existing), and (new, new) unless ``among_new`` is False, best score first.

    Blocking: two candidates are compared only when they share a title word and their
    times could match (starts within 20 minutes or a whole-hour timezone slip apart, or
    one side all-day on the other's local day), or share a canonical URL or UID on the
    same day. A word carried by more than ``max_block`` candidates of a local day (± 1) is
    stop-word-like and not blocked on, except that each candidate keeps its ``min_words``
    rarest words. Which words a candidate keeps depends only on counts over all the
    candidates, so the pairs compared do not depend on their order; a pair is compared
    once (the later one looks up the earlier ones), without remembering pairs.
    """
    old = list(existing)
    everyone = old + list(new)
    per_day: Counter[tuple[date, str]] = Counter()
    day_total: Counter[date] = Counter()
    words_of: dict[int, list[str]] = {}
    for c in everyone:
        if c.start_date is None:
            continue
        words = _block_words(c)
        words_of[id(c)] = words
        day_total[c.start_date] += 1
        per_day.update((c.start_date, w) for w in words)

    def chosen(c: Candidate) -> list[str]:
        day = c.start_date
        assert day is not None
        one = timedelta(days=1)
        if day_total[day - one] + day_total[day] + day_total[day + one] <= max_block:
            return words_of[id(c)]  # no word of these days can be over the bar
        counted = sorted(
            (per_day[(day, w)] + per_day[(day - one, w)] + per_day[(day + one, w)], w)
            for w in words_of[id(c)]
        )
        return [w for n, (count, w) in enumerate(counted) if n < min_words or count <= max_block]

    index: dict[tuple[Any, ...], list[Candidate]] = defaultdict(list)
    for c in old:
        if c.start_date is not None:
            for key in _keys(c, chosen(c)):
                index[key].append(c)
    matches: list[Match] = []
    for c in new:
        if c.start_date is None:
            continue
        words = chosen(c)
        compared: set[int] = set()
        for key in _lookups(c, words):
            for other in index.get(key, ()):
                if id(other) in compared or other.key == c.key:
                    continue
                compared.add(id(other))
                match = compare(c, other)
                if match:
                    matches.append(match)
        if among_new:
            for key in _keys(c, words):
                index[key].append(c)
    matches.sort(key=lambda m: -m.score)
    return matches


def cluster(candidates: Sequence[Candidate]) -> list[set[Hashable]]:
    """Groups of candidates that are one event (union of pairwise matches)."""
    parent: dict[Hashable, Hashable] = {c.key: c.key for c in candidates}

    def root(k: Hashable) -> Hashable:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for match in find_matches(candidates):
        parent[root(match.left)] = root(match.right)
    groups: dict[Hashable, set[Hashable]] = defaultdict(set)
    for c in candidates:
        groups[root(c.key)].add(c.key)
    return list(groups.values())


@dataclass(frozen=True, slots=True)
class LinkView:
    """One source's version of an event, as a merge sees it."""

    source_id: int
    link_id: int
    authority: int
    live: bool
    event: NormalizedEvent
    relevance: float  # on the stored scale (1.0 = the source's bar)


def _filled(value: Any) -> bool:
    return value not in (None, "", [], ())


def _group_value(view: NormalizedEvent, label: str) -> Any:
    if label == "place":
        return view.insee or view.venue or view.city
    if label == "time":
        return None if view.all_day else view.start  # a timed start beats an all-day one
    return getattr(view, label)


def compose_fields(
    views: Sequence[LinkView],
    *,
    status: str,
    start: datetime | None,
    cancelled_at: datetime | None,
    now: datetime,
    horizon: datetime,
) -> dict[str, Any]:
    """The published fields of an event from all its links (pure).

    Live links only (all links when none is live). Each group of fields (times, place) and
    each single field comes from the link that has it, from the most authoritative source,
    then the most complete, then the longest text, then the oldest link. Topics are the
    union; relevance the maximum. With no live link an upcoming event (before ``horizon``)
    is cancelled; a past one keeps its status. For the place, a link naming a venue comes
    before authority (a bare town is often all a news item's text gave). ``field_sources``
    records the provenance.
    """
    live = [v for v in views if v.live]
    pool = live or list(views)
    completeness = {v.link_id: v.event.completeness() for v in pool}

    def rank(view: LinkView, value: Any, label: str) -> tuple[Any, ...]:
        size = len(value) if isinstance(value, str) else 0
        # A place with a venue beats a bare town (often read from a news item's text).
        detail = bool(view.event.venue) if label == "place" else False
        return (_filled(value), detail, view.authority, completeness[view.link_id], size,
                -view.link_id)

    values: dict[str, Any] = {}
    provenance: dict[str, int] = {}
    groups = [("time", TIME_FIELDS), ("place", PLACE_FIELDS)]
    groups += [(name, (name,)) for name in SINGLE_FIELDS]
    for label, names in groups:
        best = max(pool, key=lambda v: rank(v, _group_value(v.event, label), label))
        for name in names:
            values[name] = getattr(best.event, name)
        if label == "time" or _filled(_group_value(best.event, label)):
            provenance[label] = best.source_id
    topics: list[str] = []
    for view in pool:
        topics.extend(t for t in view.event.topics if t not in topics)
    values["topics"] = topics
    values["relevance"] = max(v.relevance for v in pool)
    values["title_key"] = next(
        (v.event.title_key for v in pool if v.source_id == provenance.get("title")),
        pool[0].event.title_key,
    )
    if not live:
        upcoming = start is not None and now <= start <= horizon
        new_status = "cancelled" if upcoming or status == "cancelled" else status
    else:
        statuses = {v.event.status for v in live}
        new_status = "cancelled" if statuses == {"cancelled"} else next(
            (s for s in ("scheduled", "tentative", "postponed") if s in statuses), "scheduled"
        )
    values["status"] = new_status
    values["cancelled_at"] = (cancelled_at or now) if new_status == "cancelled" else None
    values["field_sources"] = provenance
    return values
