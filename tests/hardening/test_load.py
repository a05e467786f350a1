"""Twenty clients on ``/`` and ``/api/events`` against a real uvicorn on 127.0.0.1 while a
crawl and a digest send run: no error response, no lost delivery.

30 seconds of load; ``QUICK_LOAD=1`` makes it 10.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from aggregator.models import Event
from crawlers.run import run_crawl
from newsletter.send import send_digest
from tests.hardening.helpers import (
    add_source,
    big_calendar,
    count,
    hardening_settings,
    python_child,
)
from tests.newsletter.conftest import NOW, WEEK, add_subscriber, seed_week
from tests.support.httpserver import LoopbackHTTPServer
from tests.support.smtpserver import LoopbackSMTPServer

CLIENTS = 20
SECONDS = 10.0 if os.environ.get("QUICK_LOAD") == "1" else 30.0
READERS = [f"abonne{i:03d}@exemple.fr" for i in range(40)]
FEED_EVENTS = 150


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_up(base: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/api/events", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("the web server did not come up")


@pytest.mark.slow
def test_twenty_clients_during_a_crawl_and_a_send_get_no_error_and_no_delivery_is_lost(
    tmp_path: Path,
    sqlite_engine: Engine,
    sqlite_url: str,
    http_server: LoopbackHTTPServer,
    smtp_server: LoopbackSMTPServer,
) -> None:
    with Session(sqlite_engine) as session:
        seed_week(session)
        for address in READERS:
            add_subscriber(session, address)
        session.commit()
    before = count(sqlite_engine, Event)
    feed = http_server.add(
        "/agenda.ics", big_calendar(FEED_EVENTS), headers={"Content-Type": "text/calendar"}
    )
    add_source(sqlite_engine, feed)
    settings = hardening_settings(
        tmp_path, sqlite_url, mail_url=smtp_server.url, mail_rate_per_second=8.0
    )
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = python_child("tests.hardening.serve_child", sqlite_url, str(tmp_path), str(port))
    statuses: Counter[int] = Counter()
    errors: list[str] = []
    lock = threading.Lock()
    try:
        _wait_up(base, time.monotonic() + 30)
        stop = time.monotonic() + SECONDS

        def client(n: int) -> None:
            paths = ["/", "/api/events", "/api/events?topic=ia-data&limit=20", "/?q=python"]
            with httpx.Client(base_url=base, timeout=15) as http:
                i = n
                while time.monotonic() < stop:
                    try:
                        code = http.get(paths[i % len(paths)]).status_code
                    except httpx.HTTPError as exc:
                        with lock:
                            errors.append(repr(exc))
                        code = 0
                    with lock:
                        statuses[code] += 1
                    i += 1

        results: dict[str, object] = {}

        def crawl() -> None:
            time.sleep(0.5)
            results["crawl"] = run_crawl(settings, timeout=SECONDS + 60)

        def send() -> None:
            time.sleep(1.0)
            results["send"] = send_digest(sqlite_engine, settings, week=WEEK, now=NOW)

        threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
        threads += [threading.Thread(target=crawl), threading.Thread(target=send)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=SECONDS + 90)
        assert not any(t.is_alive() for t in threads)
    finally:
        server.terminate()
        server.wait(timeout=15)

    assert errors == []
    assert set(statuses) == {200}, statuses
    assert sum(statuses.values()) > CLIENTS * SECONDS  # the server kept answering
    crawl_run = results["crawl"]
    assert getattr(crawl_run, "status", None) == "done", getattr(crawl_run, "error", None)
    assert count(sqlite_engine, Event) == before + FEED_EVENTS
    report = results["send"]
    assert getattr(report, "sent", 0) == len(READERS) and getattr(report, "pending", 1) == 0
    time.sleep(0.05)
    assert sorted(smtp_server.recipients()) == READERS
