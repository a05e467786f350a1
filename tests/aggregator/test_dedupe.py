"""Dedupe: a labelled set of duplicate and near-miss pairs, blocking, order independence."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aggregator.candidate import Candidate
from aggregator.dedupe import cluster, find_matches
from aggregator.normalize import normalize
from aggregator.raw import SourceDefaults
from aggregator.regions import load_region
from aggregator.titles import title_key
from tests.aggregator.helpers import candidate, raw_from_dict

PAIRS = json.loads((Path(__file__).parents[1] / "data/dedupe/pairs.json").read_text("utf-8"))
REGION = load_region("aix-marseille")
DEFAULTS = SourceDefaults(timezone="Europe/Paris")


def decide(pair: dict) -> bool:
    a = normalize(raw_from_dict(pair["a"]), defaults=DEFAULTS, region=REGION)
    b = normalize(raw_from_dict(pair["b"]), defaults=DEFAULTS, region=REGION)
    return any(m.merge for m in find_matches([candidate(a, "a", 1)], [candidate(b, "b", 2)]))


def test_the_labelled_set_has_at_least_sixty_pairs_of_both_kinds() -> None:
    labels = [p["label"] for p in PAIRS]
    assert len(PAIRS) >= 60
    assert labels.count("duplicate") >= 25 and labels.count("distinct") >= 25


def test_duplicates_are_found_with_precision_and_recall_of_at_least_95_percent() -> None:
    tp = fp = fn = 0
    wrong = []
    for pair in PAIRS:
        said = decide(pair)
        truth = pair["label"] == "duplicate"
        tp += said and truth
        fp += said and not truth
        fn += truth and not said
        if said != truth:
            wrong.append(f"{pair['id']} {pair['note']}")
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    assert precision >= 0.95, wrong
    assert recall >= 0.95, wrong


@pytest.mark.parametrize("pair", [p for p in PAIRS if p["label"] == "duplicate"][:5],
                         ids=lambda p: p["note"])
def test_a_decision_does_not_depend_on_which_side_comes_first(pair: dict) -> None:
    swapped = {**pair, "a": pair["b"], "b": pair["a"]}
    assert decide(pair) == decide(swapped)


def test_a_merge_explains_itself_with_a_score_and_reasons() -> None:
    pair = PAIRS[0]
    a = normalize(raw_from_dict(pair["a"]), defaults=DEFAULTS, region=REGION)
    b = normalize(raw_from_dict(pair["b"]), defaults=DEFAULTS, region=REGION)
    (match,) = find_matches([candidate(a, "a", 1)], [candidate(b, "b", 2)])
    assert match.score >= 70
    assert any("title" in r for r in match.reasons)
    assert "same town" in match.reasons


def test_one_source_never_merges_two_of_its_own_events() -> None:
    pair = PAIRS[0]
    a = normalize(raw_from_dict(pair["a"]), defaults=DEFAULTS, region=REGION)
    b = normalize(raw_from_dict(pair["b"]), defaults=DEFAULTS, region=REGION)
    assert find_matches([candidate(a, "a", 7)], [candidate(b, "b", 7)]) == []


def test_title_keys_ignore_accents_case_and_stop_words() -> None:
    assert title_key("Soirée de la Cybersécurité") == title_key("SOIREE CYBERSECURITE")
    assert title_key("Le meetup des développeurs") == "developpeurs"


def _synthetic(n: int, seed: int) -> list[Candidate]:
    rng = random.Random(seed)
    words = ["python", "rust", "kotlin", "data", "cloud", "ia", "docker", "design", "jeu", "robot", "web", "cyber"]
    base = datetime(2027, 1, 1, 18, tzinfo=UTC)
    out = []
    for i in range(n):
        start = base + timedelta(days=rng.randrange(180), minutes=30 * rng.randrange(6))
        title = " ".join(rng.sample(words, 3)) + f" {rng.choice(words)}{i}"
        out.append(
            Candidate(key=i, title_key=title, start=start, all_day=False,
                      start_date=start.date(), source_id=i % 5, insee="13055")
        )
    return out


def test_blocking_handles_ten_thousand_candidates() -> None:
    """Speed is measured in benchmarks/, not asserted here; this keeps the path exercised."""
    items = _synthetic(10_000, seed=1)
    matches = find_matches(items)
    assert all(m.left != m.right for m in matches)


def test_clusters_do_not_depend_on_input_order() -> None:
    items = _synthetic(300, seed=2)
    dupes = [
        Candidate(key=f"d{c.key}", title_key=c.title_key, start=c.start, all_day=False,
                  start_date=c.start_date, source_id=99, insee="13055")
        for c in items[:40]
    ]
    everything = items + dupes
    shuffled = everything[:]
    random.Random(3).shuffle(shuffled)
    as_sets = lambda groups: sorted(sorted(map(str, g)) for g in groups)  # noqa: E731
    assert as_sets(cluster(everything)) == as_sets(cluster(shuffled))
    assert sum(1 for g in cluster(everything) if len(g) > 1) >= 40
