"""Leases in the database: one holder at a time, expiry hands them over, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine

from aggregator.db import make_engine
from aggregator.locks import (
    acquire_lease,
    advisory_lock,
    crawl_lock_name,
    lease,
    lease_holder,
    new_holder_id,
    release_lease,
)

T0 = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)
TTL = timedelta(seconds=60)


def test_a_free_lease_is_taken_and_a_held_one_is_refused(engine: Engine) -> None:
    assert acquire_lease(engine, "scheduler", "a", ttl=TTL, now=T0)
    assert not acquire_lease(engine, "scheduler", "b", ttl=TTL, now=T0 + timedelta(seconds=59))
    assert lease_holder(engine, "scheduler", now=T0 + timedelta(seconds=30)) == "a"


def test_the_holder_renews_its_lease_and_keeps_others_out(engine: Engine) -> None:
    assert acquire_lease(engine, "scheduler", "a", ttl=TTL, now=T0)
    assert acquire_lease(engine, "scheduler", "a", ttl=TTL, now=T0 + timedelta(seconds=50))
    assert not acquire_lease(engine, "scheduler", "b", ttl=TTL, now=T0 + timedelta(seconds=100))


def test_an_expired_lease_passes_to_the_next_process(engine: Engine) -> None:
    assert acquire_lease(engine, "scheduler", "dead", ttl=TTL, now=T0)
    later = T0 + timedelta(seconds=61)
    assert lease_holder(engine, "scheduler", now=later) is None
    assert acquire_lease(engine, "scheduler", "b", ttl=TTL, now=later)
    assert not acquire_lease(engine, "scheduler", "dead", ttl=TTL, now=later)
    assert lease_holder(engine, "scheduler", now=later) == "b"


def test_a_released_lease_is_free_at_once_and_only_its_holder_releases_it(engine: Engine) -> None:
    assert acquire_lease(engine, "digest", "a", ttl=TTL, now=T0)
    assert not release_lease(engine, "digest", "b")
    assert release_lease(engine, "digest", "a")
    assert acquire_lease(engine, "digest", "b", ttl=TTL, now=T0)


def test_leases_of_different_names_are_independent(engine: Engine) -> None:
    assert acquire_lease(engine, crawl_lock_name(1), "a", ttl=TTL, now=T0)
    assert acquire_lease(engine, crawl_lock_name(2), "b", ttl=TTL, now=T0)
    assert acquire_lease(engine, crawl_lock_name(None), "c", ttl=TTL, now=T0)
    assert crawl_lock_name(None) == "crawl:all"


def test_the_lease_block_holds_then_releases(engine: Engine) -> None:
    with lease(engine, "digest", holder="a", ttl=TTL, now=T0) as held:
        assert held
        with lease(engine, "digest", holder="b", ttl=TTL, now=T0) as other:
            assert not other
    with lease(engine, "digest", holder="b", ttl=TTL, now=T0) as held_again:
        assert held_again


def test_many_processes_racing_for_one_lease_get_exactly_one_winner(db_url: str) -> None:
    engines = [make_engine(db_url) for _ in range(6)]
    holders = [new_holder_id() for _ in engines]
    assert len(set(holders)) == len(holders)
    start = threading.Barrier(len(engines))
    won: list[str] = []

    def race(engine: Engine, holder: str) -> None:
        start.wait()
        if acquire_lease(engine, "scheduler", holder, ttl=TTL, now=T0):
            won.append(holder)

    threads = [
        threading.Thread(target=race, args=pair) for pair in zip(engines, holders, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    for engine in engines:
        engine.dispose()
    assert len(won) == 1


@pytest.mark.postgres
def test_a_postgres_advisory_lock_admits_one_session(pg_engine: Engine) -> None:
    with advisory_lock(pg_engine, "digest") as first:
        assert first
        with advisory_lock(pg_engine, "digest") as second:
            assert not second
    with advisory_lock(pg_engine, "digest") as again:
        assert again


def test_the_advisory_lock_falls_back_to_a_lease_on_sqlite(sqlite_engine: Engine) -> None:
    with advisory_lock(sqlite_engine, "digest") as first:
        assert first
        with advisory_lock(sqlite_engine, "digest") as second:
            assert not second
