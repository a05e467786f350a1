"""Text search on whole words, accents and case ignored, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from aggregator.models import Event
from aggregator.queries import agenda_events, agenda_week_counts
from aggregator.regions import load_region

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
REGION = load_region("aix-marseille")
TITLES = ["Initiation Arduino", "Soirée IA générative", "Événement Python", "L'IA, au bureau"]


def _search(engine: Engine, text: str) -> list[str]:
    with Session(engine) as session:
        found = agenda_events(
            session, region=REGION, start=NOW, end=NOW + timedelta(days=30), text=text
        )
        return [e.title for e in found]


def _seed(engine: Engine) -> None:
    with Session(engine) as session:
        for n, title in enumerate(TITLES):
            session.add(Event(title=title, start=NOW + timedelta(days=n + 1), city="Marseille",
                              insee="13055", in_region=True, relevance=3.0, topics=[],
                              timezone="Europe/Paris"))
        session.commit()


def test_search_matches_whole_words_without_accents_or_case(engine: Engine) -> None:
    _seed(engine)
    assert _search(engine, "IA") == ["Soirée IA générative", "L'IA, au bureau"]
    assert _search(engine, "evenement") == ["Événement Python"]
    assert _search(engine, "ÉVÉNEMENT python") == ["Événement Python"]
    assert _search(engine, "soiree generative") == ["Soirée IA générative"]
    assert _search(engine, "arduin") == []
    assert _search(engine, "initiation arduino") == ["Initiation Arduino"]


def test_week_counts_use_the_same_whole_word_rule(engine: Engine) -> None:
    _seed(engine)
    bounds = [NOW, NOW + timedelta(days=7), NOW + timedelta(days=14)]
    with Session(engine) as session:
        assert agenda_week_counts(session, region=REGION, bounds=bounds, text="ia") == [2, 0]
