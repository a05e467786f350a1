"""Check a source before (or after) approval: ``techagenda sources check ID``, the organizer
preview and the admin's "Check" button.

:func:`inspect_url` is the I/O half, with no database: robots.txt first (read with Protego
from the site's own ``/robots.txt``, fetched through the guarded path), then the document
and the event pages it links to (``crawlers.extract.extract_target``), then, a few seconds
later, the document once more to see whether its UIDs stay put. The findings come from the
pure :mod:`crawlers.lint`. :func:`check_source` runs it for a stored source and records the
result: a ``CrawlRun(requested_by="check")`` with one ``SourceFetch``, and the source's
``detected_format``, ``last_error`` and ``last_check``. It never changes a source's state,
and a dead or hostile source is an error *recorded*, never an exception.

A source with a route (``Source.route``, from the region pack) is read through it
(:func:`crawlers.adapters.read_route`, the crawl's own path; a css ``follow`` step is left
to the crawl). A source without a readable route, or whose route found no upcoming event,
is probed (:mod:`crawlers.adapters.probe`): the proposed adapter is one more finding and
is kept in ``last_check["route_proposal"]`` for the admin.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlmodel import Session

from aggregator.errors import (
    BlockedURLError,
    FetchError,
    InvalidInputError,
    NotFoundError,
    ParseError,
)
from aggregator.models import CrawlRun, RunStatus, Source, SourceFetch, SourceState
from aggregator.normalize import NormalizedEvent
from aggregator.raw import RawEvent, SourceDefaults
from aggregator.regions import Region, load_region
from aggregator.relevance import propose_scope
from aggregator.settings import Settings
from aggregator.topics import load_taxonomy
from crawlers import lint
from crawlers.adapters import route_reader
from crawlers.adapters.probe import Proposal, probe_site
from crawlers.adapters.routes import Route
from crawlers.adapters.stored import route_of
from crawlers.document import Fetched, Limits, read_document, read_isolated
from crawlers.extract import Reader, extract_events, extract_target, read_target
from crawlers.fetch import fetch, user_agent
from crawlers.lint import Finding
from crawlers.parsers.common import zone
from crawlers.urlsafety import Allowlist, check_url

FATAL = frozenset(
    {"blocked", "http_error", "unreachable", "unreadable", "robots_disallow", "too_complex"}
)


@dataclass(frozen=True)
class Inspection:
    """What one look at a URL found (no database involved)."""

    url: str
    format: str | None
    events: list[RawEvent]  # in the crawl window, floating times placed in the source zone
    upcoming: int
    findings: list[Finding]
    error: str | None  # set when the source cannot be read at all
    http_status: int | None
    pages: int = 0
    normalized: list[NormalizedEvent] = field(default_factory=list)  # as ingest would store


@dataclass(frozen=True)
class CheckReport:
    """The result of ``check_source``; ``warnings`` are the findings in the region language."""

    source_id: int
    format: str | None
    upcoming: int
    findings: list[Finding]
    error: str | None
    http_status: int | None
    language: str = "fr"
    events: list[RawEvent] = field(default_factory=list, repr=False)

    @property
    def warnings(self) -> list[str]:
        """Every finding's message but the one already given as ``error``."""
        return [
            f.message(self.language) for f in self.findings if not (self.error and f.code in FATAL)
        ]


