"""Crawling past one machine: a shared queue of sources and a shared page cache, on Redis.

The unit of crawl work is a *source*: the spider keeps per-source bookkeeping (pending
requests, feed-item fallbacks, the completeness that decides cancellations) and the
pipeline ingests a source's events in one transaction. So what workers share is:

* **the source queue** — a Redis list ``<queue>`` plus the set ``<queue>:waiting`` (a source
  is queued at most once). :func:`enqueue_sources` is what the scheduler calls when
  ``REDIS_URL`` is set; :func:`run_worker` (``techagenda crawl --worker``) takes one source
  at a time with BLPOP, crawls it in a child Scrapy process under the source's crawl
  lease and records the outcome (backoff, flagging) as the scheduler would;
* **the page cache** — :class:`SharedPageCacheMiddleware`, a downloader middleware: a
  followed page (depth > 0) or a robots.txt that any worker fetched within the last
  ``TECHAGENDA_PAGE_TTL`` seconds is served from Redis; a page being fetched right now is
  *claimed* (``SET NX``) and the others wait for it. So two sources that link the same
  event page cost the site one request, yet each source still reads the page and keeps
  its link to the event (a plain duplicate filter would drop the second source's request
  and with it that source's event).

A worker that dies mid-crawl loses only its source's turn: the scheduler's claim on the
source expires and it is queued again when due.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import os
import socket
import time
from typing import TYPE_CHECKING, Any

from aggregator import locks, service
from aggregator.db import make_engine
from aggregator.errors import ConfigError, NotFoundError, StoreError
from aggregator.settings import Settings
from crawlers.queue_keys import QUEUE_KEY, page_cache_settings, pages_prefix, waiting_key

if TYPE_CHECKING:  # scrapy is imported only where a crawl runs, not by the scheduler
    from scrapy.crawler import Crawler
    from scrapy.http import Request, Response

log = logging.getLogger(__name__)

__all__ = [
    "QUEUE_KEY",
    "SharedPageCacheMiddleware",
    "enqueue_sources",
    "page_cache_settings",
    "pages_prefix",
    "run_worker",
    "waiting_key",
]

PAGE_TTL = 900  # seconds a fetched page is served to other workers
CLAIM_TTL = 120  # seconds a claim on a page being fetched lasts at most
CACHED_FLAG = "shared-page"

# RPUSH a source id unless it is already waiting: one round trip, atomic.
_ENQUEUE = """
local added = 0
for i, sid in ipairs(ARGV) do
  if redis.call('SADD', KEYS[2], sid) == 1 then
    redis.call('RPUSH', KEYS[1], sid)
    added = added + 1
  end
end
return redis.call('LLEN', KEYS[1])
"""
# Delete a claim only when it is still ours.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def redis_client(settings: Settings) -> Any:
    """A Redis client for ``REDIS_URL`` (:class:`ConfigError` when it is not set)."""
    if not settings.redis_url:
        raise ConfigError("the shared crawl queue needs REDIS_URL (e.g. redis://127.0.0.1:6379/0)")
    import redis

    return redis.Redis.from_url(settings.redis_url, socket_connect_timeout=5)


def enqueue_sources(settings: Settings, source_ids: list[int], *, queue: str = QUEUE_KEY) -> int:
    """Put sources on the shared Redis queue (once each); returns the queue's length."""
    import redis

    client = redis_client(settings)
    try:
        ids = [str(sid) for sid in dict.fromkeys(source_ids)]
        if not ids:
            return int(client.llen(queue))
        return int(client.eval(_ENQUEUE, 2, queue, waiting_key(queue), *ids))
    except redis.RedisError as exc:
        raise StoreError(f"cannot reach the crawl queue at REDIS_URL: {exc}") from exc
    finally:
        client.close()


def run_worker(
    settings: Settings,
    *,
    idle_timeout: float | None = None,
    max_crawls: int | None = None,
    queue: str = QUEUE_KEY,
) -> int:
    """Take source ids from the shared Redis queue and crawl each (one CrawlRun per source).

    Several workers on several machines share the queue; each source is taken by exactly
    one of them (BLPOP), and crawled under its crawl lease, so a CLI or scheduler crawl of
    the same source at the same moment is not doubled. Runs until ``idle_timeout`` seconds
    pass with nothing queued (forever when ``None``) or ``max_crawls`` crawls are done;
    returns the number of sources taken.
    """
    import redis

    client = redis_client(settings)
    engine = make_engine(settings.db_url)
    holder = locks.new_holder_id()
    wait = max(1, round(idle_timeout)) if idle_timeout else 0
    taken = 0
    from crawlers.resident import ResidentCrawler

    crawler = ResidentCrawler(settings)  # Scrapy starts once for all this worker's crawls
    try:
        while max_crawls is None or taken < max_crawls:
            try:
                item = client.blpop([queue], timeout=wait)
                if item is None:
                    break
                client.srem(waiting_key(queue), item[1])
            except redis.RedisError as exc:
                raise StoreError(f"cannot reach the crawl queue at REDIS_URL: {exc}") from exc
            taken += 1
            _crawl_one(settings, engine, int(item[1]), holder=holder, queue=queue, run=crawler)
    finally:
        crawler.close()
        client.close()
        engine.dispose()
    return taken


