"""Newsletter fixtures: a small, realistic week of Aix-Marseille events and subscribers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from aggregator.models import Event, Subscriber
from aggregator.settings import Settings

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)  # a Thursday
WEEK = "2026-W49"  # Monday 30 November – Sunday 6 December 2026
CREATED = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def paris(y: int, m: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=PARIS).astimezone(UTC)


def add_event(session: Session, title: str, start: datetime | date, **kw: Any) -> Event:
    """Insert one published event (timed when ``start`` is a datetime, else all-day)."""
    values: dict[str, Any] = {
        "in_region": True,
        "insee": "13055",
        "city": "Marseille",
        "topics": ["web-mobile"],
        "relevance": 3.0,
        "created_at": CREATED,
        "updated_at": CREATED,
    }
    if isinstance(start, datetime):
        values.update(start=start, start_date=start.astimezone(PARIS).date())
    else:
        values.update(start=None, all_day=True, start_date=start, end_date=start)
    values.update(kw)
    event = Event(title=title, **values)
    session.add(event)
    session.flush()
    return event


def add_subscriber(session: Session, email: str, **kw: Any) -> Subscriber:
    values: dict[str, Any] = {
        "status": "confirmed",
        "language": "fr",
        "consent_at": CREATED,
        "confirmed_at": CREATED,
        "consent_origin": "test",
    }
    values.update(kw)
    sub = Subscriber(email=email, **values)
    session.add(sub)
    session.flush()
    return sub


def seed_week(session: Session) -> dict[str, Event]:
    """The week of 30 November 2026 as the store would hold it."""
    return {
        "jug": add_event(
            session,
            "Marseille JUG : Java 25 en production",
            paris(2026, 12, 1, 18, 30),
            end=paris(2026, 12, 1, 21, 0),
            venue="La Coque",
            topics=["web-mobile", "cloud-devops"],
            url="https://marsjug.org/reunions/2026-12-01",
        ),
        "ml": add_event(
            session,
            "Machine Learning Aix-Marseille : LLM et RAG",
            paris(2026, 12, 3, 19, 0),
            venue="Le Village by CA",
            insee="13001",
            city="Aix-en-Provence",
            topics=["ia-data"],
        ),
        "webinar": add_event(
            session,
            "Webinaire French Tech : financer sa startup",
            paris(2026, 12, 2, 12, 0),
            online=True,
            in_region=False,
            insee=None,
            city=None,
            topics=["startups-business"],
        ),
        "fablab": add_event(
            session,
            "Journée portes ouvertes du fab lab",
            date(2026, 12, 5),
            venue="LFO Fablab",
            topics=["fablab-hardware"],
        ),
        "later": add_event(
            session,
            "Cloud Native Aix-Marseille #30",
            paris(2026, 12, 8, 18, 30),
            topics=["cloud-devops"],
        ),
        "far": add_event(session, "Hors fenêtre", paris(2026, 12, 20, 18, 0)),
    }


@pytest.fixture
def week_settings(settings: Settings) -> Settings:
    return settings


@pytest.fixture
def session(sqlite_engine: Engine) -> Iterator[Session]:
    with Session(sqlite_engine, expire_on_commit=False) as s:
        yield s
