"""sources check proposes a scope from what the feed holds, and the admin page shows it."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session

from aggregator.models import Source
from aggregator.settings import Settings
from tests.crawlers.test_check import ICAL, LINT, add_source, check
from tests.support.httpserver import LoopbackHTTPServer

CITY_AGENDA = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Ville//Agenda//FR
BEGIN:VEVENT
UID:1@ville
DTSTAMP:20261120T100000Z
DTSTART:20261203T180000Z
SUMMARY:Concert de jazz au kiosque
LOCATION:Kiosque, Marseille
END:VEVENT
BEGIN:VEVENT
UID:2@ville
DTSTAMP:20261120T100000Z
DTSTART:20261204T170000Z
SUMMARY:Exposition de peinture
LOCATION:Mairie, Marseille
END:VEVENT
BEGIN:VEVENT
UID:3@ville
DTSTAMP:20261120T100000Z
DTSTART:20261205T090000Z
SUMMARY:Marché de Noël
LOCATION:Place, Marseille
END:VEVENT
BEGIN:VEVENT
UID:4@ville
DTSTAMP:20261120T100000Z
DTSTART:20261206T130000Z
SUMMARY:Initiation à Python
DESCRIPTION:Atelier de programmation pour ados.
LOCATION:Bibliothèque, Marseille
END:VEVENT
END:VCALENDAR
"""


def proposal(engine: Engine, source_id: int) -> tuple[str, float]:
    with Session(engine) as session:
        source = session.get(Source, source_id)
        assert source is not None and source.last_check is not None
        return source.last_check["scope_proposed"], source.last_check["tech_share"]


def test_a_tech_meetup_feed_is_proposed_tech_and_a_city_agenda_mixed(
    sqlite_engine: Engine, settings: Settings, http_server: LoopbackHTTPServer
) -> None:
    meetup = http_server.add(
        "/aix-devops/events/ical/", (LINT / "meetup-aix-devops.ics").read_bytes(), headers=ICAL
    )
    city = http_server.add("/ville/agenda.ics", CITY_AGENDA.replace("\n", "\r\n"), headers=ICAL)
    meetup_id = add_source(sqlite_engine, meetup)
    city_id = add_source(sqlite_engine, city)
    check(sqlite_engine, settings, meetup_id)
    check(sqlite_engine, settings, city_id)
    assert proposal(sqlite_engine, meetup_id)[0] == "tech"
    assert proposal(sqlite_engine, city_id) == ("mixed", 0.25)