def inspect_url(
    url: str,
    settings: Settings,
    *,
    region: Region,
    timezone: str | None,
    now: datetime,
    refetch_delay: float | None = 3.0,
    sleep: Callable[[float], None] = time.sleep,
    isolated: bool = False,
    limits: Limits | None = None,
    route: Route | None = None,
) -> Inspection:
    """Fetch, parse and lint ``url``; ``refetch_delay=None`` skips the second fetch.

    ``isolated`` reads each document in a memory- and time-limited child process
    (:func:`crawlers.document.read_isolated`, for URLs anonymous visitors name) and
    normalises the events as ingest would, so the preview shows what would be stored."""
    reader: Reader = read_document
    if isolated:
        reader = partial(read_isolated, region_name=settings.region, limits=limits)
    elif route is not None and route.readable:
        reader = route_reader(_listing_only(route))
    window_start = now - timedelta(days=settings.crawl_window_past_days)
    window_end = now + timedelta(days=settings.crawl_window_future_days)
    tz = zone(timezone) or region.tz
    defaults = SourceDefaults(timezone=None, language=region.language)
    robots = _robots(url, settings)
    if robots is not None:
        return _failed(url, robots, None)
    try:
        extraction = extract_target(
            url,
            settings,
            defaults=defaults,
            window_start=window_start,
            window_end=window_end,
            reader=reader,
        )
    except BlockedURLError as exc:
        return _failed(url, lint.fetch_finding(str(exc), status=None, blocked=True), str(exc))
    except FetchError as exc:
        finding = lint.fetch_finding(str(exc), status=exc.status, blocked=False)
        return _failed(url, finding, str(exc), exc.status)
    except ParseError as exc:
        return _failed(url, lint.parse_finding(str(exc)), str(exc), 200)
    fatal = [f for f in extraction.findings if f.code in FATAL]
    if fatal:
        return _failed(url, fatal[0], fatal[0].message_en, 200)
    events = extraction.events
    findings = lint.lint_events(events, region=region, timezone=tz.key, now=now)
    findings.extend(extraction.findings)
    if refetch_delay is not None and extraction.pages == 1 and any(e.uid for e in events):
        sleep(refetch_delay)
        churn = _churn(url, settings, events, defaults, window_start, window_end, reader)
        if churn is not None:
            findings.append(churn)
    notes = lint.parser_notes(extraction.warnings)
    if notes is not None:
        findings.append(notes)
    placed = [lint.place(e, tz) for e in events]
    return Inspection(
        url=url,
        format=extraction.format,
        events=placed,
        upcoming=lint.count_upcoming(placed, now, tz),
        findings=lint.sorted_findings(findings),
        error=None,
        http_status=200 if urlsplit(url).scheme.lower() in ("http", "https") else None,
        pages=extraction.pages,
        normalized=extraction.normalized,
    )


def _failed(url: str, finding: Finding, error: str | None, status: int | None = None) -> Inspection:
    return Inspection(url, None, [], 0, [finding], error or finding.message_en, status)


