"""The clash radar lists the other tech events of the same evening."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import Session

from aggregator.clashes import evening_clashes, is_evening
from aggregator.models import Event
from aggregator.regions import load_region

PARIS = ZoneInfo("Europe/Paris")


def paris(day: int, hour: int) -> datetime:
    return datetime(2026, 12, day, hour, 0, tzinfo=PARIS).astimezone(UTC)


def add(session: Session, title: str, start: datetime, **kw: object) -> Event:
    values: dict[str, object] = {
        "in_region": True,
        "insee": "13055",
        "city": "Marseille",
        "relevance": 2.0,
        "start_date": start.astimezone(PARIS).date(),
    }
    values.update(kw)
    event = Event(title=title, start=start, **values)  # type: ignore[arg-type]
    session.add(event)
    session.flush()
    return event


def test_an_evening_is_five_pm_to_midnight_local_time() -> None:
    assert is_evening(paris(1, 17), PARIS)
    assert is_evening(paris(1, 23), PARIS)
    assert not is_evening(paris(1, 16), PARIS)
    assert not is_evening(None, PARIS)


def test_clashes_are_the_other_evening_events_of_that_day(engine: Engine) -> None:
    region = load_region("aix-marseille")
    with Session(engine) as session:
        mine = add(session, "Meetup Python", paris(1, 19))
        other = add(session, "Marseille JUG", paris(1, 18), url="https://marsjug.org/1")
        add(session, "Petit-déjeuner startups", paris(1, 8))  # a morning
        add(session, "Meetup annulé", paris(1, 19), status="cancelled")
        add(session, "Concert", paris(1, 20), relevance=0.0)  # not tech
        add(session, "DevOps Lyon", paris(1, 19), in_region=False, insee=None, city="Lyon")
        add(session, "Soirée IA", paris(2, 19))  # another day
        found = evening_clashes(
            session, region=region, days=[date(2026, 12, 1)], exclude_ids=[mine.id or 0]
        )
        assert {d: [e.title for e in es] for d, es in found.items()} == {
            date(2026, 12, 1): [other.title]
        }
        by_url = evening_clashes(
            session, region=region, days=[date(2026, 12, 1)], exclude_urls=[other.url or ""]
        )
        assert [e.title for e in by_url[date(2026, 12, 1)]] == ["Meetup Python"]
