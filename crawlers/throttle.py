"""AutoThrottle that learns from ``304 Not Modified`` answers and remembers each host.

Scrapy's stock AutoThrottle never lowers a host's delay on a response other than 200
(error pages and redirects are small and fast, and would talk it into crawling faster).
A 304 to our conditional GET is neither: it is the host answering a real request at its
normal speed, with nothing to send. Left out, a re-crawl where every source answers 304
keeps each host at ``AUTOTHROTTLE_START_DELAY`` for every request. Here a 304 is a latency
sample like a 200; every other status keeps the stock rule (it may raise the delay, never
lower it).

Every crawl used to start each host at ``AUTOTHROTTLE_START_DELAY`` (1 s) and spend its first
requests learning what the last crawl already knew. Here a host's first request of a crawl
sets its slot's delay from the host's last measured latency (``latency / target
concurrency``, within ``DOWNLOAD_DELAY`` … ``AUTOTHROTTLE_MAX_DELAY``, exactly where the
stock rule would have converged); a host never seen starts at the start delay as before.
The latencies live in :data:`LATENCIES` (kept across crawls by the long-lived crawler,
``crawlers/resident.py``) and in ``<data_dir>/host-latency.json`` (kept across one-shot
crawl processes). The politeness bounds are unchanged.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.extensions.throttle import AutoThrottle

if TYPE_CHECKING:
    from scrapy.core.downloader import Slot
    from scrapy.crawler import Crawler
    from scrapy.http import Request, Response

log = logging.getLogger(__name__)

NOT_MODIFIED = 304
LATENCY_FILE = "host-latency.json"
MAX_HOSTS = 5000  # the file stays small whatever the crawl saw

LATENCIES: dict[str, float] = {}  # host (download slot) -> last measured latency, seconds


def start_delay_for(latency: float, *, target: float, floor: float, ceiling: float) -> float:
    """The delay a host starts at, given its last latency: where AutoThrottle converges."""
    return min(max(floor, latency / target), ceiling)


def load_latencies(path: Path) -> dict[str, float]:
    """The latencies stored at ``path`` (nothing when absent or unreadable)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {
        str(host): float(value)
        for host, value in data.items()
        if isinstance(value, (int, float)) and 0 <= value < 3600
    }


def save_latencies(path: Path, latencies: dict[str, float]) -> None:
    """Write the latencies atomically (the newest hosts when there are too many)."""
    kept = dict(list(latencies.items())[-MAX_HOSTS:])
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(kept, sort_keys=True), encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:  # a read-only data dir costs the next crawl its head start only
        log.warning("could not store host latencies in %s: %s", path, exc)


class ConditionalAutoThrottle(AutoThrottle):
    """AutoThrottle where a 304 adjusts the delay as a 200 would, and a known host starts
    from its last latency."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self._started: set[str] = set()
        owner: Any = crawler.settings.get("TECHAGENDA_SETTINGS")
        data_dir = getattr(owner, "data_dir", None)
        self._path = Path(data_dir) / LATENCY_FILE if data_dir is not None else None
        if self._path is not None and not LATENCIES:
            LATENCIES.update(load_latencies(self._path))
        crawler.signals.connect(self._reached, signal=signals.request_reached_downloader)
        crawler.signals.connect(self._closed, signal=signals.spider_closed)

    def _reached(self, request: Request, spider: Any) -> None:
        key, slot = self._get_slot(request, spider)
        if key is None or slot is None or key in self._started:
            return
        self._started.add(key)
        latency = LATENCIES.get(key)
        if latency is not None:
            slot.delay = start_delay_for(
                latency,
                target=self.target_concurrency,
                floor=self.mindelay,
                ceiling=self.maxdelay,
            )

    def _response_downloaded(self, response: Response, request: Request, spider: Any) -> None:
        key = request.meta.get("download_slot")
        latency = request.meta.get("download_latency")
        if key is not None and latency is not None and response.status in (200, NOT_MODIFIED):
            LATENCIES.pop(key, None)  # re-inserted: the newest hosts stay when trimmed
            LATENCIES[key] = float(latency)
        super()._response_downloaded(response, request, spider)

    def _adjust_delay(self, slot: Slot, latency: float, response: Response) -> None:
        if response.status == NOT_MODIFIED:
            response = response.replace(status=200)
        super()._adjust_delay(slot, latency, response)

    def _closed(self, spider: Any) -> None:
        if self._path is not None and LATENCIES:
            save_latencies(self._path, LATENCIES)
