"""A settable clock for tests: the ``now`` every time-dependent test hands to the code.

    clock = Clock(datetime(2026, 12, 2, 14, 0, tzinfo=UTC))   # Wednesday, 2026-W49
    runner = Runner(settings, engine, "a", clock, Options())
    clock.advance(hours=3)

A frozen clock returns the same instant until it is set or advanced. A *ticking* clock
starts at its instant and moves on with the elapsed monotonic time, for code that waits on
real seconds (lease expiries) yet must never read the machine's date: the week, the hour
and the DST offset are the test's choice, whatever day CI runs on.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"a test clock needs a timezone-aware instant, got {at!r}")
    return at.astimezone(UTC)


class Clock:
    """``clock()`` is the current test instant, timezone-aware, in UTC."""

    def __init__(self, at: datetime, *, ticking: bool = False) -> None:
        self._at = _utc(at)
        self._ticking = ticking
        self._since = time.monotonic()

    def __call__(self) -> datetime:
        return self.now()

    def now(self) -> datetime:
        """The current instant (UTC)."""
        if not self._ticking:
            return self._at
        return self._at + timedelta(seconds=time.monotonic() - self._since)

    def set(self, at: datetime) -> None:
        """Jump to ``at`` (a ticking clock keeps ticking from there)."""
        self._at = _utc(at)
        self._since = time.monotonic()

    def advance(self, delta: timedelta | None = None, **parts: float) -> datetime:
        """Move forward by ``delta`` or by ``timedelta(**parts)``; returns the new instant."""
        self.set(self.now() + (delta if delta is not None else timedelta(**parts)))
        return self.now()

    def __repr__(self) -> str:
        return f"Clock({self.now().isoformat()}{', ticking' if self._ticking else ''})"
