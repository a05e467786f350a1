"""Properties of the match score: symmetric, a function of the pair only, and clusters that
do not depend on the order of the listings (hypothesis)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.candidate import Candidate
from aggregator.dedupe import cluster, compare, find_matches
from aggregator.titles import title_key

TITLES = ["Calanques Python – meetup de mars", "Typage progressif avec mypy", "SVJS #19",
          "Sainte-Victoire JS #18", "Rencontre Calanques Python (mars)", "Atelier Terraform",
          "Conférence : Terraform en production", "Hack the Port 2027", "Apéro du Libre"]
VENUES = [None, "La Fabrique Numérique", "Le Patio Numérique", "Amphi 5, Campus de Luminy"]
TEXTS = ["", "calanques python mardi 9 mars", "avec l equipe de sainte victoire js",
         "billetterie https www eventbrite fr e billets x 1"]
BASE = datetime(2027, 3, 9, 17, 0, tzinfo=UTC)


@st.composite
def candidates(draw: st.DrawFn, key: int) -> Candidate:
    all_day = draw(st.booleans())
    minutes = draw(st.sampled_from([0, 10, 30, 45, 60, 120, 24 * 60, -60, -30]))
    start = BASE + timedelta(minutes=minutes)
    day = start.date() if not all_day else date(2027, 3, 9) + timedelta(days=draw(st.integers(0, 1)))
    title = draw(st.sampled_from(TITLES))
    return Candidate(
        key=key, title_key=title_key(title), title=title, start=None if all_day else start,
        all_day=all_day, start_date=day,
        end_date=day + timedelta(days=draw(st.integers(0, 2))) if all_day else None,
        source_id=draw(st.integers(1, 4)), venue=draw(st.sampled_from(VENUES)),
        insee=draw(st.sampled_from([None, "13055", "13001"])), online=draw(st.booleans()),
        names=tuple(draw(st.sets(st.sampled_from(["Calanques Python", "Sainte-Victoire JS",
                                                  "Mistral DevOps"]), max_size=2))),
        text=draw(st.sampled_from(TEXTS)),
        page=draw(st.sampled_from([None, "meetup/calanques-python/events/1"])),
        links=frozenset(draw(st.sets(st.sampled_from(["meetup/calanques-python/events/1"]),
                                     max_size=1))),
    )


@given(candidates(1), candidates(2))
@settings(max_examples=300, deadline=None)
def test_the_score_is_symmetric(a: Candidate, b: Candidate) -> None:
    ab, ba = compare(a, b), compare(b, a)
    assert (ab is None) == (ba is None)
    if ab is not None and ba is not None:
        assert ab.score == ba.score and sorted(ab.reasons) == sorted(ba.reasons)


@given(st.lists(candidates(0), min_size=2, max_size=20), st.randoms())
@settings(max_examples=80, deadline=None)
def test_pairs_and_clusters_do_not_depend_on_order(drawn: list[Candidate], rnd) -> None:  # type: ignore[no-untyped-def]
    items = [Candidate(**{**{f: getattr(c, f) for f in c.__slots__}, "key": n})  # type: ignore[attr-defined]
             for n, c in enumerate(drawn)]
    shuffled = items[:]
    rnd.shuffle(shuffled)
    pairs = {frozenset((m.left, m.right)): m.score for m in find_matches(items)}
    again = {frozenset((m.left, m.right)): m.score for m in find_matches(shuffled)}
    assert pairs == again
    as_sets = sorted(sorted(g) for g in cluster(items))
    assert as_sets == sorted(sorted(g) for g in cluster(shuffled))