def _crawl_one(
    settings: Settings,
    engine: Any,
    source_id: int,
    *,
    holder: str,
    queue: str,
    run: service.RunCrawl,
) -> None:
    try:
        result = service.crawl(
            engine, settings, [source_id], "worker", run=run, holder=holder, queue=queue
        )
    except NotFoundError:
        log.warning("worker: source %s no longer exists", source_id)
        return
    if result.run is None and result.busy:
        log.info("worker: source %s is being crawled elsewhere; skipped", source_id)
        return
    log.info(
        "worker: crawl %s of source %s: %s",
        result.run.id if result.run else None,
        source_id,
        result.status,
    )


class SharedPageCacheMiddleware:
    """Fetch each followed page (and robots.txt) once across all workers (see module doc)."""

    def __init__(
        self, url: str, prefix: str, *, ttl: int = PAGE_TTL, claim_ttl: int = CLAIM_TTL
    ) -> None:
        self.url, self.prefix, self.ttl, self.claim_ttl = url, prefix, ttl, claim_ttl
        self.me = f"{socket.gethostname()}:{os.getpid()}"
        self._client: Any = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SharedPageCacheMiddleware:
        from scrapy.exceptions import NotConfigured

        url = crawler.settings.get("TECHAGENDA_REDIS_URL")
        if not url:
            raise NotConfigured("no REDIS_URL: pages are not shared between workers")
        return cls(
            url,
            crawler.settings.get("TECHAGENDA_PAGE_PREFIX", pages_prefix(QUEUE_KEY)),
            ttl=crawler.settings.getint("TECHAGENDA_PAGE_TTL", PAGE_TTL),
            claim_ttl=crawler.settings.getint("TECHAGENDA_PAGE_CLAIM_TTL", CLAIM_TTL),
        )

    @property
    def client(self) -> Any:
        if self._client is None:
            import redis.asyncio

            self._client = redis.asyncio.Redis.from_url(self.url, socket_connect_timeout=5)
        return self._client

    @staticmethod
    def shareable(request: Request) -> bool:
        """Followed pages and robots.txt; never a source's own URL (its conditional GET)."""
        if request.method != "GET":
            return False
        return int(request.meta.get("depth", 0)) > 0 or request.url.endswith("/robots.txt")

    async def process_request(self, request: Request) -> Response | None:
        import redis
        from scrapy.utils.request import fingerprint

        if not self.shareable(request):
            return None
        key = fingerprint(request).hex()
        if key in request.meta.get("shared_page_claims", ()):
            return None  # a retry of a page we claimed: ours to fetch
        deadline = time.monotonic() + self.claim_ttl
        try:
            while time.monotonic() < deadline:
                cached = await self.client.get(f"{self.prefix}:page:{key}")
                if cached is not None:
                    return self._response(request, cached)
                claim = f"{self.prefix}:claim:{key}"
                if await self.client.set(claim, self.me, nx=True, ex=self.claim_ttl):
                    # the page may have been stored and its claim released between our
                    # look and our claim: look again before fetching it a second time
                    cached = await self.client.get(f"{self.prefix}:page:{key}")
                    if cached is not None:
                        await self._release([key])
                        return self._response(request, cached)
                    request.meta["shared_page_claims"] = [
                        *request.meta.get("shared_page_claims", []),
                        key,
                    ]
                    return None
                await asyncio.sleep(0.05)  # another worker is fetching it right now
        except redis.RedisError as exc:
            log.warning("page cache unreachable, fetching %s directly: %s", request.url, exc)
        return None

    async def process_response(self, request: Request, response: Response) -> Response:
        import redis

        claims = request.meta.pop("shared_page_claims", [])
        if not claims or CACHED_FLAG in response.flags:
            return response
        try:
            if response.status < 500 and response.status not in (304, 429):
                blob = _snapshot(response)
                for key in claims:  # the URL first asked for, and any after a redirect
                    await self.client.set(f"{self.prefix}:page:{key}", blob, ex=self.ttl)
            await self._release(claims)
        except redis.RedisError as exc:
            log.warning("page cache unreachable, %s not shared: %s", request.url, exc)
        return response

    async def process_exception(self, request: Request, exception: BaseException) -> None:
        import redis

        with contextlib.suppress(redis.RedisError):  # else the claims expire on their own
            await self._release(request.meta.pop("shared_page_claims", []))
        return None

    async def _release(self, keys: list[str]) -> None:
        for key in keys:
            await self.client.eval(_RELEASE, 1, f"{self.prefix}:claim:{key}", self.me)

    def _response(self, request: Request, blob: bytes) -> Response:
        from scrapy.http.headers import Headers
        from scrapy.responsetypes import responsetypes

        data = json.loads(blob)
        url, status, body = data["url"], int(data["status"]), base64.b64decode(data["body"])
        headers = Headers({k: list(vs) for k, vs in data["headers"].items()}, encoding="latin-1")
        cls = responsetypes.from_args(headers=headers, url=url, body=body)
        return cls(
            url=url,
            status=status,
            headers=headers,
            body=body,
            request=request,
            flags=[CACHED_FLAG],
        )


_HOP_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


def _snapshot(response: Response) -> bytes:
    """A response as JSON (data, never code, goes through Redis); the body is decoded."""
    headers = {
        bytes(name).decode("latin-1"): [bytes(v).decode("latin-1") for v in values]
        for name, values in response.headers.items()
        if bytes(name).decode("latin-1").lower() not in _HOP_HEADERS
    }
    data = {
        "url": response.url,
        "status": response.status,
        "headers": headers,
        "body": base64.b64encode(response.body).decode("ascii"),
    }
    return json.dumps(data).encode("utf-8")
