"""The source registry: CSV import (twice, malformed rows), add_source, state changes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from aggregator.errors import InvalidInputError, NotFoundError
from aggregator.models import Source
from aggregator.regions import load_region
from aggregator.sources import add_source, import_sources_csv, set_source_state

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
DATA = Path(__file__).parents[1] / "data/sources"


@pytest.fixture
def session(sqlite_engine: Engine):
    with Session(sqlite_engine, expire_on_commit=False) as s:
        yield s


def count(session: Session) -> int:
    return session.exec(select(func.count()).select_from(Source)).one()


def test_importing_the_starter_list_twice_adds_each_source_once(session: Session) -> None:
    starter = load_region("aix-marseille").starter_sources
    assert starter is not None
    first = import_sources_csv(session, starter, now=NOW)
    session.commit()
    second = import_sources_csv(session, starter, now=NOW)
    assert (first.added, first.without_url, first.invalid) == (41, 1, [])
    assert (second.added, second.skipped) == (0, 41)
    assert count(session) == 41
    coque = session.exec(select(Source).where(Source.name == "La Coque Numérique")).one()
    assert (coque.url, coque.state) == (None, "pending")  # known organisation, no URL yet
    jug = session.exec(select(Source).where(Source.name.startswith("Marseille JUG"))).one()
    assert jug.state == "pending"
    assert jug.url == "https://www.meetup.com/marseille-java-user-group-meetup/events/ical/"
    assert jug.page_url == "https://marsjug.org/"
    assert (jug.kind, jug.town) == ("meetup group", "Marseille")
    agenda = session.exec(select(Source).where(Source.kind == "aggregator")).first()
    assert agenda is not None and agenda.authority < jug.authority


def test_malformed_rows_are_reported_with_their_line_not_fatal(session: Session) -> None:
    report = import_sources_csv(session, DATA / "malformed.csv", now=NOW)
    assert report.added == 2
    lines = dict(report.invalid)
    assert set(lines) == {3, 4, 5}
    assert "no name" in lines[3] and "http" in lines[4] and "more fields" in lines[5]
    assert str(report) == "2 added, 0 already present, 3 invalid"


def test_a_file_that_is_not_a_sources_csv_is_refused(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("email,name\na@b.c,A\n", encoding="utf-8")
    with pytest.raises(InvalidInputError):
        import_sources_csv(session, path, now=NOW)


def test_add_source_is_idempotent_on_the_url(session: Session) -> None:
    first = add_source(session, "https://lafabulerie.com/agenda/", name="La Fabulerie",
                       kind="fab lab", town="Marseille", now=NOW)
    again = add_source(session, "https://lafabulerie.com/agenda/", name="Autre nom", now=NOW)
    assert first.id == again.id and again.name == "La Fabulerie"
    assert first.state == "approved" and first.authority == 70
    with pytest.raises(InvalidInputError):
        add_source(session, "file:///etc/passwd", now=NOW)


def test_a_source_takes_its_own_zone_else_the_region_zone_it_is_given(session: Session) -> None:
    given = add_source(session, "https://a.example/ical", timezone="Europe/London",
                       default_zone="America/Montreal", now=NOW)
    none = add_source(session, "https://b.example/ical", default_zone="America/Montreal", now=NOW)
    junk = add_source(session, "https://c.example/ical", timezone="Mars/Olympus",
                      default_zone="America/Montreal", now=NOW)
    assert [s.timezone for s in (given, none, junk)] == [
        "Europe/London", "America/Montreal", "America/Montreal"
    ]
    report = import_sources_csv(session, DATA / "malformed.csv", now=NOW,
                                default_zone="America/Montreal")
    assert {s.timezone for s in report.sources} == {"America/Montreal"}


def test_a_source_can_be_approved_and_rejected(session: Session) -> None:
    source = add_source(session, "https://ex.org/feed", state="pending", now=NOW)
    assert source.id is not None
    assert set_source_state(session, source.id, "approved", now=NOW).state == "approved"
    assert set_source_state(session, source.id, "rejected").state == "rejected"
    with pytest.raises(NotFoundError):
        set_source_state(session, 9999, "approved")
    with pytest.raises(InvalidInputError):
        set_source_state(session, source.id, "deleted")


def test_a_source_without_url_cannot_be_approved_until_it_gets_one(session: Session) -> None:
    from aggregator.errors import InvalidInputError
    from aggregator.sources import set_source_state, set_source_url

    source = Source(name="La Coque Numérique", url=None, state="pending")
    session.add(source)
    session.flush()
    assert source.id is not None
    with pytest.raises(InvalidInputError, match="has no URL yet"):
        set_source_state(session, source.id, "approved", now=NOW)
    set_source_url(session, source.id, " https://lacoque.example.fr/agenda ")
    assert set_source_state(session, source.id, "approved", now=NOW).state == "approved"
    assert source.url == "https://lacoque.example.fr/agenda"
