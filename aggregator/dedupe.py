"""Is this the same real-world event? Pure, explainable match decisions from all the evidence.

Listings of one event rarely share a title: the organizer's Meetup gives the talk, a
community calendar says "<group> – meetup de mars", the city agenda "Rencontre <group>
(mars)" with the doors time, Eventbrite the brand. So :func:`compare` weighs every signal
two listings may share, and :func:`find_matches` makes the pairs meet by day *and* by place,
organizer or title word, about linearly.

**Vetoes** (the pair is never a match): the same source (it lists distinct events under
distinct ids); local days more than one apart (all-day spans count as every day they
cover); two different communes, or a town outside the region and another town; one side
online-only and the other in person; different edition numbers ("#18" vs "#19", read in
the titles, else in one title and the other's description) or years; times that cannot
match (more than 45 minutes apart, unless a whole-hour timezone slip of 1 or 2 hours backed
by other evidence); an all-day entry on a day the timed one is not on.

**Score** (points, summed; each adds a reason):

=====================================  ======
same canonical URL or UID, same day     100 (decides alone)
one links the other's page              +60 (description link or offers/url, tracking
                                             parameters and /fr-FR/ locales dropped)
both link the same event page           +40
start 0–5 / 6–20 / 21–45 min apart      +30 / +24 / +14 (doors vs start)
timezone slip (1 or 2 h)                +6
all-day on the timed one's day          +12 (+20 when the spans are the same days)
both all-day, same days / overlapping   +25 / +12
same venue (name, address or < 200 m)   +25
venue named in the other's text         +15
same commune only                       +8; different venues there: −15 (−30 when the
                                             addresses or coordinates disagree)
both online                             +15
organizer/group named in the other      +25 (title, description or URL); +15 more when
                                             the other's title is only that name
acronym of the other's organizer/title  +20 ("SVJS" for "Sainte-Victoire JS")
same edition number                     +10
each shared distinctive title word      +14 (at most 42); the same title: +30
"Series : X" vs "Series : Y"            −40 (two sessions of one series)
kinds that clash (workshop vs talk, …)  −40 (a meetup and its talk, an afterwork, a
                                             training run as a workshop do not clash)
"<Group A> : X" vs "<Group B> : X"      −25 (no organizer named, no acronym)
title word in the other's description   +5 each (at most 15); the whole title: +20
=====================================  ======

``MERGE`` (60) and above: one event. ``REVIEW`` (40) to ``MERGE``: kept apart, and the pair
goes to the admin's "possible duplicates" queue. Below ``REVIEW``: apart. The score is
symmetric (``compare(a, b)`` and ``compare(b, a)`` agree) and depends on the pair only.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from rapidfuzz import fuzz

from aggregator import match_signals as sig
from aggregator.candidate import Candidate
from aggregator.match_evidence import (
    _abbreviated,
    _all_words,
    _edition_points,
    _folded,
    _name_stems,
    _online_only,
    _other_hosts,
    _other_sessions,
    _same_venue,
    _span,
    _time_points,
    _title_is_name,
    _towns_differ,
    _venue_gap,
    _venue_named,
)
from aggregator.regions import fold

if TYPE_CHECKING:
    from aggregator.normalize import NormalizedEvent

TIME_FIELDS = ("start", "end", "all_day", "start_date", "end_date", "timezone", "end_before_start")
PLACE_FIELDS = ("venue", "address", "city", "postcode", "insee", "latitude", "longitude",
                "in_region")
SINGLE_FIELDS = ("title", "description_html", "description_text", "url", "image", "price",
                 "organizer", "language", "series_uid", "online")
MERGE = 60.0
REVIEW = 40.0



def candidate_of(event: NormalizedEvent, key: Hashable, source_id: int | None,
                 names: Iterable[str] = ()) -> Candidate:
    """The candidate of one source's version of an event; ``names`` are the groups the source
    speaks for (its organizer field comes on top)."""
    text = event.description_text or ""
    links = {k for u in sig.urls_in(f"{text} {event.description_html or ''}")
             if (k := sig.url_key(u)) and not sig.site_root(k)}
    page = sig.url_key(event.url)
    if page and sig.site_root(page):
        page = None
    links.discard(page or "")
    all_names = tuple(dict.fromkeys(n for n in (event.organizer, *names) if n))
    return Candidate(
        key=key, title_key=event.title_key, start=event.start, all_day=event.all_day,
        start_date=event.start_date, source_id=source_id, canonical_url=event.canonical_url,
        uid=event.uid, venue=event.venue, insee=event.insee, online=event.online,
        city=event.city, end_date=event.end_date, title=event.title, names=all_names,
        text=fold(text[:2000]), page=page, links=frozenset(links), address=event.address,
        latitude=event.latitude, longitude=event.longitude,
    )


@dataclass(frozen=True, slots=True)
class Match:
    """The decision on a pair scored ``REVIEW`` or above, with the evidence."""

    left: Hashable
    right: Hashable
    score: float
    reasons: tuple[str, ...] = field(default_factory=tuple)

    @property
    def merge(self) -> bool:
        return self.score >= MERGE


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
    """The decision on one pair: a ``Match`` scored ``REVIEW`` or above, else None."""
    if a.start_date is None or b.start_date is None:
        return None
    if a.source_id is not None and a.source_id == b.source_id:
        return None
    (a0, a1), (b0, b1) = _span(a), _span(b)
    if a0 > b1 + timedelta(days=1) or b0 > a1 + timedelta(days=1):
        return None
    if a.canonical_url and a.canonical_url == b.canonical_url and a.start_date == b.start_date:
        return Match(a.key, b.key, 100.0, ("same canonical URL",))
    if a.uid and a.uid == b.uid and a.start_date == b.start_date:
        return Match(a.key, b.key, 100.0, ("same UID",))
    if a.insee and b.insee and a.insee != b.insee:
        return None
    timing = _time_points(a, b)
    if timing is None:
        return None
    if not _met(a, b):
        return None  # nothing in common to block on: never compared
    if _towns_differ(a, b):
        return None
    if (_online_only(a) and not b.online and (b.insee or b.venue)) or (
            _online_only(b) and not a.online and (a.insee or a.venue)):
        return None  # a webinar and an in-person event are two events
    ed = _edition_points(a, b)
    if ed is None:
        return None
    ya, yb = sig.years(a.title_key), sig.years(b.title_key)
    if ya and yb and not ya & yb:
        return None
    points, reasons = timing[0], [timing[1]]
    needs_evidence = timing[2]

    def add(value: float, reason: str) -> None:
        nonlocal points
        points += value
        reasons.append(reason)

    if ed:
        add(ed, "same edition number")
    # URLs
    if (a.page and a.page in b.links) or (b.page and b.page in a.links):
        add(60, "links the other's page")
    elif a.links & b.links:
        add(40, "both link the same page")
    # place
    if a.online and b.online:
        add(15, "both online")
    elif _same_venue(a, b):
        add(25, "same venue")
    elif _venue_named(a, b) or _venue_named(b, a):
        add(15, "venue named in the description")
    elif a.insee and a.insee == b.insee:
        if a.venue and b.venue:
            add(_venue_gap(a, b), "same town, other venue")
        else:
            add(8, "same town")
    # organizer / group
    words_a, words_b = _all_words(a), _all_words(b)
    named = min([n for n in a.names if sig.name_in(n, words_b)]
                + [n for n in b.names if sig.name_in(n, words_a)], default=None)
    if named:
        add(25, f"organizer {named!r} named")
        if _title_is_name(a, b) or _title_is_name(b, a):
            add(15, "the title is the organizer's name")
    elif _abbreviated(a, b) or _abbreviated(b, a):
        add(20, "acronym of the other's name")
    elif _other_hosts(a, b):
        add(-25, "one subject under two other names")
    # title words
    sa, sb = sig.significant_words(a.title_key), sig.significant_words(b.title_key)
    shared = sa & sb
    if shared:
        add(min(42, 14 * len(shared)), "shared title words: " + " ".join(sorted(shared)))
    kinds_a, kinds_b = sig.kinds(a.title or a.title_key), sig.kinds(b.title or b.title_key)
    if sig.kinds_clash(kinds_a, kinds_b):
        add(-40, "different kinds of event")
    if (a.title_key == b.title_key and len(a.title_key.split()) >= 2) or (
            a.title and _folded(a.title) == _folded(b.title) and len(a.title.split()) >= 2):
        add(30, "same title")
    elif shared and _other_sessions(a, b):
        add(-40, "different sessions of one series")
    in_text = ((sa - shared) & sig.text_stems(b.text)) | ((sb - shared) & sig.text_stems(a.text))
    whole = (len(sa) >= 2 and sa <= sig.text_stems(b.text)) or (
        len(sb) >= 2 and sb <= sig.text_stems(a.text))
    if whole and not shared:
        add(20, "the other's whole title is in the description")
    elif in_text:
        add(min(15, 5 * len(in_text)), "title words in the other's text")
    if needs_evidence and points - timing[0] < 40:
        return None  # a whole-hour gap is a slip only when everything else agrees
    if points < REVIEW:
        return None
    return Match(a.key, b.key, round(points, 1), tuple(reasons))


def _met(a: Candidate, b: Candidate) -> bool:
    """The pair shares a blocking key (see :func:`_keys`): a commune (or both online), a title
    or organizer word, or a URL. Pairs that share none are never compared."""
    if set(_places(a)) & set(_places(b)) and _near_hours(a, b):
        return True
    if _block_words(a) & _block_words(b) and _near_hours(a, b, 3):
        return True
    return bool((a.page and a.page in b.links) or (b.page and b.page in a.links)
                or a.links & b.links)


def _block_words(c: Candidate) -> frozenset[str]:
    return sig.significant_words(c.title_key) | _name_stems(c.names)


HOUR = 3600  # timed listings meet by commune within one hourly bucket of their start


def _days(c: Candidate) -> list[date]:
    first, last = _span(c)
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _around(days: list[date]) -> set[date]:
    one = timedelta(days=1)
    return {d + k * one for d in days for k in (-1, 0, 1)}


def _near_hours(a: Candidate, b: Candidate, within: int = 1) -> bool:
    """Both timed with starts at most ``within`` hourly buckets apart, or one all-day."""
    if a.all_day or b.all_day or a.start is None or b.start is None:
        return True
    return abs(int(a.start.timestamp() // HOUR) - int(b.start.timestamp() // HOUR)) <= within


def _places(c: Candidate) -> list[str]:
    return [p for p in (c.insee, "online" if c.online else None) if p]


def _exact(c: Candidate) -> list[tuple[Any, ...]]:
    """Exact identity keys: the canonical URL and the UID, on the listing's day."""
    keys: list[tuple[Any, ...]] = []
    if c.canonical_url:
        keys.append(("url", c.canonical_url, c.start_date))
    if c.uid:
        keys.append(("uid", c.uid, c.start_date))
    return keys


