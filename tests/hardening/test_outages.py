"""Outages of the parts around us: the SMTP server down, then the database unreachable for
a while. Deliveries stay pending and go out later; the scheduler's jobs log, retry on the
next tick and lose nothing."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

import scheduler as sched
from aggregator.db import make_engine
from aggregator.models import Delivery, DeliveryStatus
from newsletter.send import send_digest
from tests.hardening.helpers import hardening_settings
from tests.hardening.tcpproxy import TCPProxy
from tests.newsletter.conftest import NOW, WEEK, add_subscriber, seed_week
from tests.support.smtpserver import LoopbackSMTPServer

READERS = [f"lecteur{i:02d}@exemple.fr" for i in range(12)]
MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # the digest of 2026-W49 fired at 08:00


def _seed(engine: Engine) -> None:
    with Session(engine) as session:
        seed_week(session)
        for address in READERS:
            add_subscriber(session, address)
        session.commit()


def _statuses(engine: Engine) -> Counter[str]:
    with Session(engine) as session:
        return Counter(d.status for d in session.exec(select(Delivery)))


def _sent_once_each(server: LoopbackSMTPServer, *, in_flight: int) -> None:
    """Every reader got one message; a repeat is only a message in flight at a cut, same id."""
    by_id = Counter(str(m["Message-ID"]).strip() for m in server.messages)
    recipients = {str(m["Message-ID"]).strip(): str(m["To"]) for m in server.messages}
    assert sorted(recipients.values()) == READERS
    assert sum(n - 1 for n in by_id.values()) <= in_flight


def test_with_smtp_down_deliveries_stay_pending_and_go_out_once_it_is_back(
    tmp_path: Path, sqlite_engine: Engine, sqlite_url: str
) -> None:
    _seed(sqlite_engine)
    server = LoopbackSMTPServer()  # its port is chosen but nothing listens yet
    settings = hardening_settings(tmp_path, sqlite_url, mail_url=server.url)
    down = send_digest(
        sqlite_engine,
        settings,
        week=WEEK,
        now=NOW,
        attempts=2,
        backoff=0.01,
        max_consecutive_failures=4,
    )
    assert down.sent == 0 and down.failed == 0
    assert down.pending == len(READERS)
    assert _statuses(sqlite_engine) == {DeliveryStatus.pending: len(READERS)}
    with Session(sqlite_engine) as session:
        tried = [d for d in session.exec(select(Delivery)) if d.last_error]
    assert tried and all("cannot connect" in (d.last_error or "") for d in tried)

    server.start()
    try:
        later = send_digest(sqlite_engine, settings, week=WEEK, now=NOW, backoff=0.01)
        time.sleep(0.05)
        assert later.sent == len(READERS) and later.pending == 0
        assert _statuses(sqlite_engine) == {DeliveryStatus.sent: len(READERS)}
        _sent_once_each(server, in_flight=0)
    finally:
        server.stop()


def _through(proxy: TCPProxy, url: str) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    user = f"{netloc[0]}@" if len(netloc) == 2 else ""
    return urlunsplit(parts._replace(netloc=f"{user}127.0.0.1:{proxy.port}"))


def _cut_after(server: LoopbackSMTPServer, proxy: TCPProxy, messages: int) -> threading.Thread:
    """Cut the database off once ``messages`` went out, for half a second."""

    def watch() -> None:
        deadline = time.monotonic() + 30
        while len(server.messages) < messages and time.monotonic() < deadline:
            time.sleep(0.002)
        proxy.down()
        time.sleep(0.5)
        proxy.up()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


@pytest.mark.postgres
def test_the_scheduler_rides_out_a_database_outage_and_sends_each_reader_once(
    tmp_path: Path,
    pg_engine: Engine,
    pg_url: str,
    smtp_server: LoopbackSMTPServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _seed(pg_engine)
    target = urlsplit(pg_url)
    proxy = TCPProxy(target.hostname or "127.0.0.1", target.port or 5432)
    proxy.start()
    settings = hardening_settings(
        tmp_path,
        _through(proxy, pg_url),
        mail_url=smtp_server.url,
        digest_schedule="0 8 * * mon",
    )
    engine = make_engine(settings.database_url)
    runner = sched.Runner(settings, engine, "sched-a", lambda: MONDAY, sched.Options())
    try:
        # 1. The database is gone when the tick comes: the heartbeat logs, the job fails.
        proxy.down()
        with caplog.at_level(logging.WARNING, logger="techagenda.scheduler"):
            runner.heartbeat()
        assert "cannot renew the leader lease" in caplog.text
        with pytest.raises(sa.exc.OperationalError):
            runner.weekly_digest()
        assert smtp_server.messages == []

        # 2. Back, then cut off again in the middle of the send: the job fails midway.
        proxy.up()
        cutter = _cut_after(smtp_server, proxy, 4)
        with pytest.raises(sa.exc.OperationalError):
            runner.weekly_digest()
        cutter.join(timeout=30)
        assert 4 <= len(smtp_server.messages) < len(READERS)

        # 3. The next tick resumes: everyone has their digest, once.
        assert runner.weekly_digest() == WEEK
        time.sleep(0.05)
        _sent_once_each(smtp_server, in_flight=1)
        assert _statuses(pg_engine) == {DeliveryStatus.sent: len(READERS)}
    finally:
        engine.dispose()
        proxy.down()
