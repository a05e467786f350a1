"""`techagenda serve` starts one worker per core it may use unless told otherwise."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from web.app import default_workers

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def started_workers(tmp_path: Path, expected: int, **env: str) -> int:
    """Serve until ``/api/events`` answers and ``expected`` workers logged their start (or
    60 s passed), then stop; how many worker processes uvicorn logged."""
    port = free_port()
    environment = {
        **{k: v for k, v in os.environ.items() if k != "WEB_WORKERS"},
        "DATA_DIR": str(tmp_path / "var"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'served.db'}",
        "SECRET_KEY": "test-secret-key",
        "PYTHONPATH": str(Path(__file__).parent.parent.parent),
        **env,
    }
    child = subprocess.Popen(
        [sys.executable, "-m", "cli", "serve", "--port", str(port)],
        cwd=tmp_path, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True, start_new_session=True,
    )
    lines: list[str] = []
    stream = child.stderr
    assert stream is not None
    reader = threading.Thread(target=lambda: lines.extend(iter(stream.readline, "")))
    reader.start()

    def started() -> int:
        return sum("Started server process" in line for line in list(lines))

    try:
        deadline = time.monotonic() + 60
        answered = False
        while time.monotonic() < deadline and not (answered and started() >= expected):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/events", timeout=5):
                    answered = True
            except OSError:
                pass
            time.sleep(0.5)
        time.sleep(1)  # one more would show here
    finally:
        os.killpg(child.pid, 15)
        child.wait(30)
        reader.join(10)
    assert answered
    return started()


def test_serve_defaults_to_one_worker_per_usable_core_and_takes_web_workers(
    tmp_path: Path,
) -> None:
    assert default_workers() == len(os.sched_getaffinity(0))
    assert started_workers(tmp_path, default_workers()) == default_workers()
    assert started_workers(tmp_path, 1, WEB_WORKERS="1") == 1
