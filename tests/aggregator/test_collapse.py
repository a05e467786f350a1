"""The collapse guard decides from data alone: emptied or halved sources keep their events,
and a listing is gone only after CRAWL_GONE_AFTER complete crawls without it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from aggregator.collapse import EMPTIED, HALVED, judge_crawl
from aggregator.ingest import ingest_events
from aggregator.models import Event, Source
from aggregator.raw import RawEvent
from aggregator.settings import Settings

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def test_a_source_that_lists_nothing_any_more_collapsed() -> None:
    verdict = judge_crawl([], live={"a", "b"}, upcoming={"a"}, missing={}, gone_after=3)
    assert verdict.collapsed and verdict.reason == EMPTIED and not verdict.gone
    assert "none of the 1 upcoming" in verdict.message()
    assert "aucun des 1" in verdict.message("fr")


def test_losing_more_than_half_of_the_upcoming_events_collapsed() -> None:
    live = {"a", "b", "c", "d"}
    verdict = judge_crawl(["a", "new"], live=live, upcoming=live, missing={}, gone_after=1)
    assert verdict.collapsed and verdict.reason == HALVED and (verdict.lost, verdict.expected) == (3, 4)
    half = judge_crawl(["a", "b"], live=live, upcoming=live, missing={}, gone_after=1)
    assert not half.collapsed and half.gone == {"c", "d"}


def test_a_small_source_losing_its_one_event_to_a_new_one_is_no_collapse() -> None:
    verdict = judge_crawl(["new"], live={"a"}, upcoming={"a"}, missing={}, gone_after=3)
    assert not verdict.collapsed and verdict.missing == {"a": 1}


def test_a_listing_is_gone_only_after_n_crawls_in_a_row_without_it() -> None:
    missing: dict[str, int] = {}
    live = {"a", "b", "c"}
    for crawl in range(1, 4):
        verdict = judge_crawl(["b", "c"], live=live, upcoming=live, missing=missing, gone_after=3)
        assert verdict.gone == ({"a"} if crawl == 3 else set())
        missing = verdict.missing
    assert missing == {}
    back = judge_crawl(["a", "b", "c"], live=live, upcoming=live, missing={"a": 2}, gone_after=3)
    assert back.missing == {} and not back.gone  # a comeback resets the count


def test_a_source_that_never_listed_upcoming_events_is_never_collapsed() -> None:
    verdict = judge_crawl([], live={"past"}, upcoming=set(), missing={}, gone_after=1)
    assert not verdict.collapsed and verdict.gone == {"past"}


@given(
    listed=st.sets(st.sampled_from("abcdefgh")),
    live=st.sets(st.sampled_from("abcdefgh")),
    gone_after=st.integers(1, 5),
)
def test_the_verdict_never_drops_a_listed_event_and_a_collapse_drops_none(
    listed: set[str], live: set[str], gone_after: int
) -> None:
    verdict = judge_crawl(listed, live=live, upcoming=live, missing={}, gone_after=gone_after)
    assert not (verdict.gone & listed)
    assert verdict.gone <= live
    if verdict.collapsed:
        assert not verdict.gone


# ------------------------------------------------------------------ through ingest


def talk(n: int, **changes: object) -> RawEvent:
    return RawEvent(
        title=f"Meetup #{n} : un talk",
        start=datetime(2026, 12, 10 + n, 19, 0),
        uid=f"event_{n}@meetup.com",
        city="Marseille",
    ).with_(**changes)


@pytest.fixture
def session(engine: Engine):
    with Session(engine, expire_on_commit=False) as s:
        yield s


def test_an_emptied_source_keeps_its_events_and_is_suspect_until_it_lists_again(
    session: Session, settings: Settings
) -> None:
    source = Source(name="jug", url="https://jug.example/ical", state="approved",
                    kind="meetup group")  # fmt: skip
    session.add(source)
    session.commit()
    ingest_events(session, source, [talk(1), talk(2), talk(3)], now=NOW, complete=True,
                  settings=settings)  # fmt: skip
    for hours in range(1, 5):
        stats = ingest_events(session, source, [], now=NOW + timedelta(hours=hours),
                              complete=True, settings=settings)  # fmt: skip
        assert stats.cancelled == 0
    assert source.suspect and source.suspect_since == NOW + timedelta(hours=1)
    assert "none of the 3 upcoming" in (source.suspect_reason or "")
    assert {e.status for e in session.exec(select(Event))} == {"scheduled"}
    ingest_events(session, source, [talk(1), talk(2), talk(3)], now=NOW + timedelta(hours=5),
                  complete=True, settings=settings)  # fmt: skip
    assert not source.suspect and source.suspect_reason is None and source.last_events_found == 3


def test_a_cancellation_the_source_states_applies_at_once_even_while_collapsed(
    session: Session, settings: Settings
) -> None:
    source = Source(name="jug", url="https://jug.example/ical", state="approved")
    session.add(source)
    session.commit()
    ingest_events(session, source, [talk(n) for n in range(1, 6)], now=NOW, complete=True,
                  settings=settings)  # fmt: skip
    stats = ingest_events(session, source, [talk(1, status="CANCELLED")], now=NOW,
                          complete=True, settings=settings)  # fmt: skip
    assert source.suspect  # 4 of 5 gone at once: kept
    assert stats.cancelled == 1
    statuses = {e.title: e.status for e in session.exec(select(Event))}
    assert statuses.pop("Meetup #1 : un talk") == "cancelled"
    assert set(statuses.values()) == {"scheduled"}