def _robots(url: str, settings: Settings) -> Finding | None:
    """A finding when the site's robots.txt forbids us; a missing or unreadable one allows."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    robots_url = urlunsplit((parts.scheme, parts.netloc, "/robots.txt", "", ""))
    try:
        response = fetch(robots_url, settings)
    except FetchError:  # 4xx: no rules; blocked or dead: the document fetch will say so
        return None
    text = response.body.decode("utf-8", errors="replace")
    return lint.robots_finding(text, url, user_agent(settings))


def _churn(
    url: str,
    settings: Settings,
    first: list[RawEvent],
    defaults: SourceDefaults,
    window_start: datetime,
    window_end: datetime,
    reader: Reader = read_document,
) -> Finding | None:
    """Fetch the document again and compare UIDs; a failed second fetch says nothing."""
    try:
        body, final_url, headers = read_target(url, settings)
        second = extract_events(
            body,
            url=final_url,
            headers=headers,
            defaults=defaults,
            window_start=window_start,
            window_end=window_end,
            reader=reader,
        )
    except (FetchError, ParseError):
        return None
    return lint.churning_uids(first, second)


def _listing_only(route: Route) -> Route:
    """The route without its css follow step (a check reads the listing only)."""
    if route.css is None or route.css.follow is None:
        return route
    return replace(route, css=replace(route.css, follow=None))


def probe_url(
    url: str,
    settings: Settings,
    defaults: SourceDefaults,
    *,
    read_first: bool = True,
    budget: float | None = None,
    isolated: bool = False,
    limits: Limits | None = None,
) -> tuple[Proposal | None, Finding]:
    """The route probe on ``url``: (the proposal, a finding saying what was found or why not).

    The same guarded fetch as the crawl (SSRF rules, size and time caps). With
    ``read_first`` a URL that reads as it is gets the adapter its format means; else (or
    when it reads nothing) the page's other routes are tried (:mod:`crawlers.adapters.probe`)
    until ``budget`` seconds (default: the download timeout) have passed. ``isolated``
    reads every document in a memory- and time-limited child (for URLs visitors name, as
    :func:`inspect_url`). Never raises."""
    deadline = time.monotonic() + (settings.download_timeout if budget is None else budget)
    reader: Reader = read_document
    if isolated:
        reader = partial(read_isolated, region_name=None, limits=limits)

    def fetch_candidate(candidate: str) -> Fetched:
        if time.monotonic() > deadline:
            raise FetchError("the probe's time budget is spent")
        if urlsplit(candidate).scheme.lower() not in ("http", "https"):
            raise FetchError(f"not an http(s) URL: {candidate}")
        return Fetched(*read_target(candidate, settings))

    try:
        page = fetch_candidate(url)
    except FetchError as exc:
        blocked = isinstance(exc, BlockedURLError)
        return None, lint.fetch_finding(str(exc), status=exc.status, blocked=blocked)
    proposal: Proposal | None = None
    if read_first:
        try:
            reading = reader(page, defaults)
            if reading.events:
                proposal = adapter_of_format(reading.platform, url, len(reading.events))
            heavy = [f for f in reading.findings if f.code == "too_complex"]
            if heavy:  # the reader gave up on the document itself: say so, try nothing more
                return None, heavy[0]
        except ParseError:
            pass
    if proposal is None:
        try:
            proposal = probe_site(page, fetch_candidate, defaults, reader)
        except (FetchError, ParseError) as exc:
            return None, lint.fetch_finding(str(exc), status=None, blocked=False)
    return proposal, proposal.finding()


def manual_route_note(route: Route | None, source_id: int | None = None) -> Finding | None:
    """For a source read by a spider (``manual`` route): a check or ``sources test`` reads
    its first page only, the spider's further requests happen during a crawl."""
    if route is None or route.adapter != "manual":
        return None
    spider = route.spider or "?"
    crawl = f"techagenda crawl --source {source_id}" if source_id else "techagenda crawl"
    return Finding(
        "manual_first_page",
        lint.INFO,
        f"Source lue par l'araignée « {spider} » (crawlers/spiders/) : cette lecture ne "
        f"porte que sur sa première page ; le reste (les autres requêtes de l'araignée) se "
        f"fait pendant un passage ({crawl}).",
        f"Source read by the '{spider}' spider (crawlers/spiders/): this reading covers its "
        f"first page only; the rest (the spider's other requests) happens during a crawl "
        f"({crawl}).",
    )


def probe_route(url: str, settings: Settings, defaults: SourceDefaults) -> Proposal | None:
    """The routes ``url``'s page offers besides itself (``None`` when it cannot be had)."""
    return probe_url(url, settings, defaults, read_first=False)[0]


