"""``techagenda digest send`` says so, and exits non-zero, when the digest did not all go."""

from __future__ import annotations

import socket
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from aggregator import locks
from aggregator.db import make_engine, upgrade
from aggregator.models import Delivery, DeliveryStatus, utcnow
from cli import main
from tests.newsletter.conftest import WEEK, add_subscriber, seed_week
from tests.support.smtpserver import LoopbackSMTPServer


def _closed_port() -> int:
    """A loopback port nothing listens on (bound once, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Engine:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("SECRET_KEY", "cli-secret")
    for name in ("REGION", "TIMEZONE", "TECHAGENDA_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    engine = make_engine(url)
    upgrade(engine)
    with Session(engine) as s:
        seed_week(s)
        add_subscriber(s, "claire@exemple.fr")
        s.commit()
    return engine


def test_digest_send_exits_non_zero_and_says_why_when_smtp_is_down(
    store: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MAIL_URL", f"smtp://127.0.0.1:{_closed_port()}?timeout=2")
    assert main(["digest", "send", "--week", WEEK]) == 7
    err = capsys.readouterr().err
    assert "1 deliveries still pending" in err and "cannot connect" in err
    with Session(store) as s:
        assert s.exec(select(Delivery.status)).all() == [DeliveryStatus.pending]


def test_digest_send_exits_zero_once_everything_went(
    store: Engine,
    monkeypatch: pytest.MonkeyPatch,
    smtp_server: LoopbackSMTPServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MAIL_URL", smtp_server.url)
    assert main(["digest", "send", "--week", WEEK]) == 0
    assert "1 sent" in capsys.readouterr().out
    assert smtp_server.recipients() == ["claire@exemple.fr"]


def test_digest_send_while_another_send_runs_sends_nothing_and_says_so(
    store: Engine,
    monkeypatch: pytest.MonkeyPatch,
    smtp_server: LoopbackSMTPServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MAIL_URL", smtp_server.url)
    name = locks.digest_lock_name("aix-marseille", WEEK)
    other = locks.new_holder_id()  # alive: this very process
    assert locks.acquire_lease(store, name, other, ttl=timedelta(hours=1), now=utcnow())
    assert main(["digest", "send", "--week", WEEK]) == 1
    assert f"already being sent by {other}" in capsys.readouterr().err
    assert smtp_server.messages == []
