"""Downloader middlewares and the DNS resolver: the crawler's cross-cutting fetch rules.

* :class:`SSRFGuardMiddleware` checks every request the engine schedules (start URLs,
  robots.txt, redirect hops, followed links) with :func:`crawlers.urlsafety.check_url`.
* :class:`GuardedResolver` checks the address each host name resolves to, where Twisted
  connects, so a DNS answer pointing inward is refused too (the connect-time check).
* :class:`ConditionalGetMiddleware` sends If-None-Match / If-Modified-Since from the
  Source row and lets a 304 reach the spider as "unchanged".
* :class:`SharedRobotsTxtMiddleware` is Scrapy's robots.txt middleware with one fix: in
  Scrapy 2.19 only the first of several requests waiting for a host's robots.txt gets the
  parser (``Deferred.asFuture`` hands the others ``None``, which means "allowed"), so a
  crawl of many sources on one host could skip the rules.
* :class:`BackoffRetryMiddleware` retries 5xx/429 after an exponential pause, or after
  the pause the server asked for with ``Retry-After``.
"""

from __future__ import annotations

import email.utils
import logging
from datetime import UTC, datetime
from typing import Any

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.resolver import CachingThreadedResolver
from scrapy.robotstxt import RobotParser
from scrapy.utils.asyncio import sleep
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred
from twisted.internet.error import DNSLookupError

from aggregator.errors import BlockedURLError
from crawlers.urlsafety import Allowlist, check_address, check_url, parse_ip_literal

log = logging.getLogger(__name__)


class BlockedRequest(IgnoreRequest):
    """A request the SSRF guard refused; its message is the admin-readable reason."""


class SSRFGuardMiddleware:
    """Refuse every request whose URL points where we never fetch (every hop)."""

    def __init__(self, allowlist: Allowlist) -> None:
        self.allowlist = allowlist

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SSRFGuardMiddleware:
        return cls(Allowlist.parse(crawler.settings.get("TECHAGENDA_FETCH_ALLOWLIST", "")))

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        # Only the URL an admin approved may be a file:// URL; redirects and links never.
        admin = bool(request.meta.get("admin_source")) and not request.meta.get("redirect_urls")
        try:
            check_url(request.url, self.allowlist, admin_source=admin)
        except BlockedURLError as exc:
            raise BlockedRequest(str(exc)) from exc


# Names the resolver refused, with the reason: Twisted turns a resolver error into a bare
# "no results for hostname lookup", so ResolverRefusalMiddleware reads the reason here.
# Per process, which is one crawl (crawlers.run starts a child process per crawl).
REFUSED_NAMES: dict[str, str] = {}


class GuardedResolver(CachingThreadedResolver):
    """Scrapy's caching resolver, refusing names that resolve to non-public addresses."""

    allowlist = Allowlist()

    @classmethod
    def from_crawler(cls, crawler: Crawler, reactor: Any) -> GuardedResolver:
        resolver = super().from_crawler(crawler, reactor)
        resolver.allowlist = Allowlist.parse(crawler.settings.get("TECHAGENDA_FETCH_ALLOWLIST", ""))
        return resolver

    def getHostByName(self, name: str, timeout: Any = ()) -> Deferred[str]:
        deferred = super().getHostByName(name, timeout)
        deferred.addCallback(self._check, name)
        return deferred

    def _check(self, address: str, name: str) -> str:
        if self.allowlist.allows_host(name):
            return address
        parsed = parse_ip_literal(address)
        if parsed is None:
            raise DNSLookupError(f"{name} resolved to {address!r}, not an address")
        try:
            check_address(parsed, self.allowlist, host=name)
        except BlockedURLError as exc:
            REFUSED_NAMES[name.lower()] = str(exc)
            raise DNSLookupError(str(exc)) from exc
        return address


class ResolverRefusalMiddleware:
    """Turn a lookup the resolver refused into a BlockedRequest with its reason (no retry).

    Placed after the retry middleware, so it sees the exception first."""

    def process_exception(
        self, request: Request, exception: Exception, spider: Spider | None = None
    ) -> None:
        host = (urlparse_cached(request).hostname or "").lower()
        if host in REFUSED_NAMES:
            raise BlockedRequest(REFUSED_NAMES[host]) from exception


class ConditionalGetMiddleware:
    """Send the validators stored on the Source row; a 304 means "unchanged"."""

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        etag = request.meta.get("etag")
        last_modified = request.meta.get("last_modified")
        if etag:
            request.headers.setdefault("If-None-Match", etag)
        if last_modified:
            request.headers.setdefault("If-Modified-Since", last_modified)
        if etag or last_modified:
            allowed = list(request.meta.get("handle_httpstatus_list", ()))
            if 304 not in allowed:
                request.meta["handle_httpstatus_list"] = [*allowed, 304]

    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Response:
        if response.status == 304 and (
            request.meta.get("etag") or request.meta.get("last_modified")
        ):
            request.meta["not_modified"] = True
        return response


def retry_after_seconds(value: str | bytes | None, now: datetime) -> float | None:
    """Seconds a ``Retry-After`` header asks for (delta-seconds or an HTTP date)."""
    if value is None:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


class BackoffRetryMiddleware(RetryMiddleware):
    """Retry 5xx and 429 after a pause: ``Retry-After`` when given, else exponential."""

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        self.base_delay = settings.getfloat("TECHAGENDA_RETRY_BASE_DELAY", 1.0)
        self.max_delay = settings.getfloat("TECHAGENDA_RETRY_MAX_DELAY", 60.0)

    async def process_response(  # type: ignore[override]
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Request | Response:
        if request.meta.get("dont_retry") or response.status not in self.retry_http_codes:
            return response
        attempt = int(request.meta.get("retry_times", 0))
        if attempt >= request.meta.get("max_retry_times", self.max_retry_times):
            return response
        asked = retry_after_seconds(response.headers.get("Retry-After"), datetime.now(UTC))
        if asked is not None and asked > self.max_delay:
            log.info("%s asks to come back in %.0f s: not waiting", request.url, asked)
            return response
        delay = asked if asked is not None else min(self.max_delay, self.base_delay * 2**attempt)
        log.info("HTTP %s from %s: retrying in %.1f s", response.status, request.url, delay)
        await sleep(delay)
        return self._retry(request, f"HTTP {response.status}") or response


class SharedRobotsTxtMiddleware(RobotsTxtMiddleware):
    """Every request waiting for a host's robots.txt gets its rules, not only the first."""

    async def robot_parser(self, request: Request) -> RobotParser | None:
        parser = await super().robot_parser(request)
        if parser is None:
            stored = self._parsers.get(urlparse_cached(request).netloc)
            if stored is not None and not isinstance(stored, Deferred):
                return stored
        return parser
