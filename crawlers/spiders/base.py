"""The source-crawling spider every spider builds on: requests, follow-ups, bookkeeping.

A spider gets its :class:`SourceJob` list at start (read from the Source rows by
``crawlers.run``), fetches each source's URL, reads each page with :meth:`extract`, follows
the links the parser returned (bounded depth and count), and yields
:class:`~crawlers.items.EventItem` per event then, when the last request of a source has
finished, one :class:`~crawlers.items.SourceReport`. Failures become reports, never
exceptions: one bad source never stops the others.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urldefrag, urlsplit

import feedparser
import scrapy
from scrapy.http import Request, Response
from twisted.python.failure import Failure

from aggregator.errors import ParseError, SourceError
from aggregator.models import Source
from aggregator.raw import RawEvent, SourceDefaults
from aggregator.settings import Settings
from crawlers.adapters import read_route
from crawlers.adapters.routes import Route
from crawlers.document import Fetched
from crawlers.items import EventItem, SourceReport
from crawlers.parsers import ParseResult
from crawlers.spiders.failures import describe_failure

FEED_FORMATS = frozenset({"rss", "atom"})


@dataclass(frozen=True)
class SourceJob:
    """What a spider needs to crawl one source (a detached copy of its row)."""

    id: int
    url: str
    etag: str | None
    last_modified: str | None
    defaults: SourceDefaults
    follow_links: bool = False
    route: Route | None = None  # how the pack says to read it (crawlers.adapters)

    @classmethod
    def from_source(cls, source: Source, *, now: datetime, settings: Settings) -> SourceJob:
        assert source.id is not None
        defaults = SourceDefaults(
            timezone=source.timezone or settings.timezone,
            language=source.language,
            city=source.town,
            window_start=now - timedelta(days=settings.crawl_window_past_days),
            window_end=now + timedelta(days=settings.crawl_window_future_days),
            follow_links=source.follow_links,
        )
        assert source.url, "only sources with a URL are crawled"
        route = Route.from_json(source.route) if source.route else None
        return cls(
            id=source.id,
            url=source.url,
            etag=source.etag,
            last_modified=source.last_modified,
            defaults=defaults,
            follow_links=source.follow_links,
            route=route if route is not None and route.readable else None,
        )

    def start_urls(self) -> list[str]:
        """The documents one crawl of this source reads first (its pages, then its others)."""
        urls = self.route.start_urls() if self.route is not None else []
        return urls if self.url in urls else [self.url, *urls]


@dataclass
class _Progress:
    report: SourceReport
    pending: int = 0
    events: int = 0
    seen: set[str] = field(default_factory=set)
    fallbacks: dict[str, RawEvent] = field(default_factory=dict)  # followed feed items
    done: bool = False


def feed_item_links(body: bytes) -> list[str]:
    """The links of a feed's items (called only on a body the parsers already accepted)."""
    parsed = feedparser.parse(body)
    return [str(entry["link"]) for entry in parsed.entries if entry.get("link")]


def response_headers(response: Response) -> dict[str, str]:
    """The response headers as text, names lower-cased (first value of each)."""
    headers: dict[str, str] = {}
    for name, values in response.headers.items():
        if values:
            headers[name.decode("latin-1").lower()] = values[0].decode("latin-1")
    return headers


def same_site(url: str, root: str) -> bool:
    """True when ``url`` is on the root's host or one of its subdomains (or vice versa)."""
    host = (urlsplit(url).hostname or "").lower().removeprefix("www.")
    base = (urlsplit(root).hostname or "").lower().removeprefix("www.")
    return bool(host) and (host == base or host.endswith("." + base) or base.endswith("." + host))


