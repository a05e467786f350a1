"""A child process that dies with its parent: on Linux the kernel sends it SIGKILL when
the thread that started it ends (``prctl(PR_SET_PDEATHSIG)``), and everywhere it watches its
parent's pid. Used by the crawl children and the digest's helper sending processes."""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
from typing import Any

PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _load_prctl() -> Any:
    """libc's prctl, resolved in the parent: the forked child must not dlopen (loader locks
    another thread may have held at fork time)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


PRCTL = _load_prctl()


def die_with_parent() -> None:
    """In the forked child, before exec: ask the kernel for SIGKILL when the parent dies.

    The kernel's "parent" is the thread that forked: the scheduler's crawl threads live as
    long as the scheduler, the CLI's and the worker's is the main thread.
    """
    if PRCTL is not None:
        PRCTL(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)


def watch_parent(parent_pid: int, *, every: float = 0.5) -> threading.Thread:
    """In the child: exit at once (code 70) when the parent process is gone."""

    def watch() -> None:
        while True:
            if os.getppid() != parent_pid or not _alive(parent_pid):
                os._exit(70)
            time.sleep(every)

    thread = threading.Thread(target=watch, name="parent-watchdog", daemon=True)
    thread.start()
    return thread


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
