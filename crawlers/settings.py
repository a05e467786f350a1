"""Scrapy settings built from our one :class:`~aggregator.settings.Settings` object.

Polite by default: robots.txt obeyed, AutoThrottle, an identifying User-Agent with a
contact URL, time and size caps, retries with backoff on 5xx/429, conditional GET,
compression, no HTTP cache, no telnet console, no proxies from the environment, and the
SSRF guard on every request and at DNS resolution.
"""

from __future__ import annotations

from typing import Any

from aggregator.settings import Settings
from crawlers.fetch import user_agent

FOLLOW_MAX_DEPTH = 2  # listing page -> page 2 of the listing -> event page
FOLLOW_MAX_PAGES = 50  # followed pages per source per crawl


def scrapy_settings(settings: Settings, **overrides: Any) -> dict[str, Any]:
    """The Scrapy settings dict for a crawl under ``settings``."""
    maxsize = settings.download_maxsize
    values: dict[str, Any] = {
        "BOT_NAME": "techagenda",
        "USER_AGENT": user_agent(settings),
        "ROBOTSTXT_OBEY": True,
        "ROBOTSTXT_USER_AGENT": "techagenda",
        "AUTOTHROTTLE_ENABLED": True,
        "AUTOTHROTTLE_START_DELAY": 1.0,
        "AUTOTHROTTLE_MAX_DELAY": 30.0,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": 2.0,
        "CONCURRENT_REQUESTS": 16,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 2,
        "DOWNLOAD_DELAY": 0.0,
        "DOWNLOAD_TIMEOUT": settings.download_timeout,
        "DOWNLOAD_MAXSIZE": maxsize,
        "DOWNLOAD_WARNSIZE": max(1, maxsize // 2),
        "DNS_TIMEOUT": min(30, settings.download_timeout),
        "RETRY_ENABLED": True,
        "RETRY_TIMES": 2,
        "RETRY_HTTP_CODES": [500, 502, 503, 504, 522, 524, 408, 429],
        "TECHAGENDA_RETRY_BASE_DELAY": 1.0,
        "TECHAGENDA_RETRY_MAX_DELAY": 60.0,
        "REDIRECT_ENABLED": True,
        "REDIRECT_MAX_TIMES": 5,
        "METAREFRESH_ENABLED": False,
        "COMPRESSION_ENABLED": True,
        "HTTPCACHE_ENABLED": False,
        "HTTPPROXY_ENABLED": False,
        "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "REMOTE_CONTROL_ENABLED": False,
        "LOG_LEVEL": "INFO",
        "LOGSTATS_INTERVAL": 60.0,
        "DEFAULT_REQUEST_HEADERS": {
            "Accept": "text/calendar, application/rss+xml, application/atom+xml, "
            "application/ld+json, text/html;q=0.9, application/xml;q=0.8, */*;q=0.5",
            "Accept-Language": "fr, en;q=0.8",
        },
        "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
        "TWISTED_DNS_RESOLVER": "crawlers.middlewares.GuardedResolver",
        "TECHAGENDA_FETCH_ALLOWLIST": settings.fetch_allowlist,
        "DOWNLOADER_MIDDLEWARES": {
            # runs before robots.txt (100), so even robots.txt requests are guarded
            "crawlers.middlewares.SSRFGuardMiddleware": 10,
            "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
            "crawlers.middlewares.SharedRobotsTxtMiddleware": 100,
            "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
            "crawlers.middlewares.BackoffRetryMiddleware": 550,
            "crawlers.middlewares.ConditionalGetMiddleware": 560,
            # after retry: a lookup the resolver refused is not retried, and keeps its reason
            "crawlers.middlewares.ResolverRefusalMiddleware": 620,
        },
        "SPIDER_MIDDLEWARES": {},
        "EXTENSIONS": {  # a 304 lowers a host's delay like a 200 (crawlers/throttle.py)
            "scrapy.extensions.throttle.AutoThrottle": None,
            "crawlers.throttle.ConditionalAutoThrottle": 0,
        },
        "ITEM_PIPELINES": {"crawlers.pipelines.IngestPipeline": 300},
        "CONCURRENT_ITEMS": 100,
        "TECHAGENDA_FOLLOW_MAX_DEPTH": FOLLOW_MAX_DEPTH,
        "TECHAGENDA_FOLLOW_MAX_PAGES": FOLLOW_MAX_PAGES,
    }
    values.update(overrides)
    return values
