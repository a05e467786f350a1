"""Subscribe cannot mail-bomb an address, and its answer tells nobody who is subscribed.

Confirmation mails go to a loopback SMTP server (aiosmtpd) through the real app; the
timing test serves the app with uvicorn on 127.0.0.1 in front of an SMTP server that
stalls, and times the answers.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import select

from aggregator.db import session_scope
from aggregator.models import Subscriber
from aggregator.settings import Settings
from tests.support.smtpserver import LoopbackSMTPServer
from web.app import create_app
from web.security import CSRF_COOKIE, RateLimiter

START = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)  # a Monday, 03:00 in Paris


class Clock:
    """The app's clock, moved by the test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def smtp_settings(settings: Settings, smtp_server: LoopbackSMTPServer) -> Settings:
    return settings.model_copy(update={"mail_url": smtp_server.url})


@pytest.fixture
def client(smtp_settings: Settings, sqlite_engine: Engine, clock: Clock) -> Iterator[TestClient]:
    with TestClient(create_app(smtp_settings, clock=clock)) as test_client:
        yield test_client


def sign_up(client: TestClient | httpx.Client, address: str) -> httpx.Response:
    if CSRF_COOKIE not in client.cookies:
        client.get("/subscribe")
    data = {"email": address, "topic": ["ia-data"], "csrf_token": client.cookies[CSRF_COOKIE]}
    return client.post("/subscribe", data=data)


def mails_to(server: LoopbackSMTPServer, address: str) -> int:
    return server.recipients().count(address)


def test_one_address_gets_no_second_mail_within_minutes_and_few_a_day(
    client: TestClient, smtp_server: LoopbackSMTPServer, clock: Clock, smtp_settings: Settings
) -> None:
    assert (smtp_settings.subscribe_resend_minutes, smtp_settings.subscribe_mails_per_day) == (
        15,
        3,
    )
    # Many clients aiming at one victim: the per-client limiter is not what stops them.
    client.app.state.limiters["subscribe"] = RateLimiter(10_000, 600)  # type: ignore[attr-defined]
    counts = []
    for minutes in (0, 1, 5, 14, 16, 20, 40, 60, 120, 24 * 60 + 1):
        clock.now = START + timedelta(minutes=minutes)
        for _ in range(3):  # a burst of submits
            assert sign_up(client, "cible@exemple.fr").status_code == 200
        counts.append(mails_to(smtp_server, "cible@exemple.fr"))
    assert counts == [1, 1, 1, 1, 2, 2, 3, 3, 3, 4]


def test_the_answer_is_the_same_for_a_new_a_pending_and_a_subscribed_address(
    client: TestClient, smtp_server: LoopbackSMTPServer, sqlite_engine: Engine, clock: Clock
) -> None:
    with session_scope(sqlite_engine) as session:
        session.add(Subscriber(email="deja@exemple.fr", status="confirmed", created_at=START))
    sign_up(client, "attente@exemple.fr")
    clock.now = START + timedelta(hours=2)
    pages = {}
    for address in ("nouveau@exemple.fr", "attente@exemple.fr", "deja@exemple.fr"):
        answer = sign_up(client, address)
        assert answer.status_code == 200
        pages[address] = answer.text.replace(address, "ADDRESS")
    assert len(set(pages.values())) == 1
    assert mails_to(smtp_server, "deja@exemple.fr") == 0  # a subscriber gets nothing
    with session_scope(sqlite_engine) as session:
        known = session.exec(select(Subscriber).where(Subscriber.email == "deja@exemple.fr"))
        assert known.one().topics == []  # and nobody changed their choices


class StallingSMTP:
    """A loopback "mail server" that accepts connections and says nothing for a while."""

    def __init__(self, stall: float) -> None:
        self.stall = stall
        self.connections = 0
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen()
        self._sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self._sock.getsockname()[1]}?timeout=10"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            self.connections += 1
            self._stop.wait(self.stall)
            conn.close()

    def __enter__(self) -> StallingSMTP:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self._sock.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_confirmation_mail_leaves_after_the_answer_so_timing_tells_nothing(
    settings: Settings, sqlite_engine: Engine
) -> None:
    with session_scope(sqlite_engine) as session:
        session.add(Subscriber(email="deja@exemple.fr", status="confirmed", created_at=START))
    with StallingSMTP(stall=2.0) as smtp:
        app = create_app(settings.model_copy(update={"mail_url": smtp.url}), clock=lambda: START)
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        try:
            deadline = time.monotonic() + 20
            while not server.started and time.monotonic() < deadline:
                time.sleep(0.05)
            timings: list[tuple[str, float]] = []
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
                for address in ("nouveau@exemple.fr", "nouveau@exemple.fr", "deja@exemple.fr"):
                    began = time.monotonic()
                    answer = sign_up(http, address)
                    timings.append((address, time.monotonic() - began))
                    assert answer.status_code == 200
            time.sleep(0.3)
            assert smtp.connections == 1  # the new address's mail was attempted, once
        finally:
            server.should_exit = True
            thread.join(15)
    assert max(t for _a, t in timings) < 1.0, timings  # none waited for the 2 s SMTP stall
