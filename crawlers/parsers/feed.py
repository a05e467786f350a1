"""RSS 0.9x/1.0/2.0 and Atom through feedparser, from bytes only.

An item becomes an event when it carries event fields (the RSS ``ev:`` event module,
xCal ``dtstart``...), or, for news-style items, when its text names a date ("mardi
3 décembre à 18h30"); the publication date is never taken as the event date. Items with
neither are skipped and counted in a warning.

Safety: feedparser gets a file-like object (so a body can never be taken for a path or a
URL), and documents declaring XML entities are refused before parsing (no "billion
laughs"); feedparser itself does not fetch external entities.
"""

from __future__ import annotations

import io
import re
from datetime import date, datetime
from typing import Any

import feedparser

from aggregator.errors import ParseError
from aggregator.raw import RawEvent, SourceDefaults
from crawlers.parsers.common import clean_text, parse_iso, split_location
from crawlers.parsers.textdates import find_place, find_when

_ENTITY_DECL = re.compile(rb"<!ENTITY", re.I)
_BASIC = re.compile(r"^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})?(Z)?)?$")


def refuse_entities(body: bytes) -> None:
    """Raise ParseError for XML that declares entities (we never expand them)."""
    if _ENTITY_DECL.search(body[:1_000_000]):
        raise ParseError("XML declares entities (possible entity-expansion attack); refused")


def parse_feed(
    body: bytes, *, url: str, headers: dict[str, str], defaults: SourceDefaults
) -> tuple[str, list[RawEvent], list[str]]:
    """(format, events, warnings) of an RSS or Atom document."""
    refuse_entities(body)
    try:
        parsed = feedparser.parse(
            io.BytesIO(body),
            response_headers={k.lower(): v for k, v in headers.items()},
            resolve_relative_uris=True,
            sanitize_html=True,
        )
    except Exception as exc:  # feedparser is meant not to raise; be sure
        raise ParseError(f"feed could not be read ({exc})") from exc
    version = str(parsed.get("version") or "")
    if not parsed.entries and not version:
        reason = parsed.get("bozo_exception")
        raise ParseError(f"not an RSS or Atom feed ({reason or 'no items found'})")
    fmt = "atom" if version.startswith("atom") else "rss"
    feed_language = (parsed.feed.get("language") or defaults.language or "fr")[:2].lower()
    events: list[RawEvent] = []
    undated = 0
    fallback = _day(parsed.feed.get("updated_parsed") or parsed.feed.get("published_parsed"))
    if fallback is None and defaults.window_start is not None:
        fallback = defaults.window_start.date()  # the caller's reference instant
    for entry in parsed.entries:
        event = _entry_event(
            entry, fmt=fmt, url=url, language=feed_language, reference=fallback
        )
        if event is None:
            undated += 1
        else:
            events.append(event)
    warnings = []
    if parsed.get("bozo") and parsed.get("bozo_exception") is not None:
        warnings.append("the feed is not well-formed XML; it was read leniently")
    if undated:
        warnings.append(f"{undated} feed item(s) name no event date and were skipped")
    return fmt, events, warnings


def _field(entry: Any, *suffixes: str) -> str | None:
    for key, value in entry.items():
        if isinstance(value, str) and key.endswith(suffixes) and value.strip():
            return value.strip()
    return None


def _when(value: str | None) -> datetime | date | None:
    if not value:
        return None
    if match := _BASIC.match(value):
        y, mo, d, h, mi, s, z = match.groups()
        if h is None:
            return parse_iso(f"{y}-{mo}-{d}")
        return parse_iso(f"{y}-{mo}-{d}T{h}:{mi}:{s or '00'}{'+00:00' if z else ''}")
    return parse_iso(value)


def _day(parsed: Any) -> date | None:
    """The day of a feedparser time tuple, or None."""
    try:
        return date(*parsed[:3]) if parsed else None
    except (TypeError, ValueError):
        return None


def _entry_event(
    entry: Any, *, fmt: str, url: str, language: str, reference: date | None
) -> RawEvent | None:
    title = clean_text(entry.get("title"))
    if not title:
        return None
    summary = entry.get("summary") or ""
    content = " ".join(c.get("value", "") for c in entry.get("content", []) if c)
    description = clean_text(content or summary, keep_lines=True)
    start = _when(_field(entry, "_startdate", "_dtstart"))
    end = _when(_field(entry, "_enddate", "_dtend"))
    location = _field(entry, "ev_location", "_location")
    if start is None:
        text = "\n".join(filter(None, [title, clean_text(summary, keep_lines=True), description]))
        published = entry.get("published_parsed") or entry.get("updated_parsed")
        reference = _day(published) or reference
        found = find_when(text, reference=reference, day_first=language != "en")
        if found is None:
            return None
        start, end = found.start, found.end
        location = location or find_place(text) or _place_before_date(text, reference)
    if not isinstance(start, datetime) and isinstance(end, datetime):
        end = end.date()
    if end is not None and type(end) is not type(start):
        end = None
    venue, address, postcode, city = split_location(location)
    return RawEvent(
        title=title,
        start=start,
        end=end,
        uid=entry.get("id") or entry.get("link") or None,
        url=entry.get("link") or None,
        description=description,
        venue=venue,
        address=address,
        postcode=postcode,
        city=city,
        organizer=clean_text(_field(entry, "ev_organizer", "_organizer")),
        image=_image(entry),
        categories=tuple(
            dict.fromkeys(t for tag in entry.get("tags", []) if (t := clean_text(tag.get("term"))))
        ),
        language=language,
        source_format=fmt,
        source_url=url,
    )


def _place_before_date(text: str, reference: date | None) -> str | None:
    """Gancio writes "Place - samedi 12 décembre 20:00": the part before the dash."""
    for line in text.splitlines():
        head, sep, tail = line.partition(" - ")
        plain = sep and head.strip() and not any(c.isdigit() for c in head)
        if plain and find_when(tail, reference=reference) is not None:
            return head.strip()
    return None


def _image(entry: Any) -> str | None:
    for link in entry.get("links", []):
        if link.get("rel") == "enclosure" and str(link.get("type", "")).startswith("image/"):
            return link.get("href") or None
    for key in ("media_thumbnail", "media_content"):
        for media in entry.get(key, []) or []:
            if media.get("url"):
                return str(media["url"])
    return None
