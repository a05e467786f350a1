"""The organizer health mail: to the organizer of an unwell approved source, once a week."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session

from aggregator.db import session_scope
from aggregator.models import CrawlRun, Event, EventLink, Source, SourceFetch
from aggregator.settings import Settings
from newsletter.health import send_health_mails
from newsletter.mailers import make_mailer
from tests.support.smtpserver import LoopbackSMTPServer

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def add_source(
    engine: Engine,
    name: str,
    *,
    contact: str | None,
    failures: int = 0,
    error: str | None = None,
    state: str = "approved",
) -> int:
    with session_scope(engine) as session:
        source = Source(
            name=name,
            url=f"https://www.meetup.com/fr-FR/{name.lower().replace(' ', '-')}/events/ical/",
            state=state,
            contact_email=contact,
            consecutive_failures=failures,
            last_error=error,
            created_at=NOW - timedelta(days=60),
        )
        session.add(source)
        session.flush()
        assert source.id is not None
        return source.id


def add_crawls(
    engine: Engine, source_id: int, counts: list[tuple[int, int]], *, by: str = "scheduler"
) -> None:
    """One crawl per (found, new), oldest first."""
    with session_scope(engine) as session:
        for n, (found, new) in enumerate(counts):
            at = NOW - timedelta(hours=6 * (len(counts) - n))
            run = CrawlRun(source_id=source_id, status="done", requested_by=by, created_at=at)
            session.add(run)
            session.flush()
            assert run.id is not None
            session.add(
                SourceFetch(
                    crawl_run_id=run.id,
                    source_id=source_id,
                    url="u",
                    http_status=200,
                    events_found=found,
                    events_new=new,
                    fetched_at=at,
                )
            )


def outbox(settings: Settings) -> list[EmailMessage]:
    folder = Path(settings.outbox_url.removeprefix("file://"))
    return [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
        for p in sorted(folder.glob("*.eml"))
    ]


def text_of(msg: EmailMessage) -> str:
    part = msg.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def test_a_failing_source_mails_its_organizer_once_a_week(
    sqlite_engine: Engine, settings: Settings
) -> None:
    source_id = add_source(
        sqlite_engine,
        "Python Aix-Marseille",
        contact="orga@pyaix.example",
        failures=settings.crawl_flag_after,
        error="https://www.meetup.com/... answered HTTP 410",
    )
    first = send_health_mails(sqlite_engine, settings, now=NOW)
    assert first.sent == [source_id]
    (msg,) = outbox(settings)
    assert msg["To"] == "orga@pyaix.example"
    body = text_of(msg)
    assert f"{settings.crawl_flag_after} tentatives de suite ont échoué" in body
    assert "Dernière erreur : https://www.meetup.com/... answered HTTP 410" in body
    assert f"{settings.base_url}/submit?url=https%3A%2F%2Fwww.meetup.com" in body
    assert "How to fix it" in body
    again = send_health_mails(sqlite_engine, settings, now=NOW + timedelta(days=6))
    assert again.sent == [] and again.waiting == [source_id] and len(outbox(settings)) == 1
    week_later = send_health_mails(sqlite_engine, settings, now=NOW + timedelta(days=7))
    assert week_later.sent == [source_id] and len(outbox(settings)) == 2


def test_sources_without_a_contact_or_not_approved_or_healthy_get_no_mail(
    sqlite_engine: Engine, settings: Settings
) -> None:
    add_source(sqlite_engine, "Sans contact", contact=None, failures=9, error="HTTP 500")
    add_source(sqlite_engine, "En attente", contact="a@b.example", failures=9, state="pending")
    healthy = add_source(sqlite_engine, "En forme", contact="ok@fablab.example")
    add_crawls(sqlite_engine, healthy, [(5, 5), (5, 0), (6, 1)])
    with session_scope(sqlite_engine) as session:
        event = Event(title="Repair café", start=NOW + timedelta(days=3), created_at=NOW)
        session.add(event)
        session.flush()
        assert event.id is not None
        session.add(EventLink(event_id=event.id, source_id=healthy, external_id="rc-1"))
    report = send_health_mails(sqlite_engine, settings, now=NOW)
    assert report.sent == [] and outbox(settings) == []


def test_a_feed_with_nothing_upcoming_after_three_good_crawls_is_reported(
    sqlite_engine: Engine, settings: Settings
) -> None:
    source_id = add_source(sqlite_engine, "Fablab Aubagne", contact="bonjour@fablab.example")
    add_crawls(sqlite_engine, source_id, [(2, 0), (0, 0)])
    assert send_health_mails(sqlite_engine, settings, now=NOW).sent == []
    add_crawls(sqlite_engine, source_id, [(0, 0)])
    assert send_health_mails(sqlite_engine, settings, now=NOW).sent == [source_id]
    assert "n'annonce plus aucun événement à venir" in text_of(outbox(settings)[0])


def test_uids_churning_in_crawls_or_in_a_check_are_reported(
    sqlite_engine: Engine, settings: Settings
) -> None:
    crawled = add_source(sqlite_engine, "CMS Agenda", contact="web@cms.example")
    add_crawls(sqlite_engine, crawled, [(4, 4), (4, 4), (4, 4)])
    checked = add_source(sqlite_engine, "Checked", contact="dev@checked.example")
    with session_scope(sqlite_engine) as session:
        source = session.get(Source, checked)
        assert source is not None
        source.last_check = {
            "findings": [
                {"code": "uid_churn", "message_fr": "UID instables", "message_en": "unstable UIDs"}
            ]
        }
        session.add(source)
    add_crawls(sqlite_engine, checked, [(4, 4), (4, 0), (4, 0)])
    report = send_health_mails(sqlite_engine, settings, now=NOW + timedelta(days=1))
    assert sorted(report.sent) == sorted([crawled, checked])
    bodies = {str(m["To"]): text_of(m) for m in outbox(settings)}
    assert "identifiants (UID)" in bodies["web@cms.example"]
    assert "- UID instables" in bodies["dev@checked.example"]


def test_the_mail_goes_over_smtp_and_a_hostile_name_adds_no_header(
    sqlite_engine: Engine, settings: Settings, smtp_server: LoopbackSMTPServer
) -> None:
    add_source(
        sqlite_engine, "Meetup\r\nBcc: victim@example.org", contact="orga@pyaix.example", failures=9
    )
    with make_mailer(smtp_server.url) as mailer:
        report = send_health_mails(sqlite_engine, settings, now=NOW, mailer=mailer)
    assert len(report.sent) == 1
    (msg,) = smtp_server.messages
    assert msg["Bcc"] is None and msg["To"] == "orga@pyaix.example"
    assert smtp_server.envelopes[0][1] == ["orga@pyaix.example"]
    with Session(sqlite_engine) as session:
        assert session.get(Source, report.sent[0]).health_mailed_at == NOW  # type: ignore[union-attr]


def test_the_daily_job_mails_only_under_the_leader_lease(
    sqlite_engine: Engine, settings: Settings
) -> None:
    import scheduler as sched
    from aggregator import locks

    source_id = add_source(
        sqlite_engine, "Python Aix-Marseille", contact="orga@pyaix.example", failures=9
    )
    assert locks.acquire_lease(
        sqlite_engine, locks.LEADER, "other", ttl=timedelta(minutes=1), now=NOW
    )
    follower = sched.Runner(settings, sqlite_engine, "me", lambda: NOW, sched.Options())
    assert follower.source_health_mail() == 0 and outbox(settings) == []
    later = NOW + timedelta(minutes=2)  # the other leader's lease has expired
    leader = sched.Runner(settings, sqlite_engine, "me", lambda: later, sched.Options())
    assert leader.source_health_mail() == 1
    assert [str(m["To"]) for m in outbox(settings)] == ["orga@pyaix.example"]
    spec = next(
        s for s in sched.job_specs(settings, sched.Options()) if s["id"] == "source_health_mail"
    )
    assert spec["func"] is sched.job_source_health_mail and source_id
