"""The agenda's rules run in SQL: the same events, in the same order, as the rules read in
Python over every stored event (the reference below), on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from aggregator.models import Event
from aggregator.queries import RELEVANT, agenda_events, agenda_week_counts
from aggregator.regions import fold, load_region

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
REGION = load_region("aix-marseille")
START, END = NOW, NOW + timedelta(days=30)
TOWNS = ["13055", "13001", "13047", "13103", None, "", "83137"]  # 83137: not in the region
TOPICS = ["ia-data", "web-mobile", "cybersecurite", "cloud-devops", "jeu_video"]
TITLES = ["Atelier Python à Aix", "Soirée IA générative", "Sécurité des API", "Kotlin été",
          "Café DevOps", "Réunion 100% remote", "Hackathon jeu vidéo", "Élysée numérique"]


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    rng = random.Random(20261126)
    with Session(engine, expire_on_commit=False) as s:
        for i in range(240):
            start = NOW + timedelta(hours=rng.randint(-72, 24 * 35))
            s.add(Event(
                title=f"{rng.choice(TITLES)} #{i}",
                description_text=rng.choice([None, "On parle d'intelligence artificielle",
                                             "Déjeuner réseau à la Friche"]),
                venue=rng.choice([None, "La Friche", "Thecamp", "Café Écrin"]),
                city=rng.choice([None, "Marseille", "Aix-en-Provence", "Toulon"]),
                organizer=rng.choice([None, "JUG Marseille", "Women in Tech"]),
                start=start,
                end=rng.choice([None, start + timedelta(hours=rng.randint(1, 100))]),
                insee=rng.choice(TOWNS),
                in_region=rng.random() < 0.8,
                online=rng.random() < 0.2,
                hidden=rng.random() < 0.1,
                relevance=rng.choice([0.4, RELEVANT, 1.7]),
                topics=rng.sample(TOPICS, rng.randint(0, 2)),
            ))
        s.commit()
        yield s


def reference(events: list[Event], *, start: datetime, end: datetime, topics: Any = None,
              towns: Any = None, online: bool | None = None, text: str | None = None,
              include_hidden: bool = False) -> list[int]:
    """The agenda's rules one event at a time (how agenda_events read before it used SQL)."""
    codes = set()
    for town in towns or ():
        commune = None if REGION.commune(town) else REGION.match_town(town)
        codes.add(commune.insee if commune else town)
    words = fold(text).split() if text else []
    kept = []
    for e in sorted(events, key=lambda e: (e.start, e.id)):
        if e.start is None or not (e.start < end and (e.end or e.start) >= start):
            continue
        if e.relevance < RELEVANT or (e.hidden and not include_hidden):
            continue
        in_region = e.in_region and (not e.insee or REGION.commune(e.insee) is not None)
        if not (e.online or in_region) or (online is not None and e.online != online):
            continue
        if topics and not set(topics) & set(e.topics):
            continue
        if codes and not e.online and e.insee not in codes:
            continue
        haystack = fold(" ".join(filter(None, (e.title, e.description_text, e.venue, e.city,
                                                e.organizer))))
        if words and not all(w in haystack for w in words):
            continue
        kept.append(e.id)
    return kept


FILTERS: list[dict[str, Any]] = [
    {},
    {"include_hidden": True},
    {"online": True},
    {"online": False},
    {"topics": ["ia-data"]},
    {"topics": ["jeu_video", "cloud-devops"]},
    {"topics": ["ia"]},
    {"towns": ["13001"]},
    {"towns": ["13047", "Marseille"], "online": False},
    {"text": "securite"},
    {"text": "ETE kotlin"},
    {"text": "friche", "topics": ["web-mobile"]},
    {"text": "100%"},
]


@pytest.mark.parametrize("filters", FILTERS, ids=[str(f) for f in FILTERS])
def test_the_sql_agenda_lists_the_same_events_as_the_rules_read_in_python(
    session: Session, filters: dict[str, Any]
) -> None:
    everything = list(session.exec(select(Event)))
    expected = reference(everything, start=START, end=END, **filters)
    got = [e.id for e in agenda_events(session, region=REGION, start=START, end=END, **filters)]
    assert got == expected
    page = agenda_events(session, region=REGION, start=START, end=END, limit=7, offset=5,
                         **filters)
    assert [e.id for e in page] == expected[5:12]


@pytest.mark.parametrize("filters", FILTERS[:6] + FILTERS[9:11], ids=str)
def test_week_counts_count_the_agenda_events_starting_in_each_week(
    session: Session, filters: dict[str, Any]
) -> None:
    bounds = [START + timedelta(weeks=w) for w in range(5)]
    events = agenda_events(session, region=REGION, start=bounds[0], end=bounds[-1], **filters)
    expected = [
        sum(1 for e in events if e.start is not None and lo <= e.start < hi)
        for lo, hi in pairwise(bounds)
    ]
    assert agenda_week_counts(session, region=REGION, bounds=bounds, **filters) == expected
