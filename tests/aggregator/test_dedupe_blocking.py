"""Blocking by title word and start slot loses no pair that ``compare`` accepts: on inputs
small enough that no word is skipped, ``find_matches`` finds exactly the pairs that
comparing every pair finds (timezone slips, all-day events, neighbouring days included)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from itertools import combinations

import pytest

from aggregator.candidate import Candidate
from aggregator.dedupe import compare, find_matches
from aggregator.titles import title_key

TITLES = ["Meetup Python Aix #12", "Python Aix meetup 12", "Atelier Kubernetes en production",
          "Kubernetes en production : atelier", "Conférence sécurité des API",
          "Sécurité des API", "Afterwork DevOps Marseille", "DevOps afterwork"]
TOWNS = ["13055", "13001", None]
DAY = date(2026, 12, 3)


def candidates(seed: int, count: int) -> list[Candidate]:
    rng = random.Random(seed)
    base = datetime(2026, 12, 3, 17, 0, tzinfo=UTC)
    made = []
    for i in range(count):
        all_day = rng.random() < 0.15
        start = base + timedelta(minutes=rng.choice(
            [0, 10, 20, 21, 30, 60, 61, 120, 180, 360, 540, -60, -180, -540, 24 * 60, -24 * 60]))
        day = start.date() if not all_day else DAY + timedelta(days=rng.choice([0, 0, 1]))
        made.append(Candidate(
            key=i, title_key=title_key(rng.choice(TITLES)), start=None if all_day else start,
            all_day=all_day, start_date=day, source_id=rng.randint(1, 4),
            canonical_url=rng.choice([None, None, "https://a.example/e/1"]),
            uid=rng.choice([None, None, "uid-1"]), venue=rng.choice([None, "La Coque"]),
            insee=rng.choice(TOWNS), online=rng.random() < 0.2,
        ))
    return made


def every_pair(items: list[Candidate]) -> set[frozenset[int]]:
    return {frozenset((a.key, b.key)) for a, b in combinations(items, 2) if compare(a, b)}


@pytest.mark.parametrize("seed", range(6))
def test_blocking_finds_exactly_the_pairs_that_comparing_all_pairs_finds(seed: int) -> None:
    items = candidates(seed, 50)
    expected = every_pair(items)
    found = {frozenset((m.left, m.right)) for m in find_matches(items)}
    assert found == expected
    assert expected  # the inputs do hold duplicates


def test_new_against_existing_finds_the_same_pairs_as_comparing_them_all() -> None:
    items = candidates(11, 60)
    new, existing = items[:20], items[20:]
    expected = {frozenset((a.key, b.key)) for a in new for b in existing if compare(a, b)}
    found = {frozenset((m.left, m.right)) for m in find_matches(new, existing, among_new=False)}
    assert found == expected and expected
