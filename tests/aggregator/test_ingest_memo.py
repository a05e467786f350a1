"""What ingest remembers between batches gives exactly what computing afresh gives."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from aggregator.blocking import StoredIndex
from aggregator.dedupe import candidate_of, find_matches
from aggregator.ingest import normalized
from aggregator.normalize import normalize
from aggregator.raw import RawEvent, SourceDefaults
from aggregator.regions import _fold, fold, load_region

REGION = load_region("aix-marseille")
DEFAULTS = SourceDefaults(timezone="Europe/Paris", language="fr")


def talk(**changes: object) -> RawEvent:
    return RawEvent(
        title="Meetup JUG : Kotlin Multiplatform",
        start=datetime(2026, 12, 3, 19, 0),
        uid="event_301@meetup.com",
        city="Marseille",
        venue="La Coque",
        description="Un talk sur Kotlin, puis un apéro.",
    ).with_(**changes)


def test_memo_gives_what_normalize_gives_and_tells_equal_raws_apart() -> None:
    flagged, counted = talk(online=True), talk(online=1)  # type: ignore[arg-type]
    assert flagged == counted  # equal as dataclasses: a memo on == would mix them up
    for raw in (flagged, counted, flagged, counted):
        assert normalized(raw, DEFAULTS, REGION) == normalize(raw, defaults=DEFAULTS, region=REGION)
    assert normalized(flagged, DEFAULTS, REGION).online
    assert not normalized(counted, DEFAULTS, REGION).online


def test_memo_keys_on_the_defaults_normalize_reads() -> None:
    raw = talk(language=None)
    french = normalized(raw, DEFAULTS, REGION)
    english = normalized(raw, replace(DEFAULTS, language="en"), REGION)
    assert (french.language, english.language) == ("fr", "en")
    in_utc = talk(start=datetime(2026, 12, 3, 18, 0, tzinfo=UTC))
    in_paris = talk(start=datetime(2026, 12, 3, 19, 0, tzinfo=ZoneInfo("Europe/Paris")))
    assert in_utc == in_paris  # the same instant: equal, yet not the same listing text
    for raw in (in_utc, in_paris, in_utc):
        assert normalized(raw, DEFAULTS, REGION) == normalize(raw, defaults=DEFAULTS, region=REGION)


def test_fold_remembered_is_fold() -> None:
    long = "Éléphant à l'Opéra de Marseille, St-Victor ! " * 20
    for text in ("Ste-Marie", "Ste-Marie", long, long):
        assert fold(text) == _fold(text)
    assert fold("St Ste Pce") == "saint sainte provence"


def _candidates() -> tuple[list, list]:
    stored, fresh = [], []
    for n in range(30):
        day = datetime(2026, 12, 1 + n % 5, 18 + n % 3, 0)
        raw = talk(title=f"Meetup Python : atelier {n % 7} découverte", start=day,
                   uid=f"stored-{n}", city="Marseille" if n % 2 else "Aix-en-Provence")
        item = normalize(raw, defaults=DEFAULTS, region=REGION)
        stored.append(candidate_of(item, ("e", n, n), 100 + n % 4))
    for n in range(8):
        day = datetime(2026, 12, 1 + n % 5, 18 + n % 3, 10)
        raw = talk(title=f"Python atelier {n % 7} découverte", start=day, uid=f"new-{n}",
                   city="Marseille" if n % 2 else "Aix-en-Provence", venue=None)
        item = normalize(raw, defaults=DEFAULTS, region=REGION)
        fresh.append(candidate_of(item, ("n", n), 1))
    return stored, fresh


def test_find_matches_same_with_remembered_stored_candidates() -> None:
    stored, fresh = _candidates()
    first = find_matches(fresh, stored, among_new=False)
    assert first, "the corpus must produce matches for this test to mean anything"
    again = find_matches(fresh, stored, among_new=False)  # blocking data now remembered
    copies = [replace(c) for c in stored]  # new objects: derived afresh
    afresh = find_matches(fresh, copies, among_new=False)
    assert again == first == afresh
    # a narrower batch looks up fewer words: the pairs it makes are those of the full one
    part = find_matches(fresh[:2], stored, among_new=False)
    full = {(m.left, m.right): m for m in first}
    assert part and all(full[(m.left, m.right)] == m for m in part)


def test_find_matches_among_new_unchanged_by_stored_memo() -> None:
    stored, fresh = _candidates()
    find_matches(fresh, stored)
    everyone = find_matches([*stored, *fresh])
    assert everyone == find_matches([replace(c) for c in [*stored, *fresh]])


def test_a_kept_index_matches_as_a_fresh_one_batch_after_batch() -> None:
    """One StoredIndex for a crawl's batches: each batch's matches are those a fresh index
    gives for its own window, whatever earlier batches filed (candidates outside the window,
    an older version of a listing, crowded buckets of another window)."""
    stored, fresh = _candidates()
    kept = StoredIndex()
    windows = [stored[:10], stored[5:25], stored, stored[20:], stored[:3]]
    changed = [replace(c, title="Meetup Python : tout autre chose", title_key="tout autre chose")
               if n % 4 == 0 else c for n, c in enumerate(stored)]
    windows.append(changed)  # new versions of some listings; the old ones stay filed
    for n, window in enumerate(windows):
        batch = fresh[n % 3 :: 2]
        assert find_matches(batch, window, among_new=False, index=kept) == \
            find_matches(batch, [replace(c) for c in window], among_new=False)
        assert find_matches(batch, window, index=kept) == find_matches(batch, window)
    assert len(kept) >= len(stored)
    assert any(find_matches(fresh, w, among_new=False, index=kept) for w in windows)
    # a crowded day (more listings than a bucket holds) decides alike in both
    crowd = [replace(c, key=("e", 100 + n, 100 + n), source_id=200 + n)
             for n, c in enumerate(stored * 2)]
    assert find_matches(fresh, crowd, among_new=False, index=kept) == \
        find_matches(fresh, [replace(c) for c in crowd], among_new=False)


def test_a_kept_index_starts_again_past_its_limit() -> None:
    stored, fresh = _candidates()
    small = StoredIndex(limit=7)
    for start in range(0, 30, 6):
        window = stored[start : start + 12]
        assert find_matches(fresh, window, among_new=False, index=small) == \
            find_matches(fresh, window, among_new=False)
        assert len(small) <= 12
