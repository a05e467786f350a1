"""Sending through the ledger to a real loopback SMTP server (aiosmtpd)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from aggregator.models import Delivery, Digest, Subscriber
from aggregator.settings import Settings
from newsletter.mailers import make_mailer
from newsletter.send import prepare_digest, preview_digest, send_digest
from newsletter.subscribers import unsubscribe
from tests.newsletter.conftest import NOW, WEEK, add_subscriber, seed_week
from tests.support.smtpserver import LoopbackSMTPServer


def smtp_settings(settings: Settings, server: LoopbackSMTPServer, **kw: object) -> Settings:
    return settings.model_copy(
        update={"mail_url": server.url, "base_url": "https://agenda.example.org", **kw}
    )


def seed(engine: Engine, *emails: str, **sub_kw: object) -> None:
    with Session(engine) as s:
        seed_week(s)
        for email in emails:
            add_subscriber(s, email, **sub_kw)
        s.commit()


def test_digest_message_has_bulk_headers_and_a_text_and_html_alternative(
    sqlite_engine: Engine, settings: Settings, smtp_server: LoopbackSMTPServer
) -> None:
    seed(sqlite_engine, "lea@example.org")
    report = send_digest(sqlite_engine, smtp_settings(settings, smtp_server), week=WEEK, now=NOW)
    assert (report.sent, report.failed, report.pending) == (1, 0, 0)
    [msg] = smtp_server.messages
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert (
        msg["To"] == "lea@example.org" and msg["Date"] and msg["Message-ID"].startswith(f"<{WEEK}.")
    )
    assert msg["List-Id"].endswith("<aix-marseille.digest.techagenda.localhost>")
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsub = str(msg["List-Unsubscribe"])
    assert (
        unsub.startswith("<https://agenda.example.org/unsubscribe/") and "<mailto:digest@" in unsub
    )
    assert "4 événements tech" in str(msg["Subject"])
    with Session(sqlite_engine) as s:
        delivery = s.exec(select(Delivery)).one()
        assert delivery.status == "sent" and delivery.message_id == msg["Message-ID"]
        assert s.exec(select(Digest)).one().status == "sent"


def test_the_unsubscribe_link_of_a_digest_stops_the_next_one(
    sqlite_engine: Engine, settings: Settings, smtp_server: LoopbackSMTPServer
) -> None:
    seed(sqlite_engine, "lea@example.org", "tom@example.org")
    conf = smtp_settings(settings, smtp_server)
    send_digest(sqlite_engine, conf, week=WEEK, now=NOW)
    lea_msg = next(m for m in smtp_server.messages if m["To"] == "lea@example.org")
    token = str(lea_msg["List-Unsubscribe"]).split("/unsubscribe/")[1].split(">")[0]
    with Session(sqlite_engine) as s:
        assert unsubscribe(s, conf, token, now=NOW).email == "lea@example.org"
        s.commit()
    send_digest(sqlite_engine, conf, week="2026-W50", now=NOW)
    assert [m["To"] for m in smtp_server.messages] == [
        "lea@example.org",
        "tom@example.org",
        "tom@example.org",
    ]


def test_unconfirmed_unsubscribed_and_bounced_people_get_nothing(
    sqlite_engine: Engine, settings: Settings, smtp_server: LoopbackSMTPServer
) -> None:
    seed(sqlite_engine, "ok@example.org")
    with Session(sqlite_engine) as s:
        add_subscriber(s, "pending@example.org", status="pending", confirmed_at=None)
        add_subscriber(s, "left@example.org", status="unsubscribed")
        add_subscriber(s, "bounced@example.org", status="bounced")
        add_subscriber(s, "nothing@example.org", topics=["jeu-video"])
        s.commit()
    report = send_digest(sqlite_engine, smtp_settings(settings, smtp_server), week=WEEK, now=NOW)
    assert smtp_server.recipients() == ["ok@example.org"]
    assert (report.sent, report.skipped) == (1, 1)


def test_a_subscriber_who_leaves_after_preparation_is_skipped(
    sqlite_engine: Engine, settings: Settings, smtp_server: LoopbackSMTPServer
) -> None:
    seed(sqlite_engine, "a@example.org", "b@example.org")
    with Session(sqlite_engine) as s:
        prepare_digest(s, settings, week=WEEK, now=NOW)
        s.exec(
            select(Subscriber).where(Subscriber.email == "a@example.org")
        ).one().status = "unsubscribed"
        s.commit()
    report = send_digest(sqlite_engine, smtp_settings(settings, smtp_server), week=WEEK, now=NOW)
    assert smtp_server.recipients() == ["b@example.org"] and report.skipped == 1


def test_preparing_twice_makes_one_digest_and_one_delivery_each(
    engine: Engine, settings: Settings
) -> None:
    seed(engine, "a@example.org", "b@example.org")
    with Session(engine) as s:
        first = prepare_digest(s, settings, week=WEEK, now=NOW)
        s.commit()
        again = prepare_digest(s, settings, week=WEEK, now=NOW)
        s.commit()
        assert first.id == again.id
        rows = s.exec(select(Delivery)).all()
        assert len(rows) == 2 and len({d.message_id for d in rows}) == 2


def test_a_second_run_sends_nothing_more(
    engine: Engine, settings: Settings, smtp_server: LoopbackSMTPServer
) -> None:
    seed(engine, *(f"reader{i}@example.org" for i in range(5)))
    conf = smtp_settings(settings, smtp_server)
    assert send_digest(engine, conf, week=WEEK, now=NOW).sent == 5
    assert send_digest(engine, conf, week=WEEK, now=NOW).sent == 0
    assert sorted(smtp_server.recipients()) == [f"reader{i}@example.org" for i in range(5)]


def test_dry_run_writes_nothing_and_counts_what_would_go(
    sqlite_engine: Engine, settings: Settings, smtp_server: LoopbackSMTPServer
) -> None:
    seed(sqlite_engine, "a@example.org", "b@example.org")
    report = send_digest(
        sqlite_engine, smtp_settings(settings, smtp_server), week=WEEK, now=NOW, dry_run=True
    )
    assert report.pending == 2 and report.sent == 0 and smtp_server.messages == []
    with Session(sqlite_engine) as s:
        assert s.exec(select(Digest)).all() == []


def test_the_rate_limit_spaces_messages(
    sqlite_engine: Engine, settings: Settings, smtp_server: LoopbackSMTPServer
) -> None:
    seed(sqlite_engine, *(f"r{i}@example.org" for i in range(6)))
    conf = smtp_settings(settings, smtp_server, mail_rate_per_second=10.0)
    started = time.monotonic()
    assert send_digest(sqlite_engine, conf, week=WEEK, now=NOW).sent == 6
    assert time.monotonic() - started >= 0.45  # 6 messages at 10/s: 5 gaps of 0.1 s


def test_a_dropped_connection_mid_batch_reconnects_and_finishes(
    sqlite_engine: Engine, settings: Settings, smtp_server: LoopbackSMTPServer
) -> None:
    seed(sqlite_engine, *(f"r{i}@example.org" for i in range(6)))
    smtp_server.drop_after(2)
    report = send_digest(
        sqlite_engine, smtp_settings(settings, smtp_server), week=WEEK, now=NOW, backoff=0.01
    )
    assert report.sent == 6 and report.pending == 0
    # a message whose reply was lost may arrive twice, always with the same Message-ID
    by_id: dict[str, set[str]] = {}
    for msg in smtp_server.messages:
        by_id.setdefault(msg["Message-ID"], set()).add(msg["To"])
    assert sorted(to for tos in by_id.values() for to in tos) == [
        f"r{i}@example.org" for i in range(6)
    ]


def test_a_4xx_is_retried_then_succeeds(
    sqlite_engine: Engine, settings: Settings, smtp_server: LoopbackSMTPServer
) -> None:
    seed(sqlite_engine, "a@example.org")
    smtp_server.fail_next(451, 2)
    report = send_digest(
        sqlite_engine, smtp_settings(settings, smtp_server), week=WEEK, now=NOW, backoff=0.01
    )
    assert report.sent == 1 and smtp_server.recipients() == ["a@example.org"]
    with Session(sqlite_engine) as s:
        assert s.exec(select(Delivery)).one().status == "sent"


def test_a_lasting_4xx_leaves_the_delivery_pending_for_the_next_run(
    sqlite_engine: Engine, settings: Settings, smtp_server: LoopbackSMTPServer
) -> None:
    seed(sqlite_engine, "a@example.org")
    smtp_server.fail_next(451, 3)
    conf = smtp_settings(settings, smtp_server)
    report = send_digest(sqlite_engine, conf, week=WEEK, now=NOW, backoff=0.01)
    assert (report.sent, report.pending) == (0, 1)
    assert send_digest(sqlite_engine, conf, week=WEEK, now=NOW).sent == 1


def test_a_5xx_fails_the_delivery_and_bounces_after_the_limit(
    sqlite_engine: Engine, settings: Settings, smtp_server: LoopbackSMTPServer
) -> None:
    seed(sqlite_engine, "gone@example.org", hard_bounces=1)
    smtp_server.fail_next(550)
    conf = smtp_settings(settings, smtp_server, mail_max_hard_bounces=2)
    report = send_digest(sqlite_engine, conf, week=WEEK, now=NOW)
    assert (report.sent, report.failed, report.pending) == (0, 1, 0)
    with Session(sqlite_engine) as s:
        delivery = s.exec(select(Delivery)).one()
        assert (
            delivery.status == "failed"
            and delivery.last_error
            and delivery.last_error.startswith("550")
        )
        sub = s.exec(select(Subscriber)).one()
        assert (sub.hard_bounces, sub.status) == (2, "bounced")


@pytest.mark.postgres
def test_concurrent_workers_on_postgresql_never_send_one_delivery_twice(
    pg_engine: Engine, settings: Settings, smtp_server: LoopbackSMTPServer
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    seed(pg_engine, *(f"w{i}@example.org" for i in range(24)))
    conf = smtp_settings(settings, smtp_server)
    with Session(pg_engine) as s:
        prepare_digest(s, conf, week=WEEK, now=NOW)
        s.commit()
    with ThreadPoolExecutor(3) as pool:
        reports = list(
            pool.map(
                lambda _i: send_digest(pg_engine, conf, week=WEEK, now=NOW, worker=True), range(3)
            )
        )
    assert sum(r.sent for r in reports) == 24
    assert sorted(smtp_server.recipients()) == sorted(f"w{i}@example.org" for i in range(24))


def test_file_mailer_writes_one_eml_per_delivery_and_resends_overwrite(
    sqlite_engine: Engine, settings: Settings, tmp_path: object
) -> None:
    seed(sqlite_engine, "a@example.org", "b@example.org")
    assert send_digest(sqlite_engine, settings, week=WEEK, now=NOW).sent == 2
    outbox = settings.outbox_url.removeprefix("file://")
    from pathlib import Path

    files = sorted(Path(outbox).glob("*.eml"))
    assert len(files) == 2 and all(b"List-Unsubscribe-Post" in f.read_bytes() for f in files)
    assert not list(Path(outbox).glob(".tmp-*"))


def test_preview_writes_html_and_text_for_one_subscriber(
    sqlite_engine: Engine, settings: Settings, tmp_path: object
) -> None:
    from pathlib import Path

    seed(sqlite_engine, "en@example.org", language="en")
    out = Path(str(tmp_path)) / "preview"
    with Session(sqlite_engine) as s:
        html, text = preview_digest(
            s, settings, email="en@example.org", week=WEEK, now=NOW, out_dir=out
        )
        whole, _ = preview_digest(s, settings, email=None, week=WEEK, now=NOW, out_dir=out)
        assert s.exec(select(Digest)).all() == []
    assert "Tuesday, December 1" in html.read_text() and "TUESDAY, DECEMBER 1" in text.read_text()
    assert "Mardi 1 décembre" in whole.read_text()


def test_mail_urls_choose_their_mailer() -> None:
    from newsletter.mailers import ConsoleMailer, FileMailer, SMTPMailer

    smtp = make_mailer("smtp://user:p%40ss@mail.example.org:587?starttls=1")
    assert (
        isinstance(smtp, SMTPMailer)
        and smtp.starttls
        and smtp.password == "p@ss"
        and smtp.port == 587
    )
    tls = make_mailer("smtps://mail.example.org")
    assert isinstance(tls, SMTPMailer) and tls.implicit_tls and tls.port == 465
    assert isinstance(make_mailer("file:///tmp/outbox"), FileMailer)
    assert isinstance(make_mailer("console://"), ConsoleMailer)
    from aggregator.errors import ConfigError

    with pytest.raises(ConfigError):
        make_mailer("http://example.org")
    assert datetime(2026, 1, 1, tzinfo=UTC)
