"""The scheduler tests pass at any instant of the week: run them with the machine's clock
set (libfaketime, Debian package ``faketime``) to the hours that used to break them.

Monday 03:00 and 09:00 in Paris (before and after the digest's Monday 08:00), Sunday 23:59
(the last minute of an ISO week) and the two DST Sundays (2027-03-28, when 02:30 does not
exist in Paris, and 2027-10-31, when it happens twice). The runs go one after the other
(in parallel, the 2-second leases of the takeover tests lose their race on a busy machine),
on SQLite: the store is not what depends on the hour, and the PostgreSQL variants run in
the ordinary suite. About 50 seconds in all.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

ROOT = Path(__file__).resolve().parent.parent
SITE = Path(__file__).resolve().parent / "support" / "faketime_site"  # time.sleep shim
PARIS = ZoneInfo("Europe/Paris")
LIBFAKETIME = next(
    (
        path
        for path in (
            Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"),
            Path("/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1"),
            Path("/usr/lib/faketime/libfaketime.so.1"),
        )
        if path.exists()
    ),
    None,
)
# Local Paris wall times; zoneinfo resolves the DST gap and fold (fold=0: the first offset).
INSTANTS = {
    "monday-03h": datetime(2026, 12, 7, 3, 0, tzinfo=PARIS),
    "monday-09h": datetime(2026, 12, 7, 9, 0, tzinfo=PARIS),
    "sunday-23h59": datetime(2026, 12, 6, 23, 59, tzinfo=PARIS),
    "spring-forward": datetime(2027, 3, 28, 2, 30, tzinfo=PARIS),
    "fall-back": datetime(2027, 10, 31, 2, 30, tzinfo=PARIS),
}
SCHEDULER_TESTS = ["tests/test_scheduler.py"]
# The 5-second leader takeover runs on elapsed seconds, not on the hour: once is enough.
SELECT = {name: "not postgres" for name in INSTANTS} | {
    name: "not postgres and not takes_over" for name in list(INSTANTS)[1:]
}


def faketime_env(at: datetime) -> dict[str, str]:
    """An environment whose processes start their clock at ``at`` (and let it tick)."""
    if LIBFAKETIME is None:
        if os.environ.get("CI") == "true":
            pytest.fail("libfaketime is missing but CI=true: install the Debian package faketime")
        pytest.skip("libfaketime is not installed (Debian package faketime)")
    stamp = at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    path = os.pathsep.join(p for p in (str(SITE), os.environ.get("PYTHONPATH", "")) if p)
    return {
        **os.environ,
        "PYTHONPATH": path,
        "LD_PRELOAD": str(LIBFAKETIME),
        "FAKETIME": f"@{stamp}",
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",  # timeouts and sleeps keep real seconds
        "FAKETIME_DONT_RESET": "1",  # a child process goes on from its parent's fake time
        "TZ": "UTC",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def test_faketime_sets_the_clock_python_reads_and_sleeps_still_work() -> None:
    at = INSTANTS["monday-03h"]
    code = (
        "import threading, time; from datetime import UTC, datetime; time.sleep(0.05); "
        "threading.Event().wait(0.05); print(datetime.now(UTC).isoformat())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=faketime_env(at),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    seen = datetime.fromisoformat(out.strip())
    assert abs((seen - at).total_seconds()) < 20


@pytest.mark.slow
def test_the_scheduler_tests_pass_at_the_hours_that_used_to_break_them(tmp_path: Path) -> None:
    failures: list[str] = []
    for name, at in INSTANTS.items():
        command = [
            sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "0", "-q",
            "--timeout", "60", f"--basetemp={tmp_path / name}", "-k", SELECT[name], *SCHEDULER_TESTS,
        ]  # fmt: skip
        try:
            done = subprocess.run(
                command,
                cwd=ROOT,
                env=faketime_env(at),
                capture_output=True,
                text=True,
                timeout=120,
            )
            code, out = done.returncode, done.stdout + done.stderr
        except subprocess.TimeoutExpired as exc:
            code, out = -1, f"timed out: {exc.stdout!r}"
        if code != 0:
            tail = "\n".join(out.strip().splitlines()[-25:])
            failures.append(f"at {name} ({at.isoformat()}):\n{tail}")
    assert not failures, "\n\n".join(failures)
