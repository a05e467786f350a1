"""`techagenda serve --workers 2`: several uvicorn processes serve the same settings."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_with_two_workers_answers_from_the_configured_database(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "DATA_DIR": str(tmp_path / "var"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'served.db'}",
        "SECRET_KEY": "test-secret-key",
        "PYTHONPATH": str(Path(__file__).parent.parent.parent),
    }
    child = subprocess.Popen(
        [sys.executable, "-m", "cli", "serve", "--port", str(port), "--workers", "2"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        body = ""
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/events", timeout=5) as r:
                    body = r.read().decode()
                    break
            except OSError:
                time.sleep(0.5)
        page = json.loads(body)
        assert (page["items"], page["offset"], page["next"]) == ([], 0, None)  # an empty agenda
        assert (tmp_path / "served.db").is_file()  # the workers used the configured database
    finally:
        os.killpg(child.pid, 15)
        child.wait(30)
