"""The ingest plan decides from data alone (hypothesis)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from aggregator.ingest_plan import StoredLink, plan

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
