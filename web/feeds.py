"""Pure builders of the exports: iCalendar (with the icalendar library) and Atom.

They take events and URLs and return bytes; the routes add caching headers. Every text
written goes through :func:`_clean` first: the characters XML (and RFC 5545) forbid are
dropped, whatever an older row or a caller holds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from xml.etree import ElementTree as ET

from icalendar import Calendar, vText
from icalendar import Event as ICalEvent

from aggregator.models import Event, EventStatus
from aggregator.xmltext import drop_xml_illegal
from web.present import place_text

ICAL_STATUS = {
    EventStatus.scheduled: "CONFIRMED",
    EventStatus.tentative: "TENTATIVE",
    EventStatus.postponed: "TENTATIVE",
    EventStatus.cancelled: "CANCELLED",
}
ATOM = "http://www.w3.org/2005/Atom"


def _clean(text: str | None) -> str:
    """Text without the characters XML cannot carry (controls, U+FFFE/U+FFFF, surrogates)."""
    return drop_xml_illegal(text or "")


def event_uid(event: Event, host: str) -> str:
    return f"event-{event.id}@{host}"


def _host(base_url: str) -> str:
    return base_url.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0] or "techagenda"


def build_calendar(
    events: Sequence[Event], *, base_url: str, name: str, tz: str, now: datetime
) -> bytes:
    """A VCALENDAR of ``events`` (times in UTC, all-day events as dates)."""
    base = base_url.rstrip("/")
    host = _host(base_url)
    cal = Calendar()
    cal.add("prodid", "-//techagenda//agenda//FR")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", _clean(name))
    cal.add("x-wr-timezone", tz)
    for event in events:
        item = ICalEvent()
        item.add("uid", event_uid(event, host))
        item.add("dtstamp", (event.updated_at or now).astimezone(UTC))
        item.add("summary", _clean(event.title))
        if event.all_day and event.start_date:
            item.add("dtstart", event.start_date)
            item.add("dtend", (event.end_date or event.start_date) + timedelta(days=1))
        elif event.start:
            item.add("dtstart", event.start.astimezone(UTC))
            if event.end and event.end > event.start:
                item.add("dtend", event.end.astimezone(UTC))
        else:
            continue
        page = f"{base}/events/{event.id}"
        item.add("url", _clean(event.url) or page)
        place = _clean(place_text(event))
        if place:
            item.add("location", vText(place))
        if event.latitude is not None and event.longitude is not None:
            item.add("geo", (event.latitude, event.longitude))
        description = _clean(event.description_text).strip()
        item.add("description", f"{description}\n\n{page}".strip())
        item.add("status", ICAL_STATUS.get(EventStatus(event.status), "CONFIRMED"))
        if event.topics:
            item.add("categories", [_clean(t) for t in event.topics])
        if event.updated_at:
            item.add("last-modified", event.updated_at.astimezone(UTC))
        cal.add_component(item)
    return cal.to_ical()


def build_atom(
    events: Sequence[Event],
    *,
    base_url: str,
    feed_url: str,
    title: str,
    updated: datetime,
    describe: dict[int, str],
) -> bytes:
    """An Atom feed, one entry per event; ``describe`` gives each entry's summary line."""
    base = base_url.rstrip("/")
    host = _host(base_url)
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    ET.SubElement(feed, f"{{{ATOM}}}title").text = _clean(title)
    ET.SubElement(feed, f"{{{ATOM}}}id").text = _clean(feed_url)
    ET.SubElement(feed, f"{{{ATOM}}}updated").text = updated.astimezone(UTC).isoformat()
    ET.SubElement(feed, f"{{{ATOM}}}link", href=_clean(feed_url), rel="self")
    ET.SubElement(feed, f"{{{ATOM}}}link", href=f"{base}/", rel="alternate")
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    ET.SubElement(author, f"{{{ATOM}}}name").text = "Techagenda"
    for event in events:
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        ET.SubElement(entry, f"{{{ATOM}}}title").text = _clean(event.title)
        ET.SubElement(entry, f"{{{ATOM}}}id").text = f"tag:{host},2026:event-{event.id}"
        stamp = (event.updated_at or event.created_at or updated).astimezone(UTC)
        ET.SubElement(entry, f"{{{ATOM}}}updated").text = stamp.isoformat()
        ET.SubElement(entry, f"{{{ATOM}}}link", href=f"{base}/events/{event.id}", rel="alternate")
        summary = describe.get(event.id or 0, "")
        if event.description_text:
            summary = f"{summary}\n\n{event.description_text[:600]}".strip()
        ET.SubElement(entry, f"{{{ATOM}}}summary", type="text").text = _clean(summary)
        for topic in event.topics:
            ET.SubElement(entry, f"{{{ATOM}}}category", term=_clean(topic))
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="utf-8")


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def last_modified_of(events: Sequence[Event], fallback: datetime) -> datetime:
    stamps = [e.updated_at for e in events if e.updated_at]
    newest = max(stamps, default=fallback)
    return newest.astimezone(UTC).replace(microsecond=0)


def http_date(value: datetime) -> str:
    return format_datetime(value.astimezone(UTC), usegmt=True)


def not_modified(
    if_none_match: str | None, if_modified_since: str | None, etag: str, modified: datetime
) -> bool:
    """True when the client's copy is current (If-None-Match wins over If-Modified-Since)."""
    if if_none_match is not None:
        tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
        return etag in tags or "*" in tags
    if if_modified_since:
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        return modified <= since
    return False
