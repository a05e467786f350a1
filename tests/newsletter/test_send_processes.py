"""SEND_PROCESSES: the run holding the digest's lease sends with helper processes
(``worker=True`` runs of the same digest) on SQLite and PostgreSQL, to the loopback
aiosmtpd server: each reader gets one message, the counts add up, and a helper killed
mid-send leaves its claimed copies to the next run, which sends them once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SMTPSession
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from aggregator import locks
from aggregator.errors import ConfigError
from aggregator.models import Delivery, DeliveryStatus
from aggregator.settings import Settings, load_settings
from cli import main
from newsletter import fanout
from newsletter.send import send_digest
from tests.newsletter.conftest import NOW, WEEK, add_subscriber, seed_week
from tests.support.smtpserver import LoopbackSMTPServer, _Handler

ROOT = Path(__file__).resolve().parents[2]
LEAD = """
import sys
from aggregator.db import make_engine
from aggregator.settings import load_settings
from newsletter.send import send_digest
from tests.newsletter.conftest import NOW, WEEK
db, smtp, data = sys.argv[1:4]
conf = load_settings(data_dir=data, database_url=db, mail_url=smtp, secret_key="test-secret-key",
                     smtp_connections=2, send_processes=2)
send_digest(make_engine(db), conf, week=WEEK, now=NOW)
"""
READERS = [f"lecteur{i:03d}@example.org" for i in range(60)]
WAIT = 120.0  # a safety bound only: every wait below ends on an event, not on time


def _seed(engine: Engine, readers: list[str] = READERS) -> None:
    with Session(engine) as s:
        seed_week(s)
        for address in readers:
            add_subscriber(s, address)
        s.commit()


def _conf(settings: Settings, server: LoopbackSMTPServer, url: str) -> Settings:
    return settings.model_copy(update={"mail_url": server.url, "smtp_connections": 2,
                                       "send_processes": 2, "database_url": url})


def _holders(engine: Engine) -> dict[str, int]:
    """Claimer of each claimed (sending or sent) delivery -> its pid."""
    with Session(engine) as s:
        rows = s.exec(select(Delivery.claimed_by).where(col(Delivery.claimed_by).is_not(None))).all()
    return {str(by): int(str(by).split(":")[1]) for by in rows}


def _helper_pids(engine: Engine) -> set[int]:
    return {pid for pid in _holders(engine).values() if pid != os.getpid()}


class _Gate(_Handler):
    """Holds every MAIL command (before any message data moves) until :attr:`open`."""

    def __init__(self, owner: LoopbackSMTPServer) -> None:
        super().__init__(owner)
        self.open = threading.Event()

    async def handle_MAIL(self, server: SMTP, session: SMTPSession, envelope: Envelope,
                          address: str, mail_options: list[str]) -> str:
        while not self.open.is_set():
            await asyncio.sleep(0.005)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"


def _in_background(engine: Engine, act: Callable[[set[int]], None]) -> threading.Thread:
    """Once a helper has claimed deliveries (its mail held at MAIL), ``act`` on its pids."""

    def watch() -> None:
        deadline = time.monotonic() + WAIT  # no helper by then: the test fails on its own
        while not (pids := _helper_pids(engine)) and time.monotonic() < deadline:
            time.sleep(0.01)
        act(pids)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


@pytest.fixture(params=["spawn", "fork"])
def start_method(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Both ways a helper starts (fork: a caller without other threads, e.g. the CLI)."""
    import multiprocessing as mp

    monkeypatch.setattr(fanout, "_context", lambda: mp.get_context(request.param))
    yield request.param


def _statuses(engine: Engine) -> Counter[str]:
    with Session(engine) as s:
        return Counter(s.exec(select(Delivery.status)).all())


def test_two_processes_give_each_reader_one_message_and_the_counts_add_up(
    engine: Engine, db_url: str, settings: Settings, smtp_server: LoopbackSMTPServer,
    start_method: str,
) -> None:
    _seed(engine)
    gate = _Gate(smtp_server)
    smtp_server._controller.handler = gate
    watcher = _in_background(engine, lambda _pids: gate.open.set())
    report = send_digest(engine, _conf(settings, smtp_server, db_url), week=WEEK, now=NOW)
    watcher.join(WAIT)
    messages = smtp_server.wait_for_messages(len(READERS))
    counts = Counter(str(m["To"]) for m in messages)
    assert sorted(counts) == READERS and set(counts.values()) == {1}
    assert len({str(m["Message-ID"]) for m in messages}) == len(READERS)
    assert report.processes == 2
    assert (report.sent, report.failed, report.pending, report.in_flight) == (len(READERS), 0, 0, 0)
    assert _statuses(engine) == {DeliveryStatus.sent: len(READERS)}
    # the lead run and a helper process both sent some
    pids = set(_holders(engine).values())
    assert os.getpid() in pids and len(pids) == 2


