"""A long-lived crawler process: Scrapy starts once, each crawl is one message to it.

:func:`crawlers.run.run_crawl` starts a Python process per crawl, which pays the imports,
Scrapy's start and the reactor each time (about two seconds on a small machine, more than a
re-crawl of unchanged sources itself). The scheduler instead keeps one
:class:`ResidentCrawler`: a child process (``python -m crawlers.resident``) that keeps its
Twisted reactor running and crawls what it is sent, one crawl at a time, with
``CrawlerRunner``. It is called exactly like ``run_crawl`` (it is a
:class:`aggregator.service.RunCrawl`), so leases, health and records are unchanged.

The protocol is one JSON line each way over the child's stdin and a private copy of its
stdout (the child's own stdout and stderr go to its log file): the parent sends
``{"run_id", "now", "source_id", "source_ids", "queue", "env"}`` (``env`` rebuilds the
caller's :class:`~aggregator.settings.Settings`); the child answers ``{"run_id", "error"}``
when the crawl has ended. The run's row, time limit and summary are the parent's, as with
``run_crawl``. A crawl that overruns its time limit kills the child (and its process group);
the next crawl starts a new one. The child dies with its parent (``PR_SET_PDEATHSIG`` and a
watchdog), and is replaced after ``max_runs`` crawls so that memory stays bounded.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import selectors
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from aggregator.db import make_engine
from aggregator.models import CrawlRun, utcnow
from aggregator.processes import PRCTL, die_with_parent, watch_parent
from aggregator.settings import Settings
from crawlers.queue_keys import QUEUE_KEY
from crawlers.run import finish_run, kill_group, run_crawl, set_pid, start_run

log = logging.getLogger(__name__)
MAX_RUNS = 100
READY = "ready"


class ResidentCrawler:
    """One crawler process kept between crawls; call it as ``run_crawl``."""

    def __init__(self, settings: Settings, *, max_runs: int = MAX_RUNS) -> None:
        self.settings = settings
        self.max_runs = max_runs
        self.started = 0  # how many processes were started (a restart counts)
        self._child: subprocess.Popen[bytes] | None = None
        self._runs = 0
        self._lock = threading.Lock()

    @property
    def pid(self) -> int | None:
        """The crawler process's pid while it runs."""
        child = self._child
        return child.pid if child is not None and child.poll() is None else None

    def start(self, *, timeout: float = 120.0) -> None:
        """Start the crawler process when none runs, and wait until it is ready."""
        with self._lock:
            self._ensure(timeout)

    def close(self) -> None:
        """Stop the crawler process (it finishes nothing: call between crawls)."""
        with self._lock:
            self._stop()

    def __enter__(self) -> ResidentCrawler:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __call__(
        self,
        settings: Settings,
        *,
        source_id: int | None = None,
        run_id: int | None = None,
        requested_by: str = "scheduler",
        timeout: float | None = None,
        now: datetime | None = None,
        queue: str | None = None,
        source_ids: Sequence[int] | None = None,
    ) -> CrawlRun:
        """Crawl as :func:`crawlers.run.run_crawl` does, in the resident process (in a
        process of its own when another crawl is using the resident one)."""
        engine = make_engine(settings.db_url)
        try:
            now = now or utcnow()
            run = start_run(
                engine, source_id=source_id, run_id=run_id, requested_by=requested_by, now=now
            )
            assert run.id is not None
            limit = timeout if timeout is not None else float(settings.crawl_timeout)
            message = {
                "run_id": run.id,
                "now": now.isoformat(),
                "source_id": run.source_id,
                "source_ids": list(source_ids) if source_ids is not None else None,
                "queue": queue or QUEUE_KEY,
                "env": settings.to_env(),
            }
            if self._lock.acquire(blocking=False):
                try:
                    error = self._crawl(engine, run.id, message, limit)
                finally:
                    self._lock.release()
                return finish_run(engine, run.id, error)
            # another crawl holds the process: this one runs in a process of its own
            return run_crawl(
                settings, run_id=run.id, requested_by=requested_by, timeout=limit,
                now=now, queue=queue, source_ids=source_ids,
            )
        finally:
            engine.dispose()

    # ------------------------------------------------------------ the parent's side

    def _crawl(self, engine: Any, run_id: int, message: dict[str, Any], limit: float) -> str | None:
        started = time.monotonic()
        try:
            child = self._ensure(limit)
        except RuntimeError as exc:
            return str(exc)
        set_pid(engine, run_id, child.pid)
        assert child.stdin is not None
        try:
            child.stdin.write(json.dumps(message).encode("utf-8") + b"\n")
            child.stdin.flush()
        except OSError as exc:
            self._stop()
            return f"the crawler process could not be reached: {exc}"
        left = max(1.0, limit - (time.monotonic() - started))
        line = self._read_line(child, left)
        self._runs += 1
        if line is None:
            if child.poll() is None:
                self._stop()
                return f"the crawl took longer than {limit:g} seconds and was stopped"
            code = child.returncode
            self._stop()
            return f"the crawler process failed (exit {code}): see {self._log_path()}"
        answer = json.loads(line)
        if self._runs >= self.max_runs:
            self._stop()
        error = answer.get("error")
        return str(error) if error else None

    def _ensure(self, timeout: float) -> subprocess.Popen[bytes]:
        child = self._child
        if child is not None and child.poll() is None:
            return child
        self._stop()
        log_path = self._log_path()
        log_path.parent.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "crawlers.resident", "--parent-pid", str(os.getpid())]
        with log_path.open("ab") as log_file:
            child = subprocess.Popen(
                command,
                env={**os.environ, **self.settings.to_env()},
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log_file,
                start_new_session=(os.name == "posix"),
                preexec_fn=die_with_parent if PRCTL is not None else None,
            )
        self._child = child
        self._runs = 0
        self.started += 1
        if self._read_line(child, timeout) != READY:
            self._stop()
            raise RuntimeError(f"the crawler process did not start: see {log_path}")
        return child

    def _read_line(self, child: subprocess.Popen[bytes], timeout: float) -> str | None:
        """One line from the child within ``timeout`` seconds; None on timeout or exit."""
        assert child.stdout is not None
        stream = child.stdout
        with selectors.DefaultSelector() as selector:
            selector.register(stream, selectors.EVENT_READ)
            if not selector.select(timeout):
                return None
        line = stream.readline()
        return line.decode("utf-8").strip() if line else None

    def _stop(self) -> None:
        child, self._child = self._child, None
        if child is None:
            return
        if child.stdin is not None:
            with contextlib.suppress(OSError):
                child.stdin.close()
        if child.poll() is None:
            kill_group(child)
        else:
            child.wait()
        if child.stdout is not None:
            child.stdout.close()

    def _log_path(self) -> Path:
        return Path(self.settings.data_dir) / "logs" / "crawler-resident.log"


