"""SIGKILL a process in the middle of ``ingest_events`` on a big batch: the store is either
as before or as after (one transaction), never in between, and a re-run completes it."""

from __future__ import annotations

import random
import signal
import time
from pathlib import Path

import pytest
from sqlmodel import Session

from aggregator.db import make_engine
from aggregator.ingest import ingest_events
from aggregator.models import Event, EventChange, EventLink, Source
from tests.hardening.helpers import (
    add_source,
    count,
    duplicate_events,
    duplicate_links,
    hardening_settings,
    orphans,
    python_child,
)
from tests.hardening.ingest_child import NOW, batch

COUNT = 400
INGEST_SECONDS = 0.9  # about how long this batch takes to ingest on the CI machine


def kill_during_ingest(db_url: str, source_id: int, rng: random.Random) -> bool:
    """Start the child, SIGKILL it a random moment after it starts ingesting; True if killed."""
    child = python_child(
        "tests.hardening.ingest_child", db_url, str(source_id), str(COUNT), pipe=True
    )
    assert child.stdout is not None
    started = time.monotonic()
    assert child.stdout.readline().strip() == b"start"  # imports done, the batch is built
    time.sleep(rng.uniform(0, INGEST_SECONDS))
    killed = child.poll() is None
    if killed:
        child.send_signal(signal.SIGKILL)
    child.wait(timeout=60)
    assert time.monotonic() - started < 60
    return killed


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_a_killed_ingest_leaves_the_store_before_or_after_never_in_between(
    tmp_path: Path, db_url: str, seed: int
) -> None:
    engine = make_engine(db_url)
    source_id = add_source(engine, "https://agenda.tech-sud.example/feed.ics")
    rng = random.Random(seed)

    kill_during_ingest(db_url, source_id, rng)

    events, links = count(engine, Event), count(engine, EventLink)
    assert (events, links) in {(0, 0), (COUNT, COUNT)}
    assert count(engine, EventChange) == 0
    assert orphans(engine) == (0, 0)

    settings = hardening_settings(tmp_path, db_url)
    with Session(engine) as session:  # the restart: the same batch again
        source = session.get(Source, source_id)
        assert source is not None
        stats = ingest_events(
            session, source, batch(COUNT), now=NOW, complete=True, settings=settings
        )
        session.commit()
    assert stats.new == (COUNT if events == 0 else 0)
    assert count(engine, Event) == COUNT
    assert count(engine, EventLink) == COUNT
    assert duplicate_links(engine) == 0
    assert duplicate_events(engine) == 0
    assert orphans(engine) == (0, 0)
    engine.dispose()
