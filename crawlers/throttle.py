"""AutoThrottle that learns from ``304 Not Modified`` answers too.

Scrapy's stock AutoThrottle never lowers a host's delay on a response other than 200
(error pages and redirects are small and fast, and would talk it into crawling faster).
A 304 to our conditional GET is neither: it is the host answering a real request at its
normal speed, with nothing to send. Left out, a re-crawl where every source answers 304
keeps each host at ``AUTOTHROTTLE_START_DELAY`` for every request. Here a 304 is a latency
sample like a 200; every other status keeps the stock rule (it may raise the delay, never
lower it). The politeness bounds (``DOWNLOAD_DELAY``, ``AUTOTHROTTLE_MAX_DELAY``, the
target concurrency) are unchanged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.extensions.throttle import AutoThrottle

if TYPE_CHECKING:
    from scrapy.core.downloader import Slot
    from scrapy.http import Response

NOT_MODIFIED = 304


class ConditionalAutoThrottle(AutoThrottle):
    """AutoThrottle where a 304 adjusts the delay as a 200 would."""

    def _adjust_delay(self, slot: Slot, latency: float, response: Response) -> None:
        if response.status == NOT_MODIFIED:
            response = response.replace(status=200)
        super()._adjust_delay(slot, latency, response)
