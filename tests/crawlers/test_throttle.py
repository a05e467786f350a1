"""A 304 answer teaches AutoThrottle the host's latency, as a 200 does; errors still never
lower the delay; the crawl settings load this extension in place of Scrapy's."""

from __future__ import annotations

from scrapy.core.downloader import Slot
from scrapy.extensions.throttle import AutoThrottle
from scrapy.http import Response
from scrapy.utils.test import get_crawler

from aggregator.settings import Settings
from crawlers.settings import scrapy_settings
from crawlers.throttle import ConditionalAutoThrottle

THROTTLE = {"AUTOTHROTTLE_ENABLED": True, "AUTOTHROTTLE_START_DELAY": 1.0,
            "AUTOTHROTTLE_MAX_DELAY": 30.0, "AUTOTHROTTLE_TARGET_CONCURRENCY": 2.0,
            "DOWNLOAD_DELAY": 0.0}


def delay_after(extension: type[AutoThrottle], status: int, latency: float = 0.004) -> float:
    """A host's delay after ten fast answers with ``status``, from the 1 s start delay."""
    throttle = extension.from_crawler(get_crawler(settings_dict=THROTTLE))
    throttle.mindelay, throttle.maxdelay = throttle._min_delay(), throttle._max_delay()
    slot = Slot(concurrency=2, delay=throttle._start_delay(), jitter=0)
    for _ in range(10):
        throttle._adjust_delay(slot, latency, Response("http://127.0.0.1/feed.ics", status=status))
    return slot.delay


def test_fast_not_modified_answers_bring_the_delay_down_like_fast_200s() -> None:
    assert delay_after(ConditionalAutoThrottle, 304) == delay_after(ConditionalAutoThrottle, 200)
    assert delay_after(ConditionalAutoThrottle, 304) < 0.01
    assert delay_after(AutoThrottle, 304) == 1.0  # the stock rule this extension fixes


def test_fast_error_answers_never_lower_the_delay() -> None:
    assert delay_after(ConditionalAutoThrottle, 500) == 1.0
    assert delay_after(ConditionalAutoThrottle, 404) == 1.0


def test_a_slow_not_modified_answer_raises_the_delay() -> None:
    assert delay_after(ConditionalAutoThrottle, 304, latency=6.0) == 3.0


def test_the_crawl_loads_the_conditional_throttle_in_place_of_the_stock_one(
    settings: Settings,
) -> None:
    crawler = get_crawler(settings_dict=scrapy_settings(settings))
    crawler._apply_settings()
    loaded = {type(e) for e in crawler.extensions.middlewares}
    assert ConditionalAutoThrottle in loaded
    assert AutoThrottle not in loaded