# ---------------------------------------------------------------- the child's side


def _settings_from(env: dict[str, str]) -> Settings:
    values: dict[str, Any] = {name.lower(): value for name, value in env.items()}
    return Settings(**values)


def serve(answers: IO[str], requests: IO[str]) -> None:
    """Run the reactor; crawl each request line read from ``requests``, answer on
    ``answers``; stop when ``requests`` ends."""
    from scrapy.utils.log import configure_logging
    from scrapy.utils.reactor import install_reactor

    install_reactor("twisted.internet.asyncioreactor.AsyncioSelectorReactor")
    from scrapy.crawler import CrawlerRunner
    from twisted.internet import reactor as installed

    reactor: Any = installed

    from crawlers.run import prepare_crawl

    configure_logging({"LOG_LEVEL": "INFO"})

    def answer(run_id: int, error: str | None) -> None:
        answers.write(json.dumps({"run_id": run_id, "error": error}) + "\n")
        answers.flush()

    def crawl(message: dict[str, Any]) -> None:
        run_id = int(message["run_id"])
        try:
            settings = _settings_from(message["env"])
            values, groups = prepare_crawl(
                settings,
                run_id=run_id,
                now=datetime.fromisoformat(message["now"]),
                source_id=message.get("source_id"),
                queue=message.get("queue") or QUEUE_KEY,
                source_ids=message.get("source_ids"),
            )
        except Exception as exc:  # reported to the parent; the process goes on
            log.exception("crawl %s could not start", run_id)
            answer(run_id, f"the crawl could not start: {exc}")
            return
        if not groups:
            answer(run_id, None)
            return
        runner = CrawlerRunner(values)
        for spider_cls, jobs in groups.items():
            runner.crawl(spider_cls, jobs=jobs, max_events=settings.max_events_per_source)

        def done(result: Any) -> None:
            failure = getattr(result, "getErrorMessage", None)
            answer(run_id, f"the crawl failed: {failure()}" if failure else None)

        runner.join().addBoth(done)

    def read() -> None:
        for line in requests:
            if line.strip():
                reactor.callFromThread(crawl, json.loads(line))
        reactor.callFromThread(reactor.stop)

    threading.Thread(target=read, name="crawl-requests", daemon=True).start()
    answers.write(READY + "\n")
    answers.flush()
    reactor.run(installSignalHandlers=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crawlers.resident", description=__doc__)
    parser.add_argument("--parent-pid", type=int, default=None, help="Exit when it is gone")
    args = parser.parse_args(argv)
    if args.parent_pid is not None:
        watch_parent(args.parent_pid)
    # The protocol keeps the real stdout; anything a library prints goes to the log.
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    serve(answers, sys.stdin)
    return 0


if __name__ == "__main__":
    sys.exit(main())
