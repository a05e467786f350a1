"""Worker processes for the scale tests and measurements, started as real child processes.

python -m tests.scale.workers crawl QUEUE IDLE_SECONDS    (settings from the environment)
python -m tests.scale.workers send WEEK NOW_ISO           (settings from the environment)

Each prints one JSON line with what it did and how long it took.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from aggregator.db import make_engine
from aggregator.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]


def crawl(queue: str, idle: float) -> dict[str, float]:
    from crawlers.queue import run_worker

    started = time.perf_counter()
    taken = run_worker(load_settings(), idle_timeout=idle, queue=queue)
    return {"sources": taken, "seconds": time.perf_counter() - started}


def send(week: str, now: str) -> dict[str, float]:
    from newsletter.send import send_digest

    settings = load_settings()
    engine = make_engine(settings.db_url)
    started = time.perf_counter()
    report = send_digest(engine, settings, week=week, now=datetime.fromisoformat(now), worker=True)
    engine.dispose()
    return {
        "sent": report.sent,
        "failed": report.failed,
        "pending": report.pending,
        "seconds": time.perf_counter() - started,
    }


def start(settings: Settings, *args: str) -> subprocess.Popen[str]:
    """Start ``python -m tests.scale.workers ARGS`` with ``settings`` in its environment."""
    env = {**os.environ, **settings.to_env()}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.scale.workers", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def results(children: list[subprocess.Popen[str]], timeout: float) -> list[dict[str, float]]:
    """Wait for the children; their JSON summaries (an AssertionError when one failed)."""
    out = []
    deadline = time.monotonic() + timeout
    for child in children:
        try:
            stdout, stderr = child.communicate(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            for other in children:
                other.kill()
            raise
        assert child.returncode == 0, stderr[-3000:]
        out.append(json.loads(stdout.strip().splitlines()[-1]))
    return out


def main(argv: list[str]) -> int:
    if argv[0] == "crawl":
        result = crawl(argv[1], float(argv[2]))
    elif argv[0] == "send":
        result = send(argv[1], argv[2])
    else:
        raise SystemExit(f"unknown worker {argv[0]!r}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
