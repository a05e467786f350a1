"""The pipeline that hands each source's events to ``aggregator.ingest`` and records how
the source went.

Events are buffered per source until the spider's :class:`~crawlers.items.SourceReport`
for that source arrives; then, in one transaction per source: ``ingest_events``, a
``SourceFetch`` row, and the Source's health (last crawl/success, consecutive failures,
last error in plain words, detected format, validators, next crawl). A failure of one
source (download, parse, or ingest) is written on that source and never stops the others.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from scrapy.crawler import Crawler
from sqlalchemy.engine import Engine

from aggregator.db import make_engine
from aggregator.models import SourceFetch
from aggregator.raw import RawEvent
from aggregator.service import record_fetch
from aggregator.settings import Settings
from crawlers.items import EventItem, SourceReport

log = logging.getLogger(__name__)


def record_source(
    engine: Engine,
    report: SourceReport,
    events: list[RawEvent],
    *,
    run_id: int,
    now: datetime,
    settings: Settings,
) -> SourceFetch:
    """Ingest one source's events and record the fetch and its health (``service.record_fetch``)."""
    return record_fetch(engine, report, events, run_id=run_id, now=now, settings=settings)


_WRITER: ThreadPoolExecutor | None = None


def _writer() -> ThreadPoolExecutor:
    """The one thread of this process that writes to the store.

    Ingests run off the reactor thread, so a large source never stalls downloads (and their
    timeouts), and one at a time, so two sources listing the same event cannot both create
    it in concurrent transactions."""
    global _WRITER
    if _WRITER is None:
        _WRITER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest")
    return _WRITER


class IngestPipeline:
    """Buffers events per source; on the source's report, ingests and records them."""

    def __init__(self, crawler: Crawler, settings: Settings, run_id: int, now: datetime) -> None:
        self.crawler = crawler
        self.settings = settings
        self.run_id = run_id
        self.now = now
        self.buffers: dict[int, list[RawEvent]] = {}
        self.engine: Engine | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> IngestPipeline:
        settings = crawler.settings["TECHAGENDA_SETTINGS"]
        run_id = crawler.settings.getint("TECHAGENDA_RUN_ID")
        now = datetime.fromisoformat(crawler.settings["TECHAGENDA_NOW"])
        return cls(crawler, settings, run_id, now)

    def open_spider(self) -> None:
        self.engine = make_engine(self.settings.db_url)

    async def process_item(self, item: Any) -> Any:
        if isinstance(item, EventItem):
            self.buffers.setdefault(item.source_id, []).append(item.event)
        elif isinstance(item, SourceReport):
            events = self.buffers.pop(item.source_id, [])
            await asyncio.wrap_future(_writer().submit(self._record, item, events))
        return item

    async def close_spider(self) -> None:
        spider = self.crawler.spider
        for report in getattr(spider, "unfinished_reports", list)():
            events = self.buffers.pop(report.source_id, [])
            await asyncio.wrap_future(_writer().submit(self._record, report, events))
        if self.engine is not None:
            self.engine.dispose()

    def _record(self, report: SourceReport, events: list[RawEvent]) -> None:
        assert self.engine is not None
        try:
            fetch = record_source(
                self.engine,
                report,
                events,
                run_id=self.run_id,
                now=self.now,
                settings=self.settings,
            )
        except Exception:
            log.exception("could not record the crawl of source %s", report.source_id)
            return
        log.info(
            "source %s: status=%s format=%s found=%s new=%s error=%s",
            report.source_id, fetch.http_status, fetch.detected_format,
            fetch.events_found, fetch.events_new, fetch.error,
        )  # fmt: skip