def _word_keys(c: Candidate, words: Iterable[str], days: list[date],
               crowded: frozenset[tuple[Any, ...]] = frozenset()) -> list[tuple[Any, ...]]:
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


def _word_lookups(c: Candidate, words: Iterable[str], days: list[date],
                  crowded: frozenset[tuple[Any, ...]] = frozenset()) -> list[tuple[Any, ...]]:
    if c.all_day or c.start is None:
        near = sorted(_around(days))
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


def _word_counts(c: Candidate, words: Iterable[str]) -> list[tuple[Any, ...]]:
    if c.all_day or c.start is None:
        return [("wday", w, d) for w in words for d in _days(c)]
    hour = int(c.start.timestamp() // HOUR)
    return [k for w in words for k in (("w", w, hour), ("wday", w, c.start_date))]


def _place_counts(c: Candidate) -> list[tuple[Any, ...]]:
    """The place buckets ``c`` fills: (commune, hour) when timed, and (commune, day)."""
    out: list[tuple[Any, ...]] = []
    for place in _places(c):
        if c.all_day:
            out += [("day", place, d) for d in _days(c)]
        elif c.start is not None:
            out += [("c", place, int(c.start.timestamp() // HOUR)), ("day", place, c.start_date)]
    return out


def _keys(c: Candidate, words: Iterable[str],
          crowded: frozenset[tuple[Any, ...]] = frozenset()) -> list[tuple[Any, ...]]:
    """Where ``c`` is filed: title/organizer words and URLs per local day; its commune (or
    "online") per hourly bucket of its start when timed, per day when all-day. A crowded
    place bucket (more than ``max_block`` listings) is left out, on both sides alike."""
    days = _days(c)
    keys: list[tuple[Any, ...]] = _word_keys(c, words, days, crowded)
    keys += _exact(c)
    if c.page:
        keys += [("u", c.page, d) for d in days]
    for link in c.links:
        keys += [("p", link, d) for d in days] + [("l", link, d) for d in days]
    for place in _places(c):
        if c.all_day:
            keys += [("cd", place, d) for d in days if ("day", place, d) not in crowded]
        elif c.start is not None:
            bucket = ("c", place, int(c.start.timestamp() // HOUR))
            if bucket not in crowded:
                keys.append(bucket)
            if ("day", place, c.start_date) not in crowded:
                keys.append(("ct", place, c.start_date))
    return keys


def _lookups(c: Candidate, words: Iterable[str],
             crowded: frozenset[tuple[Any, ...]] = frozenset()) -> list[tuple[Any, ...]]:
    """The keys under which every candidate :func:`compare` could match with ``c`` is filed."""
    days = _days(c)
    near = sorted(_around(days))
    looks: list[tuple[Any, ...]] = _word_lookups(c, words, days, crowded)
    looks += _exact(c)
    if c.page:
        looks += [("p", c.page, d) for d in near]
    for link in c.links:
        looks += [("u", link, d) for d in near] + [("l", link, d) for d in near]
    for place in _places(c):
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
class _Prepared:
    """What blocking derives from one candidate alone (the same for every batch)."""

    words: tuple[str, ...]  # its block words, sorted
    near: tuple[date, ...]  # its days and the day either side
    word_days: tuple[tuple[str, date], ...]  # (word, day) for each of its days
    place_counts: tuple[tuple[Any, ...], ...]

    @classmethod
    def of(cls, c: Candidate) -> _Prepared:
        words = tuple(sorted(_block_words(c)))
        days = _days(c)
        return cls(words=words, near=tuple(_around(days)),
                   word_days=tuple((w, d) for d in days for w in words),
                   place_counts=tuple(_place_counts(c)))


# id of a stored candidate -> (the candidate, what blocking derived from it); the candidate
# is held so that its id is never reused while the entry lives.
_PREPARED: dict[int, tuple[Candidate, _Prepared]] = {}
_PREPARED_MAX = 200_000


def _prepare(c: Candidate) -> _Prepared:
    """``_Prepared.of(c)``, kept for the stored candidates that come back batch after batch
    (``aggregator.matching`` hands out the same object for the same listing version)."""
    found = _PREPARED.get(id(c))
    if found is not None and found[0] is c:
        return found[1]
    if len(_PREPARED) >= _PREPARED_MAX:
        _PREPARED.clear()
    prep = _Prepared.of(c)
    _PREPARED[id(c)] = (c, prep)
    return prep


def find_matches(
    new: Sequence[Candidate],
    existing: Iterable[Candidate] = (),
    *,
    among_new: bool = True,
    max_block: int = 60,
    min_words: int = 2,
    max_crowd: int = 20,
) -> list[Match]:
    """Pairs (new, existing), and (new, new) unless ``among_new`` is False, scored ``REVIEW``
    or above, best score first (``Match.merge`` tells the merges).

    Blocking: two candidates are compared only when they share a key of :func:`_keys` on
    neighbouring days (a title or organizer word, a URL, a commune within three hours). A
    word key carried by more than ``max_block`` candidates is stop-word-like and dropped,
    except that each candidate keeps its ``min_words`` rarest words; an hourly or daily bucket
    of a word or commune holding more than ``max_crowd`` listings (far more than a real
    region's day) is not blocked on, on either side. Which keys a candidate
    keeps depends only on counts over all the candidates, so the pairs compared do not
    depend on their order; a pair is compared once (the later one looks up the earlier).
    """
    old = list(existing)
    everyone = [c for c in old + list(new) if c.start_date is not None]
    counts: Counter[tuple[str, date]] = Counter()
    place_counts: Counter[tuple[Any, ...]] = Counter()
    prepared: dict[int, _Prepared] = {id(c): _prepare(c) for c in old if c.start_date is not None}
    for c in new:
        if c.start_date is not None:
            prepared[id(c)] = _Prepared.of(c)
    for c in everyone:
        prep = prepared[id(c)]
        place_counts.update(prep.place_counts)
        counts.update(prep.word_days)

    kept: dict[int, list[str]] = {}

    def chosen(c: Candidate) -> list[str]:
        if id(c) not in kept:
            prep = prepared[id(c)]
            near = prep.near
            ranked = sorted((sum([counts[(w, d)] for d in near]), w) for w in prep.words)
            kept[id(c)] = [w for n, (count, w) in enumerate(ranked)
                           if n < min_words or count <= max_block]
        return kept[id(c)]

    # Only the words some new candidate keeps are ever looked up: a stored candidate's other
    # words neither file it where a lookup goes nor count in a bucket a lookup checks.
    wanted = {w for c in new if c.start_date is not None for w in chosen(c)}
    fresh = {id(c) for c in new}

    def useful(c: Candidate) -> list[str]:
        if id(c) in fresh:
            return chosen(c)
        if wanted.isdisjoint(prepared[id(c)].words):
            return []
        return [w for w in chosen(c) if w in wanted]

    for c in everyone:
        place_counts.update(_word_counts(c, useful(c)))
    crowded = frozenset(k for k, n in place_counts.items() if n > max_crowd)
    index: dict[tuple[Any, ...], list[Candidate]] = defaultdict(list)
    for c in old:
        if c.start_date is not None:
            for key in _keys(c, useful(c), crowded):
                index[key].append(c)
    matches: list[Match] = []
    for c in new:
        if c.start_date is None:
            continue
        words = chosen(c)
        compared: set[int] = set()
        for key in _lookups(c, words, crowded):
            for other in index.get(key, ()):
                if id(other) in compared or other.key == c.key:
                    continue
                compared.add(id(other))
                if match := compare(c, other):
                    matches.append(match)
        if among_new:
            for key in _keys(c, words, crowded):
                index[key].append(c)
    matches.sort(key=lambda m: -m.score)
    return matches


def cluster(candidates: Sequence[Candidate]) -> list[set[Hashable]]:
    """Groups of candidates that are one event (union of the pairs scored ``MERGE``)."""
    parent: dict[Hashable, Hashable] = {c.key: c.key for c in candidates}

    def root(k: Hashable) -> Hashable:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for match in find_matches(candidates):
        if match.merge:
            parent[root(match.left)] = root(match.right)
    groups: dict[Hashable, set[Hashable]] = defaultdict(set)
    for c in candidates:
        groups[root(c.key)].add(c.key)
    return list(groups.values())
