"""Per-format parsers: bytes (+ source defaults) in, ``RawEvent``s out. Pure: no network.

``parse_document`` detects the format (``crawlers.detect``) and hands the document to one
family module:

===========  ==========================================================================
ical         ``ical.py``      iCalendar, recurring series expanded in the window
rss / atom   ``feed.py``      feedparser; ev: module, xCal, dates read from item text
html         ``html.py``      JSON-LD, microdata, RDFa, h-event (→ ``schemaorg.py``);
                              listing pages give ``links`` to follow
json         ``jsonapi.py``   platform APIs (OpenAgenda, The Events Calendar REST, WordPress
                              items, ActivityPub, Gancio, Bevy, developers.events,
                              Eventbrite), else JSON-LD
sitemap      ``sitemap.py``   ``links`` to follow
===========  ==========================================================================

Every failure is an ``aggregator.errors.ParseError`` (or its ``UnsupportedFormatError``)
with a one-line message an admin understands.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from aggregator.place import hybrid_parts, is_online_location, is_online_url
from aggregator.raw import RawEvent, SourceDefaults
from crawlers.detect import detect_format
from crawlers.parsers.calendars import feed_platform, ical_platform, settle_platform
from crawlers.parsers.common import check_size, decode_body
from crawlers.parsers.feed import parse_feed
from crawlers.parsers.html import parse_html
from crawlers.parsers.ical import parse_ical
from crawlers.parsers.jsonapi import parse_json
from crawlers.parsers.sitemap import parse_sitemap

__all__ = ["ParseResult", "parse_document"]

_MAYBE_ONLINE = re.compile(
    r"(?i)line|ligne|distan|visio|webin|zoom|jitsi|teams|meet|bigblue|bbb|mumble|discord|twitch"
    r"|youtube|stream|virtu|internet|web|hybrid|mixte|remote|live|://"
)
_URL = re.compile(r"(?i)\b[a-z][a-z0-9+.-]*://[^\s<>\"']+")
_HTML_PLATFORMS = frozenset({"meetup", "bevy"})  # formats of parse_html that name a platform
_XML_ENCODING = re.compile(rb"""^(\s*<\?xml[^>]*?encoding=)(["'])[^"']*\2""")


@dataclass(frozen=True)
class ParseResult:
    """What one document held."""

    format: str  # "ical", "rss", "atom", "jsonld", "microdata", "rdfa", "h-event", ...
    events: list[RawEvent]
    links: list[str] = field(default_factory=list)  # same-site pages to follow (absolute)
    warnings: list[str] = field(default_factory=list)  # e.g. "times have no timezone"
    platform: str | None = None  # "openagenda", "meetup", "luma"... when the content shows it


def parse_document(
    body: bytes, *, url: str, headers: Mapping[str, str], defaults: SourceDefaults
) -> ParseResult:
    """Detect the format of ``body`` and parse it. Raises ParseError / UnsupportedFormatError."""
    result = _parse(body, url=url, headers=headers, defaults=defaults)
    events = [settle_online(e) for e in result.events]
    return ParseResult(result.format, events, result.links, result.warnings, result.platform)


def _parse(
    body: bytes, *, url: str, headers: Mapping[str, str], defaults: SourceDefaults
) -> ParseResult:
    check_size(body)
    lowered = {k.lower(): v for k, v in headers.items()}
    content_type = lowered.get("content-type")
    fmt = detect_format(body, url=url, content_type=content_type)
    if fmt == "ical":
        text = decode_body(body, content_type)
        events, warnings = parse_ical(text, url=url, defaults=defaults)
        platform = ical_platform(text)
        events = settle_platform(platform, events)
        return ParseResult("ical", events, [], warnings + _floating_warning(events), platform)
    if fmt in ("rss", "atom"):
        fmt, events, warnings = parse_feed(
            _as_utf8_xml(body, content_type),
            url=url,
            headers={"content-type": "application/xml; charset=utf-8"},
            defaults=defaults,
        )
        platform = feed_platform(body)
        return ParseResult(fmt, events, [], warnings + _floating_warning(events), platform)
    if fmt == "sitemap":
        links, warnings = parse_sitemap(_as_utf8_xml(body, content_type), url=url)
        return ParseResult("sitemap", [], links, warnings)
    text = decode_body(body, content_type)
    if fmt == "json":
        read = parse_json(text, url=url, defaults=defaults)
        warnings = read.warnings + _floating_warning(read.events)
        return ParseResult(read.format, read.events, read.links, warnings, read.platform)
    fmt, events, links, warnings = parse_html(text, url=url, defaults=defaults)
    platform = fmt if fmt in _HTML_PLATFORMS else None
    return ParseResult(fmt, events, links, warnings + _floating_warning(events), platform)


def _as_utf8_xml(body: bytes, content_type: str | None) -> bytes:
    """The XML re-encoded as UTF-8, its declaration saying so (survives wrong charsets)."""
    text = decode_body(body, content_type).encode("utf-8")
    return _XML_ENCODING.sub(rb"\1\2utf-8\2", text, count=1)


def settle_online(event: RawEvent) -> RawEvent:
    """An event whose location is a meeting service or a remote format ("Online event",
    "Distanciel", a Zoom or Mumble address) is online; the text stays the location, a bare
    address moves to ``online_url``, a town field saying "Online" moves to the venue."""
    if event.online is not None and (event.online_url or not event.online):
        return event
    venue, city, link = event.venue, event.city, event.online_url
    found = is_online_url(link)
    if not found and not _maybe_online(f"{venue or ''}\n{event.address or ''}\n{city or ''}"):
        return event  # the cheap test first: most locations name no remote way at all
    address = event.address
    if event.online is None:
        venue, mixed_venue = hybrid_parts(venue)
        address, mixed_address = hybrid_parts(address)
        city, mixed_city = hybrid_parts(city)
        found = found or mixed_venue or mixed_address or mixed_city
    for text in (venue, address, city):
        if text and is_online_location(text):
            found = True
            if not link and (address_in_text := _URL.search(text)):
                link = address_in_text.group(0).rstrip(".,;)")
    if not found:
        return event
    if venue and link and _URL.search(venue):
        venue = _URL.sub("", venue).strip(" :-–,()") or None  # "Mumble : <address>": Mumble
    if city and is_online_location(city):
        venue, city = venue or (None if "://" in city else city), None
    return event.with_(online=True, online_url=link, venue=venue, address=address, city=city)


@lru_cache(maxsize=4096)
def _maybe_online(location: str) -> bool:
    """Whether a location's text may name a remote way (remembered: places repeat)."""
    return _MAYBE_ONLINE.search(location) is not None


def _floating_warning(events: list[RawEvent]) -> list[str]:
    floating = sum(
        1 for e in events if e.timezone is None and getattr(e.start, "tzinfo", "date") is None
    )
    if floating:
        return [f"{floating} event(s) give times with no timezone; the source's default applies"]
    return []
