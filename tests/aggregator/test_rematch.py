"""Matching the whole store again (``techagenda events rematch``): a store where every
listing of the realistic week is an event of its own (as an older matcher left it) ends up
with one event per real event, whatever order the listings were stored in."""

from __future__ import annotations

import random

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from aggregator.compose import LinkView, compose_fields
from aggregator.duplicates import rematch_store
from aggregator.ingest import event_hash, source_defaults
from aggregator.models import Event, EventLink, PairDecision
from aggregator.normalize import normalize
from aggregator.regions import load_region
from aggregator.settings import Settings
from crawlers.parsers import parse_document
from tests.aggregator import scenario as sc
from tests.support.httpserver import LoopbackHTTPServer

WEEK = sc.load("aix-marseille-week")


def store_one_event_per_listing(session: Session, sources: dict, settings: Settings,
                                seed: int) -> None:
    region = load_region(settings.region)
    listings = []
    for spec in WEEK.sources:
        source = sources[spec["file"]]
        result = parse_document(WEEK.path(spec["file"]).read_bytes(), url=source.url,
                                headers={"content-type": spec["content_type"]},
                                defaults=source_defaults(source, region))
        listings += [(source, normalize(raw, defaults=source_defaults(source, region),
                                        region=region)) for raw in result.events]
    random.Random(seed).shuffle(listings)
    for source, item in listings:
        view = LinkView(source.id, 0, source.authority, True, item, 1.0)
        values = compose_fields([view], status="scheduled", start=item.start, cancelled_at=None,
                                now=WEEK.now, horizon=WEEK.now)
        event = Event(**values, content_hash=event_hash(values), created_at=WEEK.now)
        session.add(event)
        session.flush()
        session.add(EventLink(event_id=event.id or 0, source_id=source.id, external_id=item.external_id,
                              url=item.url, canonical_url=item.canonical_url,
                              content_hash=item.content_hash, raw=item.to_json(),
                              first_seen=WEEK.now, last_seen=WEEK.now))
    session.commit()


@pytest.mark.parametrize("seed", [1, 2])
def test_rematch_fuses_every_duplicate_and_no_near_miss_in_any_storage_order(
    engine: Engine, settings: Settings, http_server: LoopbackHTTPServer, seed: int
) -> None:
    with Session(engine, expire_on_commit=False) as session:
        sources = sc.add_sources(session, WEEK, http_server)
        store_one_event_per_listing(session, sources, settings, seed)
        assert len(set(sc.assignment(session, sources).values())) == 44
        stats = rematch_store(session, now=WEEK.now)
        session.commit()
        assigned = sc.assignment(session, sources)
        visible = session.exec(select(Event).where(Event.hidden == False)).all()  # noqa: E712
        queued = session.exec(select(PairDecision)).all()
    result = sc.score(WEEK, assigned)
    assert result.near_misses_merged == [] and result.precision >= 0.95, result.false_merges
    assert result.recall >= 0.95 and result.duplicates_left <= 1, result.missed
    assert stats.fused == 44 - len(set(assigned.values()))
    assert len(visible) == len(set(assigned.values()))
    assert queued  # the review band is queued for the admin
    cancelled = next(e for e in visible
                     if e.id == assigned["meetup-calanques-python.ics:event_301118907@meetup.com"])
    assert cancelled.status == "cancelled"


def test_rematch_twice_changes_nothing_the_second_time(
    sqlite_engine: Engine, settings: Settings, http_server: LoopbackHTTPServer
) -> None:
    with Session(sqlite_engine, expire_on_commit=False) as session:
        sources = sc.add_sources(session, WEEK, http_server)
        store_one_event_per_listing(session, sources, settings, 3)
        rematch_store(session, now=WEEK.now)
        first = sc.assignment(session, sources)
        again = rematch_store(session, now=WEEK.now)
        assert again.fused == 0 and sc.assignment(session, sources) == first
