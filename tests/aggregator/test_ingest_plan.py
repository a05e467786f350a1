"""The ingest plan decides from data alone (hypothesis)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from aggregator.ingest_plan import MatchDecision, StoredLink, plan

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Item:
    external_id: str
    content_hash: str


ids = st.sets(st.sampled_from("abcdefgh"), max_size=8)


@given(ids, ids, st.sets(st.sampled_from("abcdefgh")))
def test_every_listing_lands_once_and_a_replan_is_empty(listed, stored, gone) -> None:
    batch = {x: Item(x, "h" + x) for x in sorted(listed)}
    links = {x: StoredLink(x, ord(x), "old") for x in sorted(stored)}
    first = plan(batch, links, now=NOW, gone=frozenset(gone))
    placed = [*(i.external_id for i in first.new), *(i.external_id for i in first.updated),
              *first.unchanged, *(m.item.external_id for m in first.merged)]
    assert sorted(placed) == sorted(batch)
    assert not set(first.gone) & {i.external_id for i in first.updated}
    after = {**{x: StoredLink(x, ord(x), "old", NOW if x in first.gone else None) for x in stored},
             **{x: StoredLink(x, ord(x), "h" + x) for x in batch}}
    assert plan(batch, after, now=NOW, gone=frozenset(gone)).empty


events = st.integers(min_value=1, max_value=5)


@given(ids, ids, st.dictionaries(st.sampled_from("abcdefghij"), events),
       st.lists(st.tuples(events, events)), st.sets(st.sampled_from("abcdefghij")))
def test_matchings_decision_places_only_new_listings_and_never_moves_a_stored_link(
    listed, stored, targets, fusions, reviewed
) -> None:
    batch = {x: Item(x, "h" + x) for x in sorted(listed)}
    links = {x: StoredLink(x, ord(x), "old") for x in sorted(stored)}
    decision = MatchDecision(
        targets={x: (event, {"score": 0.9}) for x, event in targets.items()},
        fusions=[(min(a, b), max(a, b), {}) for a, b in fusions if a != b],
        reviews=[(x, "7:other", 3, 0.6, ("title",)) for x in sorted(reviewed)],
    )
    decided = plan(batch, links, decision, now=NOW)
    fresh = set(batch) - set(links)
    assert {m.item.external_id: m.event_id for m in decided.merged} == {
        x: e for x, e in targets.items() if x in fresh}
    assert {i.external_id for i in decided.new} == fresh - set(targets)
    assert {i.external_id for i in decided.updated} | set(decided.unchanged) == set(batch) & set(
        links)  # a stored link stays on its event whatever matching says
    assert [(f.keep, f.other) for f in decided.fusions] == [
        (k, o) for k, o, _ in decision.fusions]
    assert {r[0] for r in decided.reviews} == set(reviewed) & fresh
    assert plan(batch, links, now=NOW).merged == ()  # no decision: nothing joins
