"""The crawler's small decisions, on plain data: settings, Retry-After, same-site, backoff,
the spider registry, and the settings handed to the child process."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from aggregator.errors import ConfigError
from aggregator.models import Source
from aggregator.service import apply_health
from aggregator.settings import Settings
from crawlers.middlewares import retry_after_seconds
from crawlers.settings import scrapy_settings
from crawlers.spiders import _REGISTRY, register, spider_for
from crawlers.spiders.base import SourceSpider, same_site
from crawlers.spiders.generic import GenericSpider

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_scrapy_settings_are_polite_and_come_from_our_settings(settings: Settings) -> None:
    ours = settings.model_copy(update={"download_timeout": 7, "download_maxsize": 123_456})
    values = scrapy_settings(ours)
    assert values["ROBOTSTXT_OBEY"] is True and values["AUTOTHROTTLE_ENABLED"] is True
    assert values["USER_AGENT"] == f"techagenda/0.1 (+{ours.user_agent_contact})"
    assert values["DOWNLOAD_TIMEOUT"] == 7 and values["DOWNLOAD_MAXSIZE"] == 123_456
    assert values["DOWNLOAD_WARNSIZE"] < values["DOWNLOAD_MAXSIZE"]
    assert values["HTTPCACHE_ENABLED"] is False and values["TELNETCONSOLE_ENABLED"] is False
    assert values["HTTPPROXY_ENABLED"] is False  # a proxy would bypass the connect-time check
    assert values["TWISTED_DNS_RESOLVER"] == "crawlers.middlewares.GuardedResolver"
    mws = values["DOWNLOADER_MIDDLEWARES"]
    assert (
        mws["crawlers.middlewares.SSRFGuardMiddleware"]
        < mws["crawlers.middlewares.SharedRobotsTxtMiddleware"]
    )
    assert mws["scrapy.downloadermiddlewares.retry.RetryMiddleware"] is None
    assert 429 in values["RETRY_HTTP_CODES"] and 503 in values["RETRY_HTTP_CODES"]


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        (b"3", 3.0),
        ("Thu, 26 Nov 2026 12:01:30 GMT", 90.0),
        ("Wed, 25 Nov 2026 12:00:00 GMT", 0.0),  # a date in the past: no wait
        ("soon", None),
        (None, None),
    ],
)
def test_retry_after_is_read_as_seconds_or_an_http_date(
    header: str | bytes | None, seconds: float | None
) -> None:
    assert retry_after_seconds(header, NOW) == seconds


@pytest.mark.parametrize(
    ("url", "same"),
    [
        ("https://www.lacantine.example/agenda/afterwork", True),
        ("https://lacantine.example/evenements/1", True),
        ("https://events.lacantine.example/1", True),
        ("https://twitter.example.com/cantine", False),
        ("https://lacantine.example.evil.test/", False),
        ("mailto:contact@lacantine.example", False),
    ],
)
def test_only_same_site_links_are_followed(url: str, same: bool) -> None:
    assert same_site(url, "https://www.lacantine.example/agenda/") is same


def test_a_failing_source_waits_its_interval_doubled_per_failure_and_is_flagged_at_five(
    settings: Settings,
) -> None:
    source = Source(name="s", url="https://x.example/", crawl_interval=6 * 3600)
    interval = timedelta(hours=6)
    apply_health(source, error=None, at=NOW, interval=interval, flag_after=5)
    assert source.next_crawl_at == NOW + timedelta(hours=6)
    waits = []
    for _ in range(5):
        apply_health(source, error="HTTP 500", at=NOW, interval=interval, flag_after=5)
        assert source.next_crawl_at is not None
        waits.append(source.next_crawl_at - NOW)
    assert waits == [
        timedelta(hours=12),
        timedelta(hours=24),
        timedelta(hours=48),
        timedelta(hours=96),
        timedelta(days=7),
    ]
    assert source.flagged and source.consecutive_failures == 5
    apply_health(source, error=None, at=NOW, interval=interval, flag_after=5)
    assert not source.flagged and source.consecutive_failures == 0


def test_the_generic_spider_is_the_default_and_unknown_names_are_refused() -> None:
    assert spider_for(None) is GenericSpider
    assert spider_for("generic") is GenericSpider
    with pytest.raises(ConfigError, match="no spider named 'nope'"):
        spider_for("nope")


def test_a_site_specific_spider_is_one_registered_class() -> None:
    @register("example-site")
    class ExampleSiteSpider(SourceSpider):
        pass

    try:
        assert spider_for("example-site") is ExampleSiteSpider
        assert ExampleSiteSpider.name == "example-site"
    finally:
        _REGISTRY.pop("example-site", None)


def test_the_child_process_rebuilds_the_very_same_settings(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    ours = settings.model_copy(
        update={"download_timeout": 3, "digest_send_empty": True, "fetch_allowlist": "127.0.0.0/8"}
    )
    for name, value in ours.to_env().items():
        monkeypatch.setenv(name, value)
    assert Settings().model_dump() == ours.model_dump()