def test_a_killed_helper_doubles_nothing_and_the_next_run_sends_the_rest(
    engine: Engine, db_url: str, settings: Settings, smtp_server: LoopbackSMTPServer,
) -> None:
    _seed(engine)
    gate = _Gate(smtp_server)
    smtp_server._controller.handler = gate

    def kill(pids: set[int]) -> None:
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        gate.open.set()  # the lead run's copies go on; the helper's never reached DATA

    watcher = _in_background(engine, kill)
    conf = _conf(settings, smtp_server, db_url)
    first = send_digest(engine, conf, week=WEEK, now=NOW)
    watcher.join(WAIT)
    assert first.pending > 0 and first.in_flight == 0
    assert first.sent + first.pending == len(READERS)
    assert first.last_error and "sending process" in first.last_error
    assert len(smtp_server.messages) == first.sent
    second = send_digest(engine, conf, week=WEEK, now=NOW)
    assert (second.sent, second.pending, second.in_flight) == (first.pending, 0, 0)
    messages = smtp_server.wait_for_messages(len(READERS))
    counts = Counter(str(m["To"]) for m in messages)
    assert sorted(counts) == READERS and set(counts.values()) == {1}
    assert _statuses(engine) == {DeliveryStatus.sent: len(READERS)}


def test_helpers_die_with_a_killed_lead_run_and_the_next_run_sends_each_reader_once(
    engine: Engine, db_url: str, settings: Settings, smtp_server: LoopbackSMTPServer,
    tmp_path: Path,
) -> None:
    _seed(engine)
    gate = _Gate(smtp_server)
    smtp_server._controller.handler = gate
    # a lead run in a process of its own, without other threads: its helper is forked
    lead = subprocess.Popen([sys.executable, "-c", LEAD, db_url, smtp_server.url,
                             str(tmp_path / "lead")], cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    deadline = time.monotonic() + WAIT
    ours = {os.getpid(), lead.pid}
    while not (helpers := set(_holders(engine).values()) - ours) and lead.poll() is None \
            and time.monotonic() < deadline:
        time.sleep(0.01)
    assert helpers and lead.poll() is None
    lead.send_signal(signal.SIGKILL)
    lead.wait()
    while not all(locks.process_gone(pid) for pid in helpers) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert all(locks.process_gone(pid) for pid in helpers)  # they died with it
    gate.open.set()
    assert smtp_server.messages == []  # every copy was held before its data
    report = send_digest(engine, settings.model_copy(update={
        "mail_url": smtp_server.url, "database_url": db_url}), week=WEEK, now=NOW)
    assert (report.sent, report.pending, report.in_flight) == (len(READERS), 0, 0)
    counts = Counter(str(m["To"]) for m in smtp_server.wait_for_messages(len(READERS)))
    assert sorted(counts) == READERS and set(counts.values()) == {1}
    assert _statuses(engine) == {DeliveryStatus.sent: len(READERS)}


def test_a_dry_run_and_a_worker_run_start_no_helper(
    sqlite_engine: Engine, sqlite_url: str, settings: Settings, smtp_server: LoopbackSMTPServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _seed(sqlite_engine, READERS[:5])
    started: list[int] = []
    monkeypatch.setattr(fanout, "start", lambda *a, **k: started.append(1))
    conf = _conf(settings, smtp_server, sqlite_url)
    dry = send_digest(sqlite_engine, conf, week=WEEK, now=NOW, dry_run=True)
    assert (dry.pending, dry.processes) == (5, 1)
    report = send_digest(sqlite_engine, conf, week=WEEK, now=NOW, worker=True)
    assert (report.sent, report.processes) == (5, 1)
    assert started == [] and len(smtp_server.messages) == 5


def test_the_mail_rate_is_shared_by_the_processes(
    sqlite_engine: Engine, sqlite_url: str, settings: Settings, smtp_server: LoopbackSMTPServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _seed(sqlite_engine, READERS[:3])
    seen: list[float] = []

    def start(target: object, engine: Engine, helper: Settings, count: int,
              kwargs: dict[str, object]) -> None:
        seen.extend([helper.mail_rate_per_second, helper.send_processes, count])

    monkeypatch.setattr(fanout, "start", start)
    conf = _conf(settings, smtp_server, sqlite_url).model_copy(
        update={"mail_rate_per_second": 30.0, "send_processes": 3})
    send_digest(sqlite_engine, conf, week=WEEK, now=NOW)
    assert seen == [10.0, 1, 2]


def test_send_processes_is_bounded(tmp_path: Path) -> None:
    assert load_settings(data_dir=f"{tmp_path}/a").send_processes == 1
    assert load_settings(data_dir=f"{tmp_path}/a", send_processes=8).send_processes == 8
    for wrong in (0, 9):
        with pytest.raises(ConfigError):
            load_settings(data_dir=f"{tmp_path}/b", send_processes=wrong)


def test_the_cli_sends_with_the_processes_the_setting_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, smtp_server: LoopbackSMTPServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from aggregator.db import make_engine, upgrade

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.chdir(tmp_path)
    for name, value in (("DATA_DIR", str(tmp_path / "var")), ("DATABASE_URL", url),
                        ("SECRET_KEY", "cli-secret"), ("MAIL_URL", smtp_server.url),
                        ("SEND_PROCESSES", "2")):
        monkeypatch.setenv(name, value)
    for name in ("REGION", "TIMEZONE", "TECHAGENDA_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    engine = make_engine(url)
    upgrade(engine)
    _seed(engine, READERS[:20])
    gate = _Gate(smtp_server)
    smtp_server._controller.handler = gate
    watcher = _in_background(engine, lambda _pids: gate.open.set())
    assert main(["digest", "send", "--week", WEEK]) == 0
    watcher.join(WAIT)
    out = capsys.readouterr().out
    assert "20 sent" in out and "2 sending processes" in out
    assert sorted(smtp_server.recipients()) == READERS[:20]
    assert len(set(_holders(engine).values())) == 2
    engine.dispose()