def check_source(
    session: Session,
    settings: Settings,
    source_id: int,
    *,
    now: datetime,
    refetch_delay: float = 3.0,
    sleep: Callable[[float], None] = time.sleep,
) -> CheckReport:
    """Fetch a stored source once (twice for UIDs), lint it and record what we saw.

    Raises NotFoundError only when there is no such source; every failure of the source
    itself is in the report and on the rows. The session is flushed, not committed.
    """
    source = session.get(Source, source_id)
    if source is None:
        raise NotFoundError(f"no source {source_id}")
    region = load_region(settings.region)
    route = route_of(source)
    url = source.url
    if not url:
        raise InvalidInputError(
            f"source {source_id} ({source.name}) has no URL yet: "
            f"techagenda sources set-url {source_id} URL"
        )
    try:  # a pending source is an organizer's URL: never a local file
        check_url(
            url,
            Allowlist.parse(settings.fetch_allowlist),
            admin_source=source.state != SourceState.pending,
        )
        seen = inspect_url(
            url,
            settings,
            region=region,
            timezone=source.timezone,
            now=now,
            refetch_delay=refetch_delay,
            sleep=sleep,
            route=route,
        )
    except BlockedURLError as exc:
        finding = lint.fetch_finding(str(exc), status=None, blocked=True)
        seen = _failed(url, finding, str(exc))
    first_page = manual_route_note(route, source_id)
    if first_page is not None:
        seen = replace(seen, findings=[*seen.findings, first_page])
    proposal = None
    if seen.upcoming == 0 and not _blocked(seen):  # nothing read: what else does the site offer?
        defaults = SourceDefaults(timezone=source.timezone, language=region.language)
        proposal = probe_route(source.page_url or url, settings, defaults)
        if proposal is not None:
            seen = replace(seen, findings=[*seen.findings, proposal.finding()])
    elif route is None and seen.format:  # it reads as is: the adapter its format means
        proposal = adapter_of_format(seen.format, url, seen.upcoming)
    _record(session, source, seen, now=now)
    if proposal is not None:
        source.last_check = {**(source.last_check or {}), "route_proposal": proposal.to_json()}
    scope = propose_scope(seen.events, load_taxonomy(region))  # what the feed holds: tech/mixed
    source.last_check = {**(source.last_check or {}), **scope.as_json()}
    return CheckReport(
        source_id=source_id,
        format=seen.format,
        upcoming=seen.upcoming,
        findings=seen.findings,
        error=seen.error,
        http_status=seen.http_status,
        language=region.language,
        events=seen.events,
    )


_FORMAT_ADAPTERS = {
    "ical": "ical", "rss": "feed", "atom": "feed", "openagenda": "openagenda",
    "tribe-rest": "tec", "jsonld": "schemaorg", "microdata": "schemaorg", "rdfa": "schemaorg",
    "h-event": "schemaorg", "hcalendar": "schemaorg", "meetup": "meetup",
    "tribe-ical": "tec", "bevy": "bevy", "developers.events": "developers-events",
    "wp-rest": "wp-rest",
}  # fmt: skip


def adapter_of_format(fmt: str, url: str, events: int) -> Proposal | None:
    """The adapter a readable source's detected format means (a Meetup export: meetup)."""
    adapter = _FORMAT_ADAPTERS.get(fmt)
    if adapter is None:
        return None
    if adapter == "ical" and "meetup.com/" in url:
        adapter = "meetup"
    return Proposal(adapter, url, events)


def _blocked(seen: Inspection) -> bool:
    return any(f.code in ("blocked", "robots_disallow") for f in seen.findings)


def _record(session: Session, source: Source, seen: Inspection, *, now: datetime) -> None:
    assert source.id is not None
    run = CrawlRun(
        source_id=source.id,
        status=RunStatus.failed if seen.error else RunStatus.done,
        requested_by="check",
        stats={
            "upcoming": seen.upcoming,
            "events": len(seen.events),
            "pages": seen.pages,
            "findings": [f.code for f in seen.findings],
        },
        error=seen.error,
        created_at=now,
        started_at=now,
        finished_at=now,
    )
    session.add(run)
    session.flush()
    assert run.id is not None
    session.add(
        SourceFetch(
            crawl_run_id=run.id,
            source_id=source.id,
            url=seen.url,
            http_status=seen.http_status,
            detected_format=seen.format,
            events_found=len(seen.events),
            error=seen.error,
            fetched_at=now,
        )
    )
    if seen.format:
        source.detected_format = seen.format
    if seen.error:
        source.last_error = seen.error
    elif source.consecutive_failures == 0:
        source.last_error = None
    source.last_check = last_check_json(seen, now)
    session.add(source)
    session.flush()


def last_check_json(seen: Inspection, now: datetime) -> dict[str, Any]:
    """What ``Source.last_check`` keeps of a check (the health mail and admin page read it)."""
    return {
        "at": now.isoformat(),
        "format": seen.format,
        "upcoming": seen.upcoming,
        "http_status": seen.http_status,
        "error": seen.error,
        "findings": [f.to_json() for f in seen.findings],
    }
