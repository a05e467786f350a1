"""Names of the shared crawl queue in Redis and the Scrapy settings of its page cache.

A leaf module (nothing of ours imported at run time), so ``crawlers.run`` (the crawl child)
and ``crawlers.queue`` (the workers) both use it without importing each other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aggregator.settings import Settings

QUEUE_KEY = "techagenda:crawl:sources"


def waiting_key(queue: str) -> str:
    """The set of source ids on ``queue`` (each source is queued once)."""
    return f"{queue}:waiting"


def pages_prefix(queue: str) -> str:
    """Where the page cache of the workers of ``queue`` keeps pages and claims."""
    return f"{queue}:pages"


def page_cache_settings(settings: Settings, values: dict[str, Any], *, queue: str) -> None:
    """Switch the shared page cache on in a Scrapy settings dict (when REDIS_URL is set)."""
    if not settings.redis_url:
        return
    middlewares = dict(values.get("DOWNLOADER_MIDDLEWARES", {}))
    # after the SSRF guard (10) and robots.txt (100); before retry (550), so a response
    # reaches the cache once retries are settled, and after decompression (590)
    middlewares["crawlers.queue.SharedPageCacheMiddleware"] = 540
    values["DOWNLOADER_MIDDLEWARES"] = middlewares
    values["TECHAGENDA_REDIS_URL"] = settings.redis_url
    values["TECHAGENDA_PAGE_PREFIX"] = pages_prefix(queue)
