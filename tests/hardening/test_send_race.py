"""Two sends at once never double a digest: web button, CLI runs, scheduler and workers.

Every path goes through ``newsletter.send.send_digest``: the digest's lease keeps a second
sender out, each delivery is claimed with a conditional UPDATE, and a starting sender
never puts another live sender's in-flight rows back to pending.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from aggregator import locks
from aggregator.admins import create_admin
from aggregator.db import make_engine
from aggregator.models import Delivery, DeliveryStatus, utcnow
from aggregator.settings import Settings
from newsletter import ledger
from newsletter.send import SendReport, prepare_digest, send_digest
from tests.hardening.helpers import ROOT, hardening_settings
from tests.newsletter.conftest import NOW, WEEK, add_subscriber, seed_week
from tests.support.smtpserver import LoopbackSMTPServer
from web.app import create_app
from web.security import CSRF_COOKIE

READERS = [f"lecteur{i:03d}@example.org" for i in range(200)]


def _seed(engine: Engine, readers: list[str] = READERS) -> None:
    with Session(engine) as s:
        seed_week(s)
        for email in readers:
            add_subscriber(s, email)
        s.commit()


def _each_reader_once(server: LoopbackSMTPServer, readers: list[str] = READERS) -> None:
    counts = Counter(server.recipients())
    assert sorted(counts) == sorted(readers)
    assert {n for n in counts.values()} == {1}, [a for a, n in counts.items() if n > 1]


def _statuses(engine: Engine) -> Counter[str]:
    with Session(engine) as s:
        return Counter(s.exec(select(Delivery.status)).all())


def _race(engine: Engine, settings: Settings, *, worker: bool) -> list[SendReport]:
    """Two senders released by one barrier, each with its own engine (as two processes)."""
    barrier = threading.Barrier(2)
    reports: list[SendReport] = []
    errors: list[BaseException] = []

    def run() -> None:
        own = make_engine(settings.database_url)
        try:
            barrier.wait()
            reports.append(send_digest(own, settings, week=WEEK, now=NOW, worker=worker))
        except BaseException as exc:  # reported below, with the thread's own error
            errors.append(exc)
        finally:
            own.dispose()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    return reports


@pytest.mark.parametrize("worker", [False, True], ids=["exclusive", "workers"])
def test_two_senders_started_together_give_each_of_200_readers_one_message(
    tmp_path: Path, db_url: str, smtp_server: LoopbackSMTPServer, worker: bool
) -> None:
    engine = make_engine(db_url)
    _seed(engine)
    settings = hardening_settings(tmp_path, db_url, mail_url=smtp_server.url)
    reports = _race(engine, settings, worker=worker)
    _each_reader_once(smtp_server)
    assert sum(r.sent for r in reports) == len(READERS)
    assert _statuses(engine) == {DeliveryStatus.sent: len(READERS)}
    if not worker:  # the lease: either one waited out the other, or it was sent away
        assert all(r.busy is None or r.sent == 0 for r in reports)
    engine.dispose()


def test_two_digest_send_processes_started_together_send_each_reader_once(
    tmp_path: Path, sqlite_engine: Engine, sqlite_url: str, smtp_server: LoopbackSMTPServer
) -> None:
    _seed(sqlite_engine)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": sqlite_url,
        "MAIL_URL": smtp_server.url,
        "DATA_DIR": str(tmp_path / "var"),
        "SECRET_KEY": "hardening-secret",
    }
    env.pop("TECHAGENDA_CONFIG", None)
    code = "import sys, cli; sys.exit(cli.main(sys.argv[1:]))"
    argv = [sys.executable, "-c", code, "digest", "send", "--week", WEEK]
    procs = [
        subprocess.Popen(argv, cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outcomes = [(p.wait(timeout=180), p.stderr.read() if p.stderr else "") for p in procs]
    _each_reader_once(smtp_server)
    for rc, err in outcomes:
        assert rc == 0 or (rc == 1 and "already being sent" in err), (rc, err)


def test_a_starting_sender_leaves_a_live_senders_in_flight_delivery_alone(
    db_url: str, tmp_path: Path, smtp_server: LoopbackSMTPServer
) -> None:
    engine = make_engine(db_url)
    readers = READERS[:5]
    _seed(engine, readers)
    settings = hardening_settings(tmp_path, db_url, mail_url=smtp_server.url)
    with Session(engine, expire_on_commit=False) as s:
        digest = prepare_digest(s, settings, week=WEEK, now=NOW)
        s.commit()
        assert digest.id is not None
        live = locks.new_holder_id()  # this very process: alive
        claimed = ledger.claim_next(s, digest.id, holder=live, now=utcnow())
        assert claimed is not None and claimed.status == DeliveryStatus.sending
    # another sender starts while the first one is in the middle of that message
    report = send_digest(engine, settings, week=WEEK, now=NOW)
    assert report.sent == len(readers) - 1 and report.in_flight == 1 and report.pending == 0
    with Session(engine) as s:
        row = s.get(Delivery, claimed.id)
        assert row is not None and (row.status, row.claimed_by) == (DeliveryStatus.sending, live)
    assert len(smtp_server.messages) == len(readers) - 1
    engine.dispose()


def _dead_holder() -> str:
    """The holder id of a process of this host that has exited (and was reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return f"{socket.gethostname()}:{child.pid}:deadbeef"


def test_a_dead_senders_in_flight_delivery_and_lease_are_taken_back_at_once(
    db_url: str, tmp_path: Path, smtp_server: LoopbackSMTPServer
) -> None:
    engine = make_engine(db_url)
    readers = READERS[:3]
    _seed(engine, readers)
    settings = hardening_settings(tmp_path, db_url, mail_url=smtp_server.url)
    dead = _dead_holder()
    assert not locks.holder_alive(dead)
    name = locks.digest_lock_name(settings.region, WEEK)
    assert locks.acquire_lease(engine, name, dead, ttl=timedelta(hours=1), now=utcnow())
    with Session(engine, expire_on_commit=False) as s:
        digest = prepare_digest(s, settings, week=WEEK, now=NOW)
        s.commit()
        assert digest.id is not None
        assert ledger.claim_next(s, digest.id, holder=dead, now=utcnow()) is not None
    report = send_digest(engine, settings, week=WEEK, now=NOW)  # no waiting for expiry
    assert report.busy is None and report.sent == len(readers)
    _each_reader_once(smtp_server, readers)
    engine.dispose()


def test_a_stale_claim_of_a_live_holder_is_taken_back_after_the_timeout(
    sqlite_engine: Engine, tmp_path: Path, smtp_server: LoopbackSMTPServer
) -> None:
    readers = READERS[:2]
    _seed(sqlite_engine, readers)
    settings = hardening_settings(
        tmp_path, str(sqlite_engine.url), mail_url=smtp_server.url
    )
    with Session(sqlite_engine, expire_on_commit=False) as s:
        digest = prepare_digest(s, settings, week=WEEK, now=NOW)
        s.commit()
        assert digest.id is not None
        other_host = "elsewhere.example:4242:cafe"  # alive as far as we can tell
        claim_at = utcnow() - timedelta(seconds=601)
        assert ledger.claim_next(s, digest.id, holder=other_host, now=claim_at) is not None
    report = send_digest(sqlite_engine, settings, week=WEEK, now=NOW, stale_after=600)
    assert report.sent == 2 and report.in_flight == 0


# ---------------------------------------------------------------- the admin's button


@pytest.fixture
def admin(
    tmp_path: Path, sqlite_engine: Engine, sqlite_url: str, smtp_server: LoopbackSMTPServer
) -> Iterator[tuple[TestClient, Settings]]:
    settings = hardening_settings(tmp_path, sqlite_url, mail_url=smtp_server.url)
    with Session(sqlite_engine) as s:
        create_admin(s, "camille", "correct horse battery staple", now=NOW)
        s.commit()
    _seed(sqlite_engine, READERS[:40])
    with TestClient(create_app(settings, clock=lambda: NOW)) as client:
        client.get("/admin/login")
        client.post(
            "/admin/login",
            data={
                "username": "camille",
                "password": "correct horse battery staple",
                "next": "/admin",
                "csrf_token": client.cookies[CSRF_COOKIE],
            },
        )
        yield client, settings


def _press_send(client: TestClient) -> str:
    token = client.cookies[CSRF_COOKIE]
    response = client.post("/admin/digest/send",
                           data={"week": WEEK, "csrf_token": token, "confirm": "yes"})
    assert response.status_code == 200, response.text[:300]
    return response.text


def test_a_double_click_on_send_sends_each_reader_once(
    admin: tuple[TestClient, Settings], smtp_server: LoopbackSMTPServer
) -> None:
    client, _settings = admin
    barrier = threading.Barrier(2)
    pages: list[str] = []

    def click() -> None:
        barrier.wait()
        pages.append(_press_send(client))

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert len(pages) == 2
    _each_reader_once(smtp_server, READERS[:40])
    assert _press_send(client)  # a third press later: nothing more goes out
    _each_reader_once(smtp_server, READERS[:40])


def test_send_while_another_send_runs_says_already_sending_and_sends_nothing(
    admin: tuple[TestClient, Settings], sqlite_engine: Engine, smtp_server: LoopbackSMTPServer
) -> None:
    client, settings = admin
    name = locks.digest_lock_name(settings.region, WEEK)
    running = locks.new_holder_id()  # a live sender (this process) holds the lease
    assert locks.acquire_lease(sqlite_engine, name, running, ttl=timedelta(hours=1), now=utcnow())
    page = _press_send(client)
    assert "Ce résumé est déjà en cours" in page
    assert smtp_server.messages == []
    english = client.get(f"/admin/digest?week={WEEK}&busy=1&lang=en")
    assert "already being sent" in english.text
    locks.release_lease(sqlite_engine, name, running)
    _press_send(client)
    _each_reader_once(smtp_server, READERS[:40])


def test_send_to_everyone_asks_for_confirmation_first_then_the_console_counts(
    admin: tuple[TestClient, Settings], smtp_server: LoopbackSMTPServer
) -> None:
    client, _settings = admin
    token = client.cookies[CSRF_COOKIE]
    page = client.post("/admin/digest/send", data={"week": WEEK, "csrf_token": token})
    assert "Confirmer l&#39;envoi" in page.text and "<strong>40</strong> sur 40" in page.text
    assert smtp_server.messages == []  # the first press sends nothing
    console = client.get(f"/admin/digest?week={WEEK}").text
    assert "Pas encore envoyé." in console
    _press_send(client)
    console = client.get(f"/admin/digest?week={WEEK}").text
    assert "Envoyé le" in console and "<strong>40</strong> abonné·es" in console
    assert "<strong>0</strong> en attente" in console
    again = client.get(f"/admin/digest/confirm?week={WEEK}").text
    assert "<strong>0</strong> sur 40" in again and "40 l&#39;ont déjà reçu" in again
