"""A realistic Aix-Marseille week from ten sources in their platforms' shapes (Meetup ICS,
a community Google Calendar in UTC with all-day entries, an organizer's JSON-LD @graph,
Eventbrite in UTC, a city RSS with French dates and doors times, Agenda du Libre, a
university's microdata with floating times, a coworking's h-events, an association's ICS),
fetched over loopback HTTP, parsed and ingested: one record per real event."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from aggregator.models import Event
from aggregator.settings import Settings
from tests.aggregator import scenario as sc
from tests.support.httpserver import LoopbackHTTPServer

WEEK = sc.load("aix-marseille-week")


def test_the_scenario_is_large_enough_to_mean_something() -> None:
    groups = WEEK.truth["groups"]
    assert len(WEEK.sources) >= 8
    assert len(groups) >= 15 and len(WEEK.truth["near_misses"]) >= 10


def test_every_duplicate_is_merged_and_no_near_miss_is(
    engine: Engine, settings: Settings, http_server: LoopbackHTTPServer
) -> None:
    sc.serve(WEEK, http_server)
    with Session(engine, expire_on_commit=False) as session:
        sources = sc.add_sources(session, WEEK, http_server)
        sc.crawl(session, WEEK, sources, settings)
        assigned = sc.assignment(session, sources)
    assert len(assigned) >= 40
    result = sc.score(WEEK, assigned)
    assert result.near_misses_merged == [], result.false_merges
    assert result.precision >= 0.95, result.false_merges
    assert result.recall >= 0.95, result.missed
    assert result.duplicates_left <= 1, result.missed


@pytest.mark.parametrize("reverse", [False, True], ids=["feed order", "reverse order"])
def test_the_outcome_does_not_depend_on_the_order_sources_are_crawled(
    sqlite_engine: Engine, settings: Settings, http_server: LoopbackHTTPServer, reverse: bool
) -> None:
    sc.serve(WEEK, http_server)
    order = [s["file"] for s in WEEK.sources]
    with Session(sqlite_engine, expire_on_commit=False) as session:
        sources = sc.add_sources(session, WEEK, http_server)
        sc.crawl(session, WEEK, sources, settings, order=order[::-1] if reverse else order)
        assigned = sc.assignment(session, sources)
    result = sc.score(WEEK, assigned)
    assert result.near_misses_merged == [] and result.recall >= 0.95, (result.missed,
                                                                        result.false_merges)


def test_cancellation_from_any_source_wins_and_the_organizer_feed_gives_the_fields(
    sqlite_engine: Engine, settings: Settings, http_server: LoopbackHTTPServer
) -> None:
    sc.serve(WEEK, http_server)
    with Session(sqlite_engine, expire_on_commit=False) as session:
        sources = sc.add_sources(session, WEEK, http_server)
        sc.crawl(session, WEEK, sources, settings)
        assigned = sc.assignment(session, sources)
        dojo = session.get(Event, assigned["meetup-calanques-python.ics:event_301118907@meetup.com"])
        python = session.get(Event, assigned["meetup-calanques-python.ics:event_301118842@meetup.com"])
    assert dojo is not None and python is not None
    assert dojo.status == "cancelled"  # only the shared calendar's "[ANNULÉ]" copy says so
    assert not dojo.title.startswith("[") and "ANNUL" not in dojo.title.upper()
    # the organizer's Meetup feed gives the title and the start (19:00, not the doors time)
    assert python.title == "Typage progressif avec mypy : retour d'expérience"
    assert python.start is not None and python.start.hour == 18  # 19:00 in Paris, in UTC
    explained = [line for note in python.merge_notes for line in note.get("fields", [])]
    assert any(line.startswith("title from Calanques Python (Meetup) (authority 80) over")
               for line in explained), explained
    cancelled = [line for note in dojo.merge_notes for line in note.get("fields", [])]
    assert any(line.startswith("cancelled: Tech en Provence") for line in cancelled), cancelled
