"""The event page: a series lists its other dates; a moved event shows its new time with
the old one struck through."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from aggregator.models import Event, EventChange
from tests.web.conftest import NOW


def _add(session: Session, title: str, start: datetime, **kw: object) -> Event:
    event = Event(title=title, start=start, end=start + timedelta(hours=2), city="Marseille",
                  insee="13055", in_region=True, relevance=3.0, topics=[],
                  timezone="Europe/Paris", created_at=NOW, updated_at=NOW, **kw)
    session.add(event)
    session.flush()
    return event


def test_an_event_of_a_weekly_series_lists_its_other_upcoming_dates(
    client: TestClient, sqlite_engine: Engine
) -> None:
    first = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
    with Session(sqlite_engine) as session:
        past = _add(session, "Café code", first - timedelta(weeks=2), series_uid="cafe")
        dates = [_add(session, "Café code", first + timedelta(weeks=n), series_uid="cafe")
                 for n in range(4)]
        hidden = _add(session, "Café code", first + timedelta(weeks=5), series_uid="cafe",
                      hidden=True)
        alone = _add(session, "Conférence unique", first)
        session.commit()
        ids = [e.id for e in dates]
        past_id, hidden_id, alone_id = past.id, hidden.id, alone.id
    html = client.get(f"/events/{ids[0]}").text
    assert "Autres dates de cette série" in html
    for other in ids[1:]:
        assert f'href="/events/{other}"' in html
    assert f'href="/events/{past_id}"' not in html and f'href="/events/{hidden_id}"' not in html
    assert "Mardi 8 décembre 2026, 19:00" in html
    assert "Autres dates" not in client.get(f"/events/{alone_id}").text
    assert "Other dates of this series" in client.get(f"/events/{ids[1]}?lang=en").text


def test_a_moved_event_shows_its_new_time_and_strikes_the_old_one(
    client: TestClient, sqlite_engine: Engine
) -> None:
    old = datetime(2026, 12, 3, 17, 0, tzinfo=UTC)
    new = datetime(2026, 12, 4, 18, 30, tzinfo=UTC)
    with Session(sqlite_engine) as session:
        event = _add(session, "Meetup déplacé", new)
        session.add(EventChange(event_id=event.id or 0, field="start", old=old.isoformat(),
                                new=new.isoformat(), at=NOW))
        session.commit()
        event_id = event.id
    html = client.get(f"/events/{event_id}").text
    assert "Déplacé" in html
    assert '<del class="was"' in html and "Jeudi 3 décembre 2026, 18:00</del>" in html
    assert "Vendredi 4 décembre 2026, 19:30" in html


def test_the_agenda_lists_a_weekly_series_once_with_its_other_dates(
    client: TestClient, sqlite_engine: Engine
) -> None:
    first = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
    with Session(sqlite_engine) as session:
        ids = [_add(session, "Café code", first + timedelta(weeks=n), series_uid="cafe").id
               for n in range(4)]
        session.commit()
    html = client.get("/").text
    assert html.count(">Café code</a></h3>") == 1
    assert f'<h3><a href="/events/{ids[0]}">' in html
    again = html.split('class="series-dates"')[1].split("</p>")[0]
    assert "Aussi :" in again
    for other in ids[1:]:
        assert f'href="/events/{other}"' in again
    assert "mar. 8 déc." in again
