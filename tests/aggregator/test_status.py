"""One status list: sources' words map onto ``EventStatus``, and normalisation, composition
and the stored column all speak its members."""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from aggregator.ingest import ingest_events
from aggregator.models import Event, Source
from aggregator.normalize import NormalizedEvent, normalize
from aggregator.raw import SOURCE_STATUS_WORDS, RawEvent, SourceDefaults
from aggregator.regions import load_region
from aggregator.settings import Settings
from aggregator.types import EventStatus

REGION = load_region("aix-marseille")
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
PARSERS = Path(__file__).parent.parent.parent / "crawlers" / "parsers"


def _said(status: str | None, title: str = "Meetup Python") -> NormalizedEvent:
    raw = RawEvent(title=title, start=datetime(2026, 12, 3, 19, 0), status=status)
    return normalize(raw, defaults=SourceDefaults(), region=REGION)


def _parser_words() -> set[str]:
    """Every status word a parser's ``_STATUS`` table gives ``RawEvent.status``."""
    words = set()
    for path in PARSERS.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict)
                    and any(isinstance(t, ast.Name) and t.id == "_STATUS" for t in node.targets)):
                words |= {v.value for v in node.value.values
                          if isinstance(v, ast.Constant) and isinstance(v.value, str)}
    return words


def test_every_word_a_parser_writes_is_in_the_source_vocabulary() -> None:
    words = _parser_words()
    assert {"confirmed", "cancelled", "rescheduled"} <= words
    assert words - set(SOURCE_STATUS_WORDS) == set()


@pytest.mark.parametrize(("word", "status"), [
    ("CONFIRMED", EventStatus.scheduled),
    ("https://schema.org/EventRescheduled", EventStatus.scheduled),
    ("TENTATIVE", EventStatus.tentative),
    ("https://schema.org/EventCancelled", EventStatus.cancelled),
    ("annulé", EventStatus.cancelled),
    ("Reporté", EventStatus.postponed),
    ("whatever", EventStatus.scheduled),
    (None, EventStatus.scheduled),
])
def test_a_sources_word_becomes_an_event_status_member(word: str | None,
                                                       status: EventStatus) -> None:
    item = _said(word)
    assert type(item.status) is EventStatus and item.status is status
    again = NormalizedEvent.from_json(item.to_json())
    assert type(again.status) is EventStatus and again == item


def test_a_title_mark_gives_a_member_too() -> None:
    assert _said(None, "[ANNULÉ] Meetup Python").status is EventStatus.cancelled
    assert _said(None, "Reporté : Meetup Python").status is EventStatus.postponed


def test_the_stored_column_reads_back_members(engine: Engine, settings: Settings) -> None:
    with Session(engine, expire_on_commit=False) as session:
        source = Source(name="JUG", url="https://jug.example/feed", state="approved")
        session.add(source)
        session.commit()
        raws = [RawEvent(title="Java 25", start=datetime(2026, 12, 4, 19, 0), uid="a"),
                RawEvent(title="Kotlin", start=datetime(2026, 12, 5, 19, 0), uid="b",
                         status="CANCELLED")]
        ingest_events(session, source, raws, now=NOW, complete=True, settings=settings)
        session.commit()
    with Session(engine) as session:
        stored = {e.title: e.status for e in session.exec(select(Event))}
    assert stored == {"Java 25": EventStatus.scheduled, "Kotlin": EventStatus.cancelled}
    assert all(type(s) is EventStatus for s in stored.values())
