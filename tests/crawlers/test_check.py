"""crawlers.check: a source checked through the guarded fetch, its result recorded."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from aggregator.db import session_scope
from aggregator.errors import NotFoundError
from aggregator.models import CrawlRun, Source, SourceFetch
from aggregator.settings import Settings
from crawlers.check import check_source
from tests.support.httpserver import LoopbackHTTPServer

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
LINT = Path(__file__).parent.parent / "data" / "lint"
ICAL = {"Content-Type": "text/calendar; charset=utf-8"}


def add_source(engine: Engine, url: str, *, state: str = "pending") -> int:
    with session_scope(engine) as session:
        source = Source(name="Groupe test", url=url, state=state, created_at=NOW)
        session.add(source)
        session.flush()
        assert source.id is not None
        return source.id


def check(engine: Engine, settings: Settings, source_id: int, delay: float = 0.0):  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        return check_source(session, settings, source_id, now=NOW, refetch_delay=delay)


def recorded(engine: Engine, source_id: int) -> tuple[Source, CrawlRun, SourceFetch]:
    with Session(engine) as session:
        source = session.get(Source, source_id)
        run = session.exec(select(CrawlRun).where(CrawlRun.source_id == source_id)).one()
        fetch = session.exec(select(SourceFetch).where(SourceFetch.source_id == source_id)).one()
        assert source is not None
        return source, run, fetch


def test_a_meetup_export_reports_meetup_and_its_upcoming_events_and_records_a_fetch(
    sqlite_engine: Engine, settings: Settings, http_server: LoopbackHTTPServer
) -> None:
    url = http_server.add(
        "/aix-devops/events/ical/", (LINT / "meetup-aix-devops.ics").read_bytes(), headers=ICAL
    )
    source_id = add_source(sqlite_engine, url)
    report = check(sqlite_engine, settings, source_id)
    assert (report.format, report.upcoming, report.error, report.http_status) == (
        "meetup",  # the platform its iCalendar content shows
        3,
        None,
        200,
    )
    assert report.findings == [] and report.warnings == []
    source, run, fetch = recorded(sqlite_engine, source_id)
    assert (run.requested_by, run.status, fetch.detected_format, fetch.events_found) == (
        "check",
        "done",
        "meetup",
        4,
    )
    assert source.state == "pending" and source.detected_format == "meetup"
    assert source.last_check is not None and source.last_check["upcoming"] == 3
    assert http_server.hits("/aix-devops/events/ical/") == 2  # once more for the UIDs
    assert http_server.hits("/robots.txt") == 1


def test_uids_that_change_between_two_fetches_are_flagged(
    sqlite_engine: Engine, settings: Settings, http_server: LoopbackHTTPServer
) -> None:
    template = (LINT / "churning-uids.ics.tmpl").read_text(encoding="utf-8")
    bodies = [template.replace("{n}", str(n)).encode() for n in (1, 2)]
    url = http_server.add_sequence("/agenda.ics", [(200, body, ICAL) for body in bodies])
    report = check(sqlite_engine, settings, add_source(sqlite_engine, url), delay=0.2)
    churn = next(f for f in report.findings if f.code == "uid_churn")
    assert churn.count == 2 and churn.severity == "error"
    assert any("UID" in w and "changent" in w for w in report.warnings)
    assert report.error is None and report.upcoming == 2


def test_an_america_new_york_export_for_an_aix_venue_is_reported(
    sqlite_engine: Engine, settings: Settings, http_server: LoopbackHTTPServer
) -> None:
    url = http_server.add(
        "/aix-ia/events/ical/", (LINT / "meetup-new-york-zone.ics").read_bytes(), headers=ICAL
    )
    source_id = add_source(sqlite_engine, url)
    report = check(sqlite_engine, settings, source_id)
    assert [f.code for f in report.findings] == ["zone_contradiction"]
    assert "America/New_York" in report.warnings[0] and "Europe/Paris" in report.warnings[0]
    source, _run, _fetch = recorded(sqlite_engine, source_id)
    assert source.last_check and source.last_check["findings"][0]["code"] == "zone_contradiction"


def test_robots_txt_forbidding_us_stops_the_check_before_the_feed(
    sqlite_engine: Engine, settings: Settings, http_server: LoopbackHTTPServer
) -> None:
    http_server.add(
        "/robots.txt", "User-agent: techagenda\nDisallow: /\n", content_type="text/plain"
    )
    url = http_server.add("/feed.ics", (LINT / "meetup-aix-devops.ics").read_bytes(), headers=ICAL)
    source_id = add_source(sqlite_engine, url)
    report = check(sqlite_engine, settings, source_id)
    assert [f.code for f in report.findings] == ["robots_disallow"]
    assert report.error and "robots.txt" in report.error
    assert http_server.hits("/feed.ics") == 0
    source, run, fetch = recorded(sqlite_engine, source_id)
    assert run.status == "failed" and fetch.error == report.error == source.last_error


def test_a_dead_port_is_an_error_recorded_not_raised(
    sqlite_engine: Engine, settings: Settings
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    source_id = add_source(sqlite_engine, f"http://127.0.0.1:{port}/agenda.ics")
    report = check(sqlite_engine, settings, source_id)
    assert report.error and "connection refused" in report.error
    assert [f.code for f in report.findings] == ["unreachable"] and report.warnings == []
    source, run, fetch = recorded(sqlite_engine, source_id)
    assert (run.status, fetch.error, source.last_error, source.state) == (
        "failed",
        report.error,
        report.error,
        "pending",
    )


def test_a_private_address_without_the_allowlist_is_refused_and_recorded(
    sqlite_engine: Engine, settings: Settings, http_server: LoopbackHTTPServer
) -> None:
    url = http_server.add("/feed.ics", (LINT / "meetup-aix-devops.ics").read_bytes(), headers=ICAL)
    source_id = add_source(sqlite_engine, url)
    strict = settings.model_copy(update={"fetch_allowlist": ""})
    report = check(sqlite_engine, strict, source_id)
    assert [f.code for f in report.findings] == ["blocked"] and report.error
    assert http_server.hits("/feed.ics") == 0 and http_server.hits("/robots.txt") == 0
    _source, run, fetch = recorded(sqlite_engine, source_id)
    assert run.status == "failed" and fetch.error == report.error


def test_an_http_error_keeps_its_status(
    sqlite_engine: Engine, settings: Settings, http_server: LoopbackHTTPServer
) -> None:
    url = http_server.add("/gone.ics", b"", status=410)
    report = check(sqlite_engine, settings, add_source(sqlite_engine, url))
    assert report.http_status == 410 and [f.code for f in report.findings] == ["http_error"]


def test_a_missing_source_is_not_found(sqlite_engine: Engine, settings: Settings) -> None:
    with pytest.raises(NotFoundError):
        check(sqlite_engine, settings, 999)
