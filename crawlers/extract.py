"""``techagenda extract`` and the organizer preview: one file or URL → events, no database.

The same reading path as the crawler (:func:`crawlers.document.read_document`, or a
source's route: ``extract --route-of NAME`` / ``--source ID`` hand in
``crawlers.adapters.route_reader`` and a ``card_reader`` for a css ``follow`` step, found
with :func:`find_route`). Times are made presentable here:
a floating time takes the zone the document declared, else the defaults' timezone
(``--timezone``); with neither it stays floating and ``timezone`` is null. Nonexistent
and ambiguous local times follow the DST rule of ``crawlers.parsers.common``.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from aggregator.errors import FetchError, InvalidInputError, NotFoundError, ParseError
from aggregator.normalize import NormalizedEvent
from aggregator.raw import RawEvent, SourceDefaults
from aggregator.settings import Settings
from crawlers.document import Fetched, Reading, read_document
from crawlers.lint import Finding
from crawlers.parsers.common import localize, zone

if TYPE_CHECKING:  # crawlers.adapters imports this module
    from crawlers.adapters.routes import Route

JSON_KEYS = (
    "title", "start", "end", "all_day", "timezone", "status", "venue", "address", "city",
    "latitude", "longitude", "online", "url", "uid", "description", "organizer", "image",
    "price", "categories", "source_format",
)  # fmt: skip
MAX_FOLLOWED_PAGES = 20
_SUFFIX_TYPES = {
    ".ics": "text/calendar",
    ".ical": "text/calendar",
    ".rss": "application/rss+xml",
    ".atom": "application/atom+xml",
    ".jsonld": "application/ld+json",
    ".json": "application/json",
    ".xml": "application/xml",
    ".html": "text/html",
    ".htm": "text/html",
}


def event_to_json(event: RawEvent) -> dict[str, Any]:
    """The ``extract --json`` object of one event: exactly ``JSON_KEYS``."""
    data = {key: getattr(event, key, None) for key in JSON_KEYS if key != "all_day"}
    data["all_day"] = event.all_day
    for key in ("start", "end"):
        value = data[key]
        data[key] = value.isoformat() if isinstance(value, date) else None
    data["categories"] = list(event.categories)
    return {key: data[key] for key in JSON_KEYS}


Reader = Callable[[Fetched, SourceDefaults], Reading]
# Reads an event's own page against its listing card (a css route's ``follow`` step).
CardReader = Callable[[Fetched, SourceDefaults, RawEvent], Reading]


def find_route(routes: Sequence[Route], key: str) -> Route:
    """The route of the source named ``key``: its exact name, else the one name containing
    it (case-insensitive). NotFoundError for none, InvalidInputError for several or an
    unreadable one (with its reason)."""
    wanted = key.strip().casefold()
    exact = [r for r in routes if r.name.casefold() == wanted]
    found = exact or [r for r in routes if wanted and wanted in r.name.casefold()]
    if not found:
        raise NotFoundError(f"no route for a source named {key!r} in the region pack")
    if len(found) > 1:
        names = "; ".join(r.name for r in found[:5])
        raise InvalidInputError(f"{key!r} names several sources ({names}): be more precise")
    route = found[0]
    if not route.readable:
        raise InvalidInputError(f"{route.name} is unreadable: {route.unreadable}")
    return route


def extract_events(
    body: bytes,
    *,
    url: str,
    headers: Mapping[str, str],
    defaults: SourceDefaults,
    window_start: datetime | None,
    window_end: datetime | None,
    reader: Reader = read_document,
) -> list[RawEvent]:
    """Parse ``body`` and keep the events starting in the window, sorted by start."""
    scoped = _with_window(defaults, window_start, window_end)
    reading = reader(Fetched(body, url, dict(headers)), scoped)
    return _window_events(reading.events, defaults, window_start, window_end)


@dataclass(frozen=True)
class Extraction:
    """What ``extract_target`` found: events in the window, and how."""

    events: list[RawEvent]
    format: str  # the platform recognised (``Reading.platform``)
    pages: int  # documents read, the target included
    warnings: list[str]
    findings: list[Finding] = field(default_factory=list)  # from reading the documents
    normalized: list[NormalizedEvent] = field(default_factory=list)  # as stored, when read so

    @property
    def platform(self) -> str:
        return self.format


def extract_target(
    path_or_url: str,
    settings: Settings,
    *,
    defaults: SourceDefaults,
    window_start: datetime | None,
    window_end: datetime | None,
    max_pages: int = MAX_FOLLOWED_PAGES,
    reader: Reader = read_document,
    card_reader: CardReader | None = None,
) -> Extraction:
    """Read a file or URL, parse it, and follow a listing page's or sitemap's event links
    (at most ``max_pages`` of them, one level deep); events of the window, sorted.

    ``reader`` is :func:`crawlers.document.read_document`, its isolated variant for
    documents an anonymous visitor named (the organizer preview), or a source's route.
    With ``card_reader``, a link that is one of the listing's events is read against that
    event (its page completes the card; the card stays when the page has nothing)."""
    body, url, headers = read_target(path_or_url, settings)
    scoped = _with_window(defaults, window_start, window_end)
    result = reader(Fetched(body, url, headers), scoped)
    events = list(result.events)
    stored = list(result.normalized)
    warnings = list(result.warnings)
    findings = list(result.findings)
    pages = 1
    cards = {e.url: i for i, e in enumerate(events) if e.url} if card_reader else {}
    for link in result.links[:max_pages]:
        card = cards.get(link)
        try:
            page_body, page_url, page_headers = read_target(link, settings)
            fetched = Fetched(page_body, page_url, page_headers)
            if card is not None and card_reader is not None:
                page = card_reader(fetched, scoped, events[card])
            else:
                page = reader(fetched, scoped)
        except (FetchError, ParseError) as exc:
            warnings.append(f"{link}: {exc}")
            continue
        pages += 1
        if card is not None:
            if page.events:
                events[card] = page.events[0]
                stored = []  # the card's normalised form no longer matches
            continue
        events.extend(page.events)
        stored.extend(page.normalized)
        findings.extend(f for f in page.findings if f.code != "parser_notes")
    if len(result.links) > max_pages:
        warnings.append(f"only the first {max_pages} of {len(result.links)} links were read")
    if len(stored) != len(events):
        stored = []
    pairs = _window_pairs(events, stored, defaults, window_start, window_end)
    return Extraction(
        [raw for raw, _ in pairs],
        result.platform,
        pages,
        warnings,
        findings,
        [item for _, item in pairs if item is not None],
    )


def read_target(path_or_url: str, settings: Settings) -> tuple[bytes, str, dict[str, str]]:
    """(body, final URL, headers) of a local file or an http(s) URL (SSRF-guarded fetch)."""
    scheme = urlsplit(path_or_url).scheme.lower()
    if scheme in ("http", "https"):
        from crawlers.fetch import fetch  # the guarded fetch; imported only when needed

        response = fetch(path_or_url, settings)
        return response.body, response.url, dict(response.headers)
    path = Path(unquote(urlsplit(path_or_url).path) if scheme == "file" else path_or_url)
    try:
        body = path.read_bytes()
    except OSError as exc:
        raise FetchError(f"cannot read {path}: {exc.strerror or exc}") from exc
    suffix = path.suffix.lower()
    content_type = _SUFFIX_TYPES.get(suffix) or mimetypes.guess_type(path.name)[0]
    headers = {"content-type": content_type} if content_type else {}
    return body, path.resolve().as_uri(), headers


def _with_window(
    defaults: SourceDefaults, start: datetime | None, end: datetime | None
) -> SourceDefaults:
    return replace(
        defaults,
        window_start=start or defaults.window_start,
        window_end=end or defaults.window_end,
    )


def _window_events(
    events: list[RawEvent],
    defaults: SourceDefaults,
    start: datetime | None,
    end: datetime | None,
) -> list[RawEvent]:
    return [raw for raw, _ in _window_pairs(events, [], defaults, start, end)]


def _window_pairs(
    events: list[RawEvent],
    stored: list[NormalizedEvent],
    defaults: SourceDefaults,
    start: datetime | None,
    end: datetime | None,
) -> list[tuple[RawEvent, NormalizedEvent | None]]:
    """The events starting in the window (with their normalised form when known), sorted."""
    normalized: list[NormalizedEvent | None] = list(stored) or [None] * len(events)
    placed = [
        (_place_in_time(e, defaults), n) for e, n in zip(events, normalized, strict=True)
        if e.start is not None
    ]  # fmt: skip
    kept = [
        pair
        for pair in placed
        if (start is None or _instant(pair[0].start) >= _aware(start))
        and (end is None or _instant(pair[0].start) < _aware(end))
    ]
    return sorted(kept, key=lambda p: (_instant(p[0].start), p[0].title, p[0].uid or ""))


def _place_in_time(event: RawEvent, defaults: SourceDefaults) -> RawEvent:
    """Floating times get the document's zone, else the defaults' one, when known."""
    if not isinstance(event.start, datetime) or event.start.tzinfo is not None:
        return event
    tz = zone(event.timezone) or zone(defaults.timezone)
    if tz is None:
        return event.with_(timezone=None)
    end = event.end
    if isinstance(end, datetime) and end.tzinfo is None:
        end = localize(end, tz)
    return event.with_(start=localize(event.start, tz), end=end, timezone=tz.key)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _instant(value: datetime | date | None) -> datetime:
    if isinstance(value, datetime):
        return _aware(value)
    if isinstance(value, date):
        return datetime.combine(value, time(0, 0), tzinfo=UTC)
    return datetime.min.replace(tzinfo=UTC)
