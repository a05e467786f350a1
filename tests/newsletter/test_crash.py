"""Killing the sender with SIGKILL at random moments, then resuming, loses and repeats nothing."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlmodel import Session

from aggregator.db import make_engine, upgrade
from tests.newsletter.conftest import add_subscriber, seed_week
from tests.support.smtpserver import LoopbackSMTPServer

ROOT = Path(__file__).resolve().parents[2]
READERS = 24


def start_child(db_url: str, smtp_url: str, data_dir: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.newsletter.sender_child", db_url, smtp_url, str(data_dir)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def kill_mid_batch(
    proc: subprocess.Popen[bytes], server: LoopbackSMTPServer, rng: random.Random
) -> bool:
    """SIGKILL the sender a random moment after a random number of further messages."""
    target = len(server.messages) + rng.randint(1, 6)
    deadline = time.monotonic() + 30
    while len(server.messages) < target and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.001)
    time.sleep(rng.uniform(0, 0.015))  # anywhere in the claim / SMTP / ledger-write cycle
    if proc.poll() is not None:
        return False
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return True


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sigkill_at_random_points_then_resume_sends_each_reader_exactly_once(
    tmp_path: Path, smtp_server: LoopbackSMTPServer, seed: int
) -> None:
    db_url = f"sqlite:///{tmp_path / 'crash.db'}"
    engine = make_engine(db_url)
    upgrade(engine)
    readers = [f"reader{i:02d}@example.org" for i in range(READERS)]
    with Session(engine) as s:
        seed_week(s)
        for email in readers:
            add_subscriber(s, email)
        add_subscriber(s, "pending@example.org", status="pending")
        add_subscriber(s, "left@example.org", status="unsubscribed")
        s.commit()
    engine.dispose()
    rng = random.Random(seed)
    kills = 0
    for _ in range(2):  # runs killed somewhere in the middle of the batch
        kills += kill_mid_batch(
            start_child(db_url, smtp_server.url, tmp_path / "var"), smtp_server, rng
        )
    assert 0 < len(smtp_server.messages) < READERS + kills
    assert start_child(db_url, smtp_server.url, tmp_path / "var").wait(timeout=60) == 0
    time.sleep(0.05)
    by_message_id = Counter(str(m["Message-ID"]).strip() for m in smtp_server.messages)
    recipients = {str(m["Message-ID"]).strip(): m["To"] for m in smtp_server.messages}
    # every confirmed reader got exactly one distinct message, nobody else got any
    assert sorted(recipients.values()) == readers
    # a repeat can only be the one message in flight at each kill, with the same Message-ID
    repeats = sum(n - 1 for n in by_message_id.values())
    assert repeats <= kills
