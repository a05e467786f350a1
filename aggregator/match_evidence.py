"""The per-pair evidence :func:`aggregator.dedupe.compare` weighs: times, places, sessions
of a series, organizer names and acronyms, edition numbers (pure; cached on strings)."""

from __future__ import annotations

import math
import re
from datetime import date, timedelta
from functools import lru_cache

from rapidfuzz import fuzz

from aggregator.candidate import Candidate
from aggregator.match_signals import (
    GENERIC_WORDS,
    STOP_WORDS,
    abbreviates,
    acronyms,
    editions,
    name_words,
    significant_words,
    stem,
    word_set,
)
from aggregator.regions import fold


def _span(c: Candidate) -> tuple[date, date]:
    assert c.start_date is not None
    last = c.end_date if c.end_date and c.start_date <= c.end_date <= c.start_date + timedelta(
        days=4) else c.start_date
    return c.start_date, last


@lru_cache(maxsize=1 << 18)
def _folded(text: str) -> str:
    return fold(text)


def _metres(a: Candidate, b: Candidate) -> float | None:
    """How far apart the two listings' coordinates are, when both have them."""
    if a.latitude is None or b.latitude is None or a.longitude is None or b.longitude is None:
        return None
    dy = (a.latitude - b.latitude) * 111_000
    dx = (a.longitude - b.longitude) * 111_000 * math.cos(math.radians(a.latitude))
    return math.hypot(dx, dy)


def _same_venue(a: Candidate, b: Candidate) -> bool:
    distance = _metres(a, b)
    if distance is not None and distance < 200:
        return True
    if a.venue and b.venue:
        va, vb = _folded(a.venue), _folded(b.venue)
        if va and vb and fuzz.token_set_ratio(va, vb) >= 85 and min(len(va), len(vb)) >= 4:
            return True
    if a.address and b.address:
        return fuzz.token_sort_ratio(_folded(a.address), _folded(b.address)) >= 90
    return False


def _venue_gap(a: Candidate, b: Candidate) -> float:
    """Points against two listings naming different venues in one town: −15 on the names
    alone (sources name a place differently), −30 when addresses or coordinates disagree."""
    distance = _metres(a, b)
    if distance is not None and distance > 1000:
        return -30.0
    if a.address and b.address and fuzz.token_sort_ratio(
            _folded(a.address), _folded(b.address)) < 60:
        return -30.0
    return -15.0


def _venue_named(a: Candidate, b: Candidate) -> bool:
    """``a``'s venue is written in ``b``'s description (a feed that kept it in the text)."""
    if not a.venue or not b.text or b.venue:
        return False
    venue = _folded(a.venue)
    return len(venue) >= 6 and f" {venue} " in f" {b.text} "


def _online_only(c: Candidate) -> bool:
    return c.online and not c.insee and not c.venue


def _time_points(a: Candidate, b: Candidate) -> tuple[float, str, bool] | None:
    """Points for the times, the reason, and whether the gap needs other evidence."""
    if a.all_day or b.all_day:
        (a0, a1), (b0, b1) = _span(a), _span(b)
        if a.all_day and b.all_day:
            if (a0, a1) == (b0, b1):
                return 25.0, "all-day, same days", False
            return (12.0, "all-day, overlapping days", False) if a0 <= b1 and b0 <= a1 else None
        timed, whole = (b, a) if a.all_day else (a, b)
        w0, w1 = _span(whole)
        t0, t1 = _span(timed)
        if not w0 <= t0 <= w1:
            return None
        if (t0, t1) == (w0, w1) and w1 > w0:
            return 20.0, "all-day entry for the same days", False
        return 12.0, "all-day entry on that day", False
    if a.start is None or b.start is None:
        return None
    gap = abs((a.start - b.start).total_seconds()) / 60
    if gap <= 5:
        return 30.0, "same start", False
    if gap <= 20:
        return 24.0, f"start {gap:.0f} min apart", False
    if gap <= 45:
        return 14.0, f"start {gap:.0f} min apart (doors vs start)", False
    for hours in (1, 2):
        if abs(gap - 60 * hours) <= 2:
            return 6.0, f"start {hours} h apart (timezone slip)", True
    return None


