"""The send gate: its checks, gated mode, an admin's approval through the admin page."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from aggregator.admins import create_admin
from aggregator.models import CrawlRun, Digest, Source, SourceFetch
from aggregator.settings import Settings
from newsletter.gate import approve_digest, check_digest
from newsletter.send import send_digest
from tests.newsletter.conftest import NOW, WEEK, add_event, add_subscriber, paris, seed_week
from web.app import create_app
from web.security import CSRF_COOKIE

MONDAY_MORNING = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)


def levels(report) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {check.name: check.level for check in report.checks}


def test_a_clean_week_passes_every_check(sqlite_engine: Engine, settings: Settings) -> None:
    with Session(sqlite_engine) as s:
        seed_week(s)
        report = check_digest(s, settings, week=WEEK, now=NOW)
    assert set(levels(report).values()) == {"ok"} and report.issue_size == 5


def test_odd_hours_past_events_duplicates_and_broken_sources_are_reported(
    sqlite_engine: Engine, settings: Settings
) -> None:
    with Session(sqlite_engine) as s:
        seed_week(s)
        add_event(s, "Meetup Kubernetes Marseille", paris(2026, 12, 2, 3, 0))
        add_event(s, "Marseille JUG : Java 25 en prod", paris(2026, 12, 1, 18, 30))
        source = Source(name="Agenda cassé", url="https://broken.example/ical", state="approved")
        run = CrawlRun(status="done")
        s.add_all([source, run])
        s.flush()
        assert source.id is not None and run.id is not None
        s.add(SourceFetch(crawl_run_id=run.id, source_id=source.id, url=source.url,
                          http_status=404, error="HTTP 404 Not Found"))
        s.commit()
        report = check_digest(s, settings, week=WEEK, now=paris(2026, 12, 1, 23, 0))
    assert levels(report) == {"odd_hours": "warn", "past": "warn", "duplicates": "warn",
                              "broken_sources": "warn", "size": "ok"}
    details = {c.name: " ".join(c.details) for c in report.checks}
    assert "Kubernetes" in details["odd_hours"] and "Java 25" in details["duplicates"]
    assert "Agenda cassé" in details["broken_sources"] and "JUG" in details["past"]
    assert not report.hard_failed


def test_an_empty_issue_fails_hard_and_auto_mode_holds_the_send(
    sqlite_engine: Engine, settings: Settings
) -> None:
    with Session(sqlite_engine) as s:
        add_subscriber(s, "lea@example.org")
        s.commit()
    report = send_digest(sqlite_engine, settings, week=WEEK, now=NOW)
    assert report.held and "empty" in report.held and report.sent == 0
    assert report.gate is not None and report.gate.hard_failed


def test_a_small_issue_against_the_last_four_weeks_is_a_warning(
    sqlite_engine: Engine, settings: Settings
) -> None:
    with Session(sqlite_engine) as s:
        seed_week(s)
        for week, size in (("2026-W45", 30), ("2026-W46", 24), ("2026-W47", 28), ("2026-W48", 26)):
            s.add(Digest(region=settings.region, week=week, status="sent", event_count=size))
        s.commit()
        report = check_digest(s, settings, week=WEEK, now=NOW)
    assert levels(report)["size"] == "warn" and report.recent_sizes == [26, 28, 24, 30]


def test_gated_mode_waits_for_an_approval_then_sends(
    sqlite_engine: Engine, settings: Settings
) -> None:
    gated = settings.model_copy(update={"digest_gate": "gated"})
    with Session(sqlite_engine) as s:
        seed_week(s)
        add_subscriber(s, "lea@example.org")
        s.commit()
    held = send_digest(sqlite_engine, gated, week=WEEK, now=NOW)
    assert held.sent == 0 and held.held is not None and "approval" in held.held
    with Session(sqlite_engine) as s:
        approve_digest(s, gated, week=WEEK, by="camille", now=NOW)
        s.commit()
    assert send_digest(sqlite_engine, gated, week=WEEK, now=NOW).sent == 1


@pytest.fixture
def admin(settings: Settings, sqlite_engine: Engine) -> Iterator[TestClient]:
    with Session(sqlite_engine) as s:
        create_admin(s, "camille", "correct horse battery staple", now=NOW)
        seed_week(s)
        s.commit()
    with TestClient(create_app(settings, clock=lambda: NOW)) as client:
        client.get("/admin/login")
        token = client.cookies[CSRF_COOKIE]
        client.post("/admin/login", data={"username": "camille", "next": "/admin",
                                          "password": "correct horse battery staple",
                                          "csrf_token": token})
        yield client


def test_the_admin_page_shows_the_report_and_approves_with_a_csrf_token(
    admin: TestClient, sqlite_engine: Engine, settings: Settings
) -> None:
    page = admin.get(f"/admin/digest/gate?week={WEEK}")
    assert page.status_code == 200 and "odd_hours" in page.text and "duplicates" in page.text
    refused = admin.post("/admin/digest/gate/approve", data={"week": WEEK})
    assert refused.status_code in (400, 403)
    token = admin.cookies[CSRF_COOKIE]
    done = admin.post("/admin/digest/gate/approve", data={"week": WEEK, "csrf_token": token},
                      follow_redirects=False)
    assert done.status_code == 303
    with Session(sqlite_engine) as s:
        digest = s.exec(select(Digest)).one()
        assert digest.approved_by == "camille" and digest.approved_at is not None


def test_an_anonymous_visitor_cannot_see_or_approve_the_gate(
    settings: Settings, sqlite_engine: Engine
) -> None:
    with TestClient(create_app(settings, clock=lambda: NOW)) as client:
        page = client.get(f"/admin/digest/gate?week={WEEK}", follow_redirects=False)
        assert page.status_code in (303, 307, 401, 403)
