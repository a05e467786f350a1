"""Adapters: how a source's route (``crawlers.adapters.routes``) is read.

Most adapters name a kind of document that the content-detected reader
(:func:`crawlers.document.read_document`) already understands; the adapter then only says
which URL(s) to fetch and how they page. ``css`` applies the pack's selectors
(:mod:`crawlers.adapters.css`); ``manual`` hands the source to a spider class registered
in ``crawlers/spiders/``. :func:`read_route` is the one entry point used by the crawl
(``crawlers.spiders.base``), the preview / ``sources check`` (``crawlers.check``) and
``techagenda sources test``: the same route reads the same way everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from functools import partial

from aggregator.normalize import NormalizedEvent, normalize
from aggregator.raw import RawEvent, SourceDefaults
from aggregator.regions import Region, fold
from crawlers.adapters.css import FORMAT as CSS_FORMAT
from crawlers.adapters.css import read_css, read_detail
from crawlers.adapters.routes import Keep, Route
from crawlers.document import Fetched, Reading, read_document
from crawlers.extract import Reader
from crawlers.parsers import settle_online
from crawlers.parsers.common import decode_body

DOCUMENT, SELECTORS, SPIDER = "document", "css", "spider"


@dataclass(frozen=True, slots=True)
class Adapter:
    """One adapter: how it reads, and the platforms ``read_document`` reports for it
    (empty: whatever the document turns out to be)."""

    name: str
    reads: str
    platforms: tuple[str, ...] = ()
    summary: str = ""


REGISTRY: dict[str, Adapter] = {
    a.name: a
    for a in (
        Adapter("ical", DOCUMENT, ("ical",), "an iCalendar feed"),
        Adapter("meetup", DOCUMENT, ("ical", "meetup"), "a Meetup group's /events/ical/ feed"),
        Adapter("feed", DOCUMENT, ("rss", "atom"), "an RSS or Atom feed"),
        Adapter("schemaorg", DOCUMENT, (), "schema.org Event data in HTML pages"),
        Adapter("openagenda", DOCUMENT, ("openagenda", "ical"), "an OpenAgenda v2 export"),
        Adapter("tec", DOCUMENT, ("tribe-rest", "tribe-ical", "ical"),
                "The Events Calendar (REST or ?ical=1)"),
        Adapter("wp-rest", DOCUMENT, ("wp-rest",), "a WordPress REST collection (/wp-json/wp/v2/…)"),
        Adapter("bevy", DOCUMENT, ("bevy",), "a Bevy chapter's events (page or JSON)"),
        Adapter("developers-events", DOCUMENT, ("developers.events",),
                "developers.events all-events.json"),
        Adapter("css", SELECTORS, (CSS_FORMAT,), "HTML cards read with the pack's selectors"),
        Adapter("manual", SPIDER, (), "a spider class in crawlers/spiders/"),
    )
}


def adapter_for(route: Route | None) -> Adapter | None:
    """The adapter of a route (``None`` for no route or an unreadable one)."""
    if route is None or route.adapter is None:
        return None
    return REGISTRY[route.adapter]


def read_route(
    fetched: Fetched,
    defaults: SourceDefaults,
    *,
    route: Route | None,
    region: Region | None = None,
    card: RawEvent | None = None,
) -> Reading:
    """Read one fetched document of a source the way its route says.

    ``card`` is the listing's event when ``fetched`` is the page a ``css`` follow step
    opened for it. Without a route (or for a document adapter) this is
    :func:`read_document`; ``keep`` then drops the events of other towns or titles."""
    if route is None or route.adapter is None:
        return read_document(fetched, defaults, region=region)
    defaults = with_mapping(defaults, route)
    if route.css is not None:
        return _read_css(fetched, defaults, route, region, card)
    reading = read_document(fetched, defaults, region=region)
    adapter = REGISTRY[route.adapter]
    warnings = list(reading.warnings)
    if adapter.platforms and reading.platform not in adapter.platforms and reading.events:
        warnings.append(f"route says {route.adapter}, the document reads as {reading.platform}")
    if route.keep is None:
        return replace(reading, warnings=warnings)
    pairs = [(raw, item) for raw, item in _pairs(reading) if kept(raw, route.keep)]
    return replace(
        reading,
        events=[raw for raw, _ in pairs],
        normalized=[item for _, item in pairs if item is not None],
        warnings=warnings,
    )


def with_mapping(defaults: SourceDefaults, route: Route) -> SourceDefaults:
    """The defaults carrying the route's field ``mapping`` (``SourceDefaults.mapping``)."""
    if not route.mapping:
        return defaults
    return replace(defaults, mapping=dict(route.mapping))


def route_reader(route: Route | None) -> Reader:
    """A ``(fetched, defaults) -> Reading`` reader for ``crawlers.extract`` / ``crawlers.check``."""
    return partial(read_route, route=route)


def kept(event: RawEvent, keep: Keep) -> bool:
    """True when the event passes the route's ``keep`` filter (towns, title words)."""
    if keep.titles:
        title = fold(event.title)
        if not any(fold(word) in title for word in keep.titles):
            return False
    if keep.cities:
        where = " ".join(fold(v) for v in (event.city, event.address, event.venue) if v)
        if not any(fold(city) in where for city in keep.cities):
            return False
    return True


def _pairs(reading: Reading) -> list[tuple[RawEvent, NormalizedEvent | None]]:
    if len(reading.normalized) == len(reading.events):
        return list(zip(reading.events, reading.normalized, strict=True))
    return [(raw, None) for raw in reading.events]


def _read_css(
    fetched: Fetched,
    defaults: SourceDefaults,
    route: Route,
    region: Region | None,
    card: RawEvent | None,
) -> Reading:
    assert route.css is not None
    text = decode_body(fetched.body, dict(fetched.headers).get("content-type"))
    reference = _reference(defaults)
    if card is not None and route.css.follow is not None:
        events = [read_detail(text, route.css.follow, card, language=route.css.language,
                              reference=reference)]  # fmt: skip
        links: list[str] = []
        warnings: list[str] = []
    else:
        events, links, warnings = read_css(text, route.css, url=fetched.url, reference=reference)
    events = [settle_online(e) for e in events]
    normalized = []
    if region is not None:
        zone_defaults = SourceDefaults(
            timezone=defaults.timezone or region.timezone,
            language=defaults.language or region.language,
            city=defaults.city,
        )
        normalized = [normalize(e, defaults=zone_defaults, region=region) for e in events]
    return Reading(CSS_FORMAT, events, normalized, links, warnings, [])


def _reference(defaults: SourceDefaults) -> date | None:
    """The day a yearless prose date is read against: the crawl window's start."""
    return defaults.window_start.date() if defaults.window_start else None
