"""Helper sending processes for one digest (``SEND_PROCESSES``).

Composing a copy is CPU work under one interpreter lock, so one process sends about as
fast as one core composes. :func:`start` runs the send function in ``count`` more
processes, each as a ``worker=True`` run of the same digest on its own engine (its own
holder id, so its claims are its own), claiming deliveries alongside the run that holds
the digest's lease; :meth:`Helpers.join` waits for them and adds what they sent to that
run's report. The ledger keeps them apart as it keeps any two workers apart: one
conditional claim per delivery, nothing sent twice.

A helper is forked when the calling process has no other thread (the CLI, a benchmark:
it starts at once, with everything already imported), otherwise spawned (a web server's
or the scheduler's process: forking beside other threads is not safe). It dies with its
parent: on Linux the kernel kills it when the thread that started it ends
(``prctl(PR_SET_PDEATHSIG)``), and everywhere it watches its parent's pid. A helper that
dies leaves its claimed deliveries in ``sending`` under its own (now dead) holder id: the
stale-claim rule (:func:`newsletter.ledger.release_stale`) hands them back, and the next
run sends them with the same Message-ID.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any

from sqlalchemy.engine import Engine

from aggregator.db import make_engine
from aggregator.processes import die_with_parent, watch_parent
from aggregator.settings import Settings

ADDED = ("sent", "failed", "skipped_at_claim")  # a helper's counts the lead run adds up


def _context() -> Any:  # a ForkContext or a SpawnContext (BaseContext has no Process)
    if "fork" in mp.get_all_start_methods() and threading.active_count() == 1:
        return mp.get_context("fork")
    return mp.get_context("spawn")


def start(
    target: Callable[..., Any],
    engine: Engine,
    settings: Settings,
    count: int,
    kwargs: dict[str, Any],
) -> Helpers:
    """Start ``count`` processes each calling ``target(engine, settings, **kwargs)`` on an
    engine of its own (the same database as ``engine``); ``settings`` are those of one
    helper (its share of the mail rate, one process)."""
    url = engine.url.render_as_string(hide_password=False)
    ctx = _context()
    helpers = Helpers([])
    try:
        for i in range(count):
            out, into = ctx.Pipe(duplex=False)
            process = ctx.Process(
                target=_helper, args=(target, url, settings, kwargs, os.getpid(), into),
                name=f"digest-sender-{i + 1}", daemon=True,
            )
            helpers.started.append((process, out))
            process.start()
            into.close()
    except BaseException:
        helpers.stop()  # none left running on their own
        raise
    return helpers


class Helpers:
    """The helper processes one run started."""

    def __init__(self, started: list[tuple[BaseProcess, Connection]]) -> None:
        self.started = started

    def join(self, report: Any, *, tick: Callable[[], None] | None = None,
             every: float = 0.5) -> int:
        """Wait for every helper (calling ``tick`` at least every ``every`` seconds, to
        renew the lease), add their counts to ``report``; how many did not finish."""
        while alive := [p.sentinel for p, _out in self.started if p.exitcode is None]:
            wait(alive, timeout=every)
            if tick is not None:
                tick()
        lost = 0
        for process, out in self.started:
            process.join()
            try:  # a helper that died sent nothing: the pipe is only closed
                result = out.recv() if out.poll() else None
            except EOFError:
                result = None
            out.close()
            if result is None:
                lost += 1
                report.last_error = (f"sending process {process.pid} ended with exit code "
                                     f"{process.exitcode}; its claimed deliveries go out again")
                continue
            for name in ADDED:
                setattr(report, name, getattr(report, name) + result[name])
            report.skipped += result["skipped_at_claim"]
            report.last_error = result["last_error"] or report.last_error
        return lost

    def stop(self) -> None:
        """Kill the helpers still running (the lead run is stopping on an error)."""
        for process, _out in self.started:
            if process.pid is not None and process.exitcode is None:
                process.kill()
        for process, out in self.started:
            if process.pid is not None:
                process.join()
            out.close()


def _helper(target: Callable[..., Any], url: str, settings: Settings, kwargs: dict[str, Any],
            parent: int, into: Connection) -> None:
    """In the helper: die with the parent, send, hand the counts back."""
    _die_with(parent)
    engine = make_engine(url)
    try:
        report = target(engine, settings, **kwargs)
    finally:
        engine.dispose()
    into.send({name: getattr(report, name) for name in (*ADDED, "last_error")})
    into.close()


def _die_with(parent: int) -> None:
    die_with_parent()
    watch_parent(parent)
