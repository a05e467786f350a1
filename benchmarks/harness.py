"""Measuring one stage: a fresh child process, a wall-clock timer, peak memory, a row.

Each stage runs in its own ``spawn``-ed process so its peak resident memory
(``getrusage(RUSAGE_SELF).ru_maxrss``) is its own and a stage that crashes or hangs cannot
take the others with it. A stage function takes keyword parameters and returns a list of
rows (plain dicts); :class:`Clock` times the measured part and records the resident memory
just before it, so a row shows both the peak and the growth during the stage.
"""

from __future__ import annotations

import importlib
import multiprocessing as mp
import os
import resource
import signal
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

Row = dict[str, Any]


def rss_mb() -> float:
    """Current resident memory of this process (MB), from /proc (Linux)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return peak_mb()


def peak_mb() -> float:
    """Peak resident memory of this process so far (MB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class Clock:
    """``with Clock() as c: ...`` then ``c.row(stage, items, unit)``."""

    start: float = 0.0
    seconds: float = 0.0
    rss_before: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def __enter__(self) -> Clock:
        self.rss_before = rss_mb()
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start

    def row(self, stage: str, items: int, unit: str, *, size: int | str = "", note: str = "") -> Row:
        rate = items / self.seconds if self.seconds > 0 else 0.0
        return {
            "stage": stage,
            "size": size,
            "items": items,
            "unit": unit,
            "seconds": round(self.seconds, 3),
            "per_second": round(rate, 1),
            "peak_mb": round(peak_mb(), 1),
            "grew_mb": round(max(0.0, peak_mb() - self.rss_before), 1),
            "note": note,
            **self.extra,
        }


def skipped(stage: str, note: str, size: int | str = "") -> Row:
    """A row for a stage that could not run (module missing, no database...)."""
    return {"stage": stage, "size": size, "items": 0, "unit": "", "seconds": None,
            "per_second": None, "peak_mb": None, "grew_mb": None, "note": note}


def _child(target: str, params: dict[str, Any], queue: Any) -> None:
    module_name, _, func_name = target.partition(":")
    if hasattr(os, "setsid"):
        os.setsid()  # its own process group: a timeout ends the servers it started too
    try:
        module = importlib.import_module(module_name)
        rows = getattr(module, func_name)(**params)
        queue.put(("ok", rows))
    except ModuleNotFoundError as exc:
        queue.put(("missing", f"not available yet: {exc.name} is missing"))
    except ImportError as exc:
        queue.put(("missing", f"not available yet: {exc}"))
    except Exception as exc:
        queue.put(("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=6)}"))


def measure(stage: str, target: str, *, timeout: float, **params: Any) -> list[Row]:
    """Run ``module:function(**params)`` in a fresh process; rows, or one row saying why not."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    child = ctx.Process(target=_child, args=(target, params, queue), daemon=False)
    child.start()
    deadline = time.monotonic() + timeout
    outcome: tuple[str, Any] | None = None
    while outcome is None and time.monotonic() < deadline:
        try:
            outcome = queue.get(timeout=0.5)
        except Exception:  # queue.Empty
            if not child.is_alive() and queue.empty():
                break
    child.join(timeout=10 if outcome is not None else 0.1)
    if child.is_alive() or outcome is None:
        _kill_group(child)
    if outcome is None:
        if child.exitcode not in (0, None):
            return [skipped(stage, f"failed: the stage process died (exit {child.exitcode})")]
        return [skipped(stage, f"stopped: longer than the {timeout:.0f} s bound")]
    kind, value = outcome
    if kind == "ok":
        return list(value)
    if kind == "missing":
        return [skipped(stage, str(value))]
    first = str(value).splitlines()[0]
    print(str(value))
    return [skipped(stage, f"failed: {first}")]


def _kill_group(child: Any) -> None:
    """End the stage process and whatever it started (its own process group)."""
    pid = child.pid
    try:
        if hasattr(os, "killpg") and pid:
            os.killpg(pid, signal.SIGKILL)
        else:
            child.kill()
    except (ProcessLookupError, PermissionError):
        pass
    child.join(timeout=10)


def format_table(rows: list[Row]) -> str:
    """The rows as one aligned text table."""
    headers = ["stage", "size", "items", "unit", "seconds", "per_second", "peak_mb", "grew_mb", "note"]
    cells = [[_cell(row.get(h)) for h in headers] for row in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) if cells else len(h) for i, h in enumerate(headers)]
    widths[-1] = len(headers[-1])
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for c in cells:
        lines.append("  ".join(v.ljust(w) for v, w in zip(c, widths, strict=True)).rstrip())
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}" if value >= 100 else f"{value:.3g}"
    return str(value)