_SEPARATOR = re.compile(r"\s[:|–—-]\s|\s?:\s")


@lru_cache(maxsize=1 << 18)
def _head_tail(title: str) -> tuple[frozenset[str], frozenset[str]] | None:
    parts = _SEPARATOR.split(title, maxsplit=1)
    if len(parts) < 2:
        return None
    head, tail = (frozenset(w for w in fold(p).split() if len(w) >= 2 and w not in STOP_WORDS
                            and w not in GENERIC_WORDS) for p in parts)
    return (head, tail) if head and tail else None


def _other_sessions(a: Candidate, b: Candidate) -> bool:
    """"Series : X" and "Series : Y": the heads share a word and each subtitle has words the
    other title lacks ("… : transformers" vs "… : séries temporelles")."""
    ha, hb = _head_tail(a.title), _head_tail(b.title)
    if ha is None or hb is None or not ha[0] & hb[0]:
        return False
    all_a, all_b = ha[0] | ha[1], hb[0] | hb[1]
    return bool(ha[1] - all_b) and bool(hb[1] - all_a)


def _other_hosts(a: Candidate, b: Candidate) -> bool:
    """"<Group A> : X" and "<Group B> : X": one subject, announced under two heads that share
    no word once town names are dropped (two groups' evenings on one topic)."""
    ha, hb = _head_tail(a.title), _head_tail(b.title)
    if ha is None or hb is None or not ha[1] & hb[1]:
        return False
    head_a = {w for w in ha[0] if not w.isdigit()} & set(a.title_key.split())
    head_b = {w for w in hb[0] if not w.isdigit()} & set(b.title_key.split())
    return bool(head_a) and bool(head_b) and not head_a & head_b


def _all_words(c: Candidate) -> frozenset[str]:
    """Folded words of a listing's title, description and page URL."""
    return _words_of(c.title or c.title_key, c.text, c.page or "")


@lru_cache(maxsize=1 << 18)
def _words_of(title: str, text: str, page: str) -> frozenset[str]:
    url_words = frozenset(fold(page.replace("-", " ").replace("/", " ")).split())
    return word_set(_folded(title)) | word_set(text) | url_words


def _title_is_name(a: Candidate, b: Candidate) -> bool:
    """``b``'s title says nothing but ``a``'s group ("Calanques Python – meetup de mars")."""
    words = significant_words(b.title_key)
    return bool(words) and bool(a.names) and words <= _name_stems(a.names)


def _abbreviated(a: Candidate, b: Candidate) -> bool:
    """An acronym in ``a``'s title abbreviates ``b``'s organizer or ``b``'s title's start."""
    found = acronyms(a.title)
    if not found:
        return False
    options = [n for n in (*b.names, b.title) if n]
    return any(abbreviates(acr, name) for acr in found for name in options
               if _initial(name) == acr[0])


@lru_cache(maxsize=1 << 18)
def _initial(name: str) -> str:
    folded = _folded(name)
    return folded[:1]


def _edition_points(a: Candidate, b: Candidate) -> float | None:
    """None: different editions; 10: the same number named; 0: nothing to compare."""
    ea, eb = editions(a.title or a.title_key), editions(b.title or b.title_key)
    if ea and eb:
        return 10.0 if ea & eb else None
    if ea or eb:
        number, other = (ea, b) if ea else (eb, a)
        in_text = editions(other.text) if other.text else frozenset()
        if in_text:
            return 10.0 if number & in_text else None
    return 0.0


def _towns_differ(a: Candidate, b: Candidate) -> bool:
    """A town outside the region named on one side, another town on the other."""
    if (a.insee and b.insee) or a.online or b.online:
        return False
    out_a = fold(a.city) if a.city and not a.insee else None
    out_b = fold(b.city) if b.city and not b.insee else None
    if out_a and out_b:
        return out_a != out_b
    return bool((out_a and b.insee) or (out_b and a.insee))


@lru_cache(maxsize=1 << 18)
def _name_stems(names: tuple[str, ...]) -> frozenset[str]:
    return frozenset(stem(w) for n in names for w in name_words(n) if len(w) >= 3)
