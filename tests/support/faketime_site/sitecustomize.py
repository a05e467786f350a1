"""Put on PYTHONPATH only by ``tests/test_any_instant.py``, for processes under libfaketime.

libfaketime 0.9.10 (Debian 12) with ``FAKETIME_DONT_FAKE_MONOTONIC=1`` makes
``clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME)`` fail with EINVAL, which is how
``time.sleep`` waits; faking the monotonic clock instead hangs every ``threading`` wait
with a timeout. So the monotonic clock stays real and ``time.sleep`` waits in ``select``
(a relative timeout), which libfaketime leaves alone. Wall-clock reads stay faked.
"""

import os
import select
import time

if os.environ.get("FAKETIME") and os.environ.get("FAKETIME_DONT_FAKE_MONOTONIC") == "1":

    def _sleep(seconds: float) -> None:
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")
        select.select([], [], [], seconds)

    time.sleep = _sleep
