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
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING

from rapidfuzz import fuzz

from aggregator import match_signals as sig
from aggregator.blocking import (
    Key,
    Prepared,
    StoredIndex,
    block_words,
    keys_of,
    lookups_of,
    near_hours,
    places,
    word_buckets,
)
from aggregator.candidate import Candidate
from aggregator.match_evidence import (
    _abbreviated,
    _all_words,
    _edition_points,
    _folded,
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
    """The pair shares a blocking key (see :func:`keys_of`): a commune (or both online), a title
    or organizer word, or a URL. Pairs that share none are never compared."""
    if set(places(a)) & set(places(b)) and near_hours(a, b):
        return True
    if block_words(a) & block_words(b) and near_hours(a, b, 3):
        return True
    return bool((a.page and a.page in b.links) or (b.page and b.page in a.links)
                or a.links & b.links)


def find_matches(
    new: Sequence[Candidate],
    existing: Iterable[Candidate] = (),
    *,
    among_new: bool = True,
    index: StoredIndex | None = None,
    max_block: int = 60,
    min_words: int = 2,
    max_crowd: int = 20,
) -> list[Match]:
    """Pairs (new, existing), and (new, new) unless ``among_new`` is False, scored ``REVIEW``
    or above, best score first (``Match.merge`` tells the merges).

    Blocking: two candidates are compared only when they share a key of
    :func:`aggregator.blocking.keys_of` on neighbouring days (a title or organizer word, a
    URL, a commune within three hours). A word key carried by more than ``max_block``
    candidates is stop-word-like and dropped, except that each candidate keeps its
    ``min_words`` rarest words; an hourly or daily bucket of a word or commune holding more
    than ``max_crowd`` listings (far more than a real region's day) is not blocked on, on
    either side. Which keys a candidate keeps depends only on counts over all the
    candidates, so the pairs compared do not depend on their order; a pair is compared once
    (the later one looks up the earlier).

    ``existing`` are filed in ``index`` (a fresh one when None): a crawl passes one index for
    all its batches, so each stored candidate is filed once and a batch only counts and
    reads the buckets its new candidates reach, whatever the size of ``existing``.
    """
    index = StoredIndex() if index is None else index
    with index.lock:
        return _find(list(new), existing, among_new, index, max_block, min_words, max_crowd)


def _find(new: list[Candidate], existing: Iterable[Candidate], among_new: bool,
          index: StoredIndex, max_block: int, min_words: int, max_crowd: int) -> list[Match]:
    window: dict[int, int] = {}  # id of a stored candidate of this matching -> its rank
    prepared: dict[int, Prepared] = {}
    existing = list(existing)
    index.make_room(len(existing))
    for c in existing:
        if c.start_date is not None and id(c) not in window:
            prepared[id(c)] = index.prepare(c)
            window[id(c)] = len(window)
    fresh = [c for c in new if c.start_date is not None]
    word_days: Counter[tuple[str, date]] = Counter()
    buckets: Counter[Key] = Counter()
    for c in fresh:
        prep = prepared[id(c)] = Prepared.of(c)
        word_days.update(prep.word_days)
        buckets.update(prep.place_buckets)

    def inside(found: Iterable[Candidate]) -> list[Candidate]:
        return [o for o in found if id(o) in window]

    day_counts: dict[tuple[str, date], int] = {}

    def count(wd: tuple[str, date]) -> int:
        n = day_counts.get(wd)
        if n is None:
            n = day_counts[wd] = word_days[wd] + len(inside(index.word_days.get(wd, ())))
        return n

    kept: dict[int, list[str]] = {}

    def chosen(c: Candidate) -> list[str]:
        if id(c) not in kept:
            prep = prepared[id(c)]
            ranked = sorted((sum([count((w, d)) for d in prep.near]), w) for w in prep.words)
            kept[id(c)] = [w for n, (total, w) in enumerate(ranked)
                           if n < min_words or total <= max_block]
        return kept[id(c)]

    # Only the words some new candidate keeps are ever looked up: a stored candidate's other
    # words neither file it where a lookup goes nor count in a bucket a lookup checks.
    wanted = {w for c in fresh for w in chosen(c)}
    new_ids = {id(c) for c in fresh}

    def useful(c: Candidate) -> list[str]:
        if id(c) in new_ids:
            return chosen(c)
        if wanted.isdisjoint(prepared[id(c)].words):
            return []
        return [w for w in chosen(c) if w in wanted]

    for c in fresh:
        buckets.update(word_buckets(c, chosen(c)))

    def too_full(key: Key) -> bool:
        held = index.buckets.get(key, ())
        if buckets[key] + len(held) <= max_crowd:  # an upper bound: most buckets
            return False
        near = inside(held)
        if buckets[key] + len(near) > max_crowd and key[0] not in ("c", "day"):
            near = [o for o in near if key[1] in useful(o)]  # a word counts where it is kept
        return buckets[key] + len(near) > max_crowd

    crowded = _Crowded(too_full)
    filed_as: dict[int, set[Key]] = {}

    def filed(key: Key) -> list[Candidate]:
        """The stored candidates of this matching filed under ``key``, in their order."""
        held = index.keys.get(key)
        if not held:  # most looked-up keys hold nothing
            return []
        found = []
        for o in inside(held):
            keys = filed_as.get(id(o))
            if keys is None:
                keys = filed_as[id(o)] = set(keys_of(o, useful(o), crowded))
            if key in keys:
                found.append(o)
        return sorted(found, key=lambda o: window[id(o)])

    among: dict[Key, list[Candidate]] = defaultdict(list)
    matches: list[Match] = []
    for c in fresh:
        words = chosen(c)
        compared: set[int] = set()
        for key in lookups_of(c, words, crowded):
            for other in (*filed(key), *among.get(key, ())):
                if id(other) in compared or other.key == c.key:
                    continue
                compared.add(id(other))
                if match := compare(c, other):
                    matches.append(match)
        if among_new:
            for key in keys_of(c, words, crowded):
                among[key].append(c)
    matches.sort(key=lambda m: -m.score)
    return matches


class _Crowded:
    """The buckets holding more than ``max_crowd`` listings, decided on first question."""

    def __init__(self, decide: Callable[[Key], bool]) -> None:
        self._decide = decide
        self._known: dict[Key, bool] = {}

    def __contains__(self, key: object) -> bool:
        assert isinstance(key, tuple)
        found = self._known.get(key)
        if found is None:
            found = self._known[key] = self._decide(key)
        return found


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
