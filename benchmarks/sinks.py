"""Loopback servers the benchmarks run in processes of their own (127.0.0.1 only).

* an SMTP sink (aiosmtpd) that accepts and counts every message, parsing nothing, so the
  sender is measured rather than the receiver;
* the web app under uvicorn, with a fixed clock.

Each runs in a ``spawn``-ed process so it does not share the measured process's GIL.
"""

from __future__ import annotations

import multiprocessing as mp
import socket
import sys
import time
from datetime import datetime
from typing import Any


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f} s")


class _Counter:
    def __init__(self, count: Any) -> None:
        self.count = count

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.count.get_lock():
            self.count.value += 1
        return "250 OK"


def _smtp_main(port: int, count: Any, stop: Any) -> None:
    from aiosmtpd.controller import Controller

    controller = Controller(_Counter(count), hostname="127.0.0.1", port=port)
    controller.start()
    stop.wait()
    controller.stop()


class SMTPSink:
    """``with SMTPSink() as sink: ... sink.url, sink.received``"""

    def __init__(self) -> None:
        ctx = mp.get_context("spawn")
        self.port = free_port()
        self._count = ctx.Value("i", 0)
        self._stop = ctx.Event()
        self._process = ctx.Process(target=_smtp_main, args=(self.port, self._count, self._stop))

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def received(self) -> int:
        return int(self._count.value)

    def __enter__(self) -> SMTPSink:
        self._process.start()
        wait_for_port(self.port)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.kill()


def bench_app() -> Any:
    """The app for a benchmark worker process: settings and fixed clock from ``BENCH_*``."""
    import os

    from aggregator.settings import load_settings
    from web.app import create_app

    settings = load_settings(data_dir=os.environ["BENCH_DATA_DIR"],
                             database_url=os.environ["BENCH_DB_URL"], secret_key="bench",
                             base_url=f"http://127.0.0.1:{os.environ['BENCH_PORT']}")
    fixed = datetime.fromisoformat(os.environ["BENCH_NOW"])
    return create_app(settings, clock=lambda: fixed)


def _web_main(db_url: str, data_dir: str, port: int, now: str, workers: int = 1) -> None:
    import os

    import uvicorn

    os.environ.update(BENCH_DB_URL=db_url, BENCH_DATA_DIR=data_dir, BENCH_PORT=str(port),
                      BENCH_NOW=now)
    if workers <= 1:
        uvicorn.run(bench_app(), host="127.0.0.1", port=port, log_level="warning", access_log=False)
    else:  # as `techagenda serve` does: one process per worker, each building the app
        # uvicorn hands its stdin's fd to each worker; a spawned process's stdin is not fd 0
        # (and is not inherited), so put /dev/null on fd 0 first
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        sys.stdin = os.fdopen(0)
        uvicorn.run("benchmarks.sinks:bench_app", factory=True, workers=workers, host="127.0.0.1",
                    port=port, log_level="warning", access_log=False)


class WebServer:
    """The app under uvicorn in its own process: ``with WebServer(...) as web: web.url``."""

    def __init__(self, db_url: str, data_dir: str, now: datetime, workers: int = 1) -> None:
        ctx = mp.get_context("spawn")
        self.port = free_port()
        self._process = ctx.Process(target=_web_main,
                                    args=(db_url, data_dir, self.port, now.isoformat(), workers))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        """The server process (uvicorn's supervisor; its workers are its children)."""
        return int(self._process.pid or 0)

    def __enter__(self) -> WebServer:
        self._process.start()
        wait_for_port(self.port, timeout=60)
        return self

    def __exit__(self, *exc: object) -> None:
        self._process.terminate()  # uvicorn's supervisor stops its workers on SIGTERM
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.kill()