class SourceSpider(scrapy.Spider):
    """Base of every spider that crawls Source rows."""

    name = "source"

    def __init__(
        self,
        *args: Any,
        jobs: list[SourceJob] | None = None,
        max_events: int = 2000,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.jobs: dict[int, SourceJob] = {job.id: job for job in jobs or []}
        self.max_events = max_events
        self.progress: dict[int, _Progress] = {
            job.id: _Progress(SourceReport(source_id=job.id, url=job.url)) for job in jobs or []
        }

    # -- the hook a site-specific spider overrides -------------------------------------

    def extract(self, job: SourceJob, response: Response) -> ParseResult:
        """Read one downloaded page into events and links (raise ParseError when unreadable)."""
        raise NotImplementedError

    def read(self, job: SourceJob, response: Response) -> ParseResult:
        """The shared reading path on a response: the source's route
        (:func:`crawlers.adapters.read_route`, which is :func:`crawlers.document.read_document`
        for a source without one); ingest normalises what it returns with the source's own
        defaults. An event page a css ``follow`` step opened is read against its card."""
        fetched = Fetched(response.body, response.url, response_headers(response))
        card = None
        if job.route is not None and job.route.follows and not response.meta.get("listing"):
            progress = self.progress[job.id]
            card = progress.fallbacks.get(response.url) or progress.fallbacks.get(
                response.meta.get("first_url", "")
            )
        return read_route(fetched, job.defaults, route=job.route, card=card).as_result()

    # -- requests ----------------------------------------------------------------------

    async def start(self) -> AsyncIterator[Any]:
        for job in self.jobs.values():
            first, *others = job.start_urls()
            yield self._request(job, first, depth=0, listing=True)
            for url in others:  # further pages of the listing: their failures are warnings
                yield self._request(job, url, depth=1, listing=True)

    def _request(self, job: SourceJob, url: str, *, depth: int, listing: bool = False) -> Request:
        progress = self.progress[job.id]
        progress.pending += 1
        progress.seen.add(urldefrag(url)[0])
        meta: dict[str, Any] = {"source_id": job.id, "depth": depth, "listing": listing}
        if depth == 0:
            meta.update(admin_source=True, etag=job.etag, last_modified=job.last_modified)
        return Request(
            url,
            callback=self.on_response,
            errback=self.on_failure,
            dont_filter=True,  # our own per-source `seen` set; every request must call back
            meta=meta,
            headers=dict(job.route.headers) if job.route is not None and listing else None,
        )

    # -- callbacks ---------------------------------------------------------------------

    def on_response(self, response: Response) -> list[Any]:
        job = self.jobs[response.meta["source_id"]]
        progress = self.progress[job.id]
        report = progress.report
        depth = int(response.meta.get("depth", 0))
        out: list[Any] = []
        report.bytes += len(response.body)
        report.pages += 1
        if depth == 0:
            report.http_status = response.status
            report.url = response.url
            report.etag = _header(response, "ETag") or None
            report.last_modified = _header(response, "Last-Modified") or None
            if response.meta.get("not_modified") or response.status == 304:
                report.not_modified = True
                report.etag = report.etag or job.etag
                report.last_modified = report.last_modified or job.last_modified
                return self._finish_one(job)
        try:
            result = self.extract(job, response)
        except (ParseError, SourceError) as exc:
            return self._failed(job, response.meta, depth, str(exc))
        except Exception as exc:  # a parser bug must not stop the crawl
            self.logger.exception("parser crashed on %s", response.url)
            return self._failed(
                job, response.meta, depth, f"could not read {response.url}: {exc!r}"
            )
        if depth == 0:
            report.detected_format = result.format
        report.warnings.extend(result.warnings)
        fallback = progress.fallbacks.pop(response.url, None) or progress.fallbacks.pop(
            response.meta.get("first_url", ""), None
        )
        events = list(result.events)
        if not events and fallback is not None:
            events = [fallback]  # the event page had no structured data: keep the feed item
        if job.follow_links and result.format in FEED_FORMATS:
            links = feed_item_links(response.body)
            events, item_requests = self._follow_items(job, response, events, depth, links)
            out.extend(item_requests)
        elif job.route is not None and job.route.follows and response.meta.get("listing"):
            links = [e.url for e in events if e.url]  # css cards: read each event's page
            events, item_requests = self._follow_items(job, response, events, 0, links)
            out.extend(item_requests)
        out.extend(self._emit(job, events))
        out.extend(self._follow(job, response, result.links, depth))
        out.extend(self._finish_one(job))
        return out

    def _emit(self, job: SourceJob, events: list[RawEvent]) -> list[EventItem]:
        progress = self.progress[job.id]
        report = progress.report
        items = []
        for event in events:
            if progress.events >= self.max_events:
                if report.complete:
                    report.warnings.append(f"kept the first {self.max_events} events only")
                report.complete = False
                break
            progress.events += 1
            items.append(EventItem(job.id, event))
        return items

    def _follow_items(
        self,
        job: SourceJob,
        response: Response,
        events: list[RawEvent],
        depth: int,
        item_links: list[str],
    ) -> tuple[list[RawEvent], list[Request]]:
        """News-style feed items (``Source.follow_links``) or a css route's cards: read each
        item's page, keeping the item's own event, when it had one, as the fallback for a
        page without event data or that cannot be fetched."""
        max_pages = self.settings.getint("TECHAGENDA_FOLLOW_MAX_PAGES", 50)
        progress = self.progress[job.id]
        by_url = {urldefrag(e.url)[0]: e for e in events if e.url}
        kept = [e for e in events if not e.url]
        links = [urldefrag(response.urljoin(link))[0] for link in item_links]
        requests: list[Request] = []
        for url in dict.fromkeys([*links, *by_url]):
            fallback = by_url.pop(url, None)
            if (
                depth > 0
                or urlsplit(url).scheme not in ("http", "https")
                or url in progress.seen
                or len(progress.seen) > max_pages
            ):
                if fallback is not None:
                    kept.append(fallback)
                continue
            if fallback is not None:
                progress.fallbacks[url] = fallback
            request = self._request(job, url, depth=depth + 1)
            request.meta["first_url"] = url
            requests.append(request)
        return kept, requests

    def on_failure(self, failure: Failure) -> list[Any]:
        request = failure.request  # type: ignore[attr-defined]
        job = self.jobs[request.meta["source_id"]]
        depth = int(request.meta.get("depth", 0))
        status, message = describe_failure(failure, self.settings)
        if depth == 0:
            self.progress[job.id].report.http_status = status
        return self._failed(job, request.meta, depth, message)

    def _failed(self, job: SourceJob, meta: dict[str, Any], depth: int, message: str) -> list[Any]:
        """A page failed: keep its feed item when it had one, else note the failure."""
        progress = self.progress[job.id]
        out: list[Any] = []
        fallback = progress.fallbacks.pop(meta.get("first_url", ""), None)
        if fallback is not None:
            progress.report.warnings.append(message)
            out.extend(self._emit(job, [fallback]))
        else:
            self._page_failed(job, depth, message)
        out.extend(self._finish_one(job))
        return out

    # -- bookkeeping -------------------------------------------------------------------

    def _follow(
        self, job: SourceJob, response: Response, links: list[str], depth: int
    ) -> list[Request]:
        max_depth = self.settings.getint("TECHAGENDA_FOLLOW_MAX_DEPTH", 2)
        max_pages = self.settings.getint("TECHAGENDA_FOLLOW_MAX_PAGES", 50)
        progress = self.progress[job.id]
        if depth >= max_depth:
            return []
        requests = []
        for link in links:
            url = urldefrag(response.urljoin(link))[0]
            if urlsplit(url).scheme not in ("http", "https") or url in progress.seen:
                continue
            if not job.follow_links and not same_site(url, job.url):
                continue
            if len(progress.seen) > max_pages:
                progress.report.warnings.append(f"followed {max_pages} pages, not more")
                break
            requests.append(self._request(job, url, depth=depth + 1))
        return requests

    def _page_failed(self, job: SourceJob, depth: int, message: str) -> None:
        report = self.progress[job.id].report
        if depth == 0:
            report.error = message
        else:
            report.complete = False
            report.warnings.append(message)

    def _finish_one(self, job: SourceJob) -> list[Any]:
        progress = self.progress[job.id]
        progress.pending -= 1
        if progress.pending > 0 or progress.done:
            return []
        progress.done = True
        return [progress.report]

    def unfinished_reports(self) -> list[SourceReport]:
        """Reports of sources whose requests never all came back (the crawl was cut)."""
        reports = []
        for progress in self.progress.values():
            if not progress.done:
                progress.done = True
                progress.report.error = (
                    progress.report.error or "the crawl ended before this source was read"
                )
                progress.report.complete = False
                reports.append(progress.report)
        return reports


def _header(response: Response, name: str) -> str:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else ""
