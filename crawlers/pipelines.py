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
from datetime import datetime, timedelta
from typing import Any

from scrapy.crawler import Crawler
from sqlalchemy.engine import Engine
from sqlmodel import Session

from aggregator.db import make_engine
from aggregator.errors import TechagendaError
from aggregator.ingest import IngestStats, ingest_events
from aggregator.models import Source, SourceFetch, utcnow
from aggregator.raw import RawEvent
from aggregator.settings import Settings, parse_interval
from crawlers.items import EventItem, SourceReport

log = logging.getLogger(__name__)

FAILURE_RETRY_FIRST = timedelta(minutes=15)


def next_crawl_after(source: Source, settings: Settings, *, at: datetime, ok: bool) -> datetime:
    """When to crawl again: the interval after a success; a doubling pause (capped by the
    interval) after each consecutive failure."""
    interval = timedelta(seconds=source.crawl_interval or parse_interval(settings.crawl_interval))
    if ok:
        return at + interval
    pause = FAILURE_RETRY_FIRST * 2 ** max(0, source.consecutive_failures - 1)
    return at + min(interval, pause)


def record_source(
    engine: Engine,
    report: SourceReport,
    events: list[RawEvent],
    *,
    run_id: int,
    now: datetime,
    settings: Settings,
) -> SourceFetch:
    """Ingest one source's events and record the fetch and the source's health (one commit)."""
    with Session(engine, expire_on_commit=False) as session:
        stats: IngestStats | None = None
        error = report.error
        if report.ok and not report.not_modified:
            source = session.get(Source, report.source_id)
            assert source is not None
            try:
                stats = ingest_events(
                    session, source, events, now=now, complete=report.complete, settings=settings
                )
            except Exception as exc:  # one source's bad data must not stop the crawl
                session.rollback()
                log.exception("ingest failed for source %s", report.source_id)
                reason = str(exc) if isinstance(exc, TechagendaError) else repr(exc)
                error = f"the events were read but could not be stored: {reason}"
        source = session.get(Source, report.source_id)
        assert source is not None
        finished = utcnow()
        fetch = SourceFetch(
            crawl_run_id=run_id,
            source_id=report.source_id,
            url=report.url,
            http_status=report.http_status,
            bytes=report.bytes,
            not_modified=report.not_modified,
            detected_format=report.detected_format,
            events_found=stats.found if stats else len(events),
            events_new=stats.new if stats else 0,
            events_updated=stats.updated if stats else 0,
            events_merged=stats.merged if stats else 0,
            events_cancelled=stats.cancelled if stats else 0,
            error=error,
            fetched_at=finished,
        )
        session.add(fetch)
        update_health(source, report, error, settings=settings, at=finished)
        session.add(source)
        session.commit()
        for warning in [*report.warnings, *(stats.warnings if stats else [])]:
            log.info("source %s: %s", report.source_id, warning)
        return fetch


def update_health(
    source: Source, report: SourceReport, error: str | None, *, settings: Settings, at: datetime
) -> None:
    """Write the outcome of a crawl on the Source row (the admin page shows it)."""
    source.last_crawl_at = at
    if error is None:
        source.last_success_at = at
        source.consecutive_failures = 0
        source.last_error = None
        if not report.not_modified:
            source.detected_format = report.detected_format or source.detected_format
            source.etag = report.etag
            source.last_modified = report.last_modified
        source.next_crawl_at = next_crawl_after(source, settings, at=at, ok=True)
    else:
        source.consecutive_failures += 1
        source.last_error = error
        source.next_crawl_at = next_crawl_after(source, settings, at=at, ok=False)


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
