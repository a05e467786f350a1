"""JSON bodies: an OpenAgenda export, The Events Calendar REST API, or plain JSON-LD.

* OpenAgenda (``/v2/agendas/{uid}/events`` or an agenda's JSON export): one event per
  entry of ``timings``; multilingual fields pick the source language, then French,
  then English. A multi-timing event is a series: occurrence uid ``<uid>#<begin UTC>``.
* WordPress "The Events Calendar" REST (``/wp-json/tribe/events/v1/events``): local
  ``start_date`` in the event's ``timezone``.
* Anything else is tried as JSON-LD (schema.org Event nodes anywhere in it).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from aggregator.errors import ParseError
from aggregator.raw import RawEvent, SourceDefaults
from crawlers.parsers import openagenda
from crawlers.parsers.common import clean_text, localize, parse_iso, zone
from crawlers.parsers.common import load_json as read_json
from crawlers.parsers.schemaorg import event_from_schema, find_events


def load_json(text: str) -> Any:
    """JSON text to data (stray text after the document ignored), or a ParseError."""
    return read_json(text)[0]


def parse_json(
    text: str, *, url: str, defaults: SourceDefaults
) -> tuple[str, list[RawEvent], list[str]]:
    """(format, events, warnings) of a JSON document."""
    data = load_json(text)
    if openagenda.recognise(data):
        return openagenda.PLATFORM, openagenda.read(data, url=url, defaults=defaults), []
    if isinstance(data, dict) and isinstance(data.get("events"), list):
        items = [e for e in data["events"] if isinstance(e, dict)]
        if items and any("start_date" in e for e in items):
            return "tribe-rest", [e for i in items if (e := _tribe(i, url))], []
    events = [
        event
        for node in find_events(data)
        if (event := event_from_schema(node, fmt="jsonld", page_url=url)) is not None
    ]
    if not events and not _mentions_event(data):
        raise ParseError("JSON document holds no events we recognise")
    return "jsonld", events, []


def _mentions_event(data: Any) -> bool:
    return isinstance(data, dict) and ("@context" in data or "events" in data)


def _tribe(item: dict[str, Any], url: str) -> RawEvent | None:
    title = clean_text(item.get("title"))
    start_text, end_text = item.get("start_date"), item.get("end_date")
    start, end = parse_iso(start_text), parse_iso(end_text)
    if not title or start is None:
        return None
    tz = zone(item.get("timezone"))
    if item.get("all_day") and isinstance(start, datetime):
        start = start.date()
        end = end.date() if isinstance(end, datetime) else None
    elif tz and isinstance(start, datetime) and start.tzinfo is None:
        start = localize(start, tz)
        end = localize(end, tz) if isinstance(end, datetime) and end.tzinfo is None else None
    venue: dict[str, Any] = _dict(item.get("venue"))
    organizers = item.get("organizer") or []
    organizers = organizers if isinstance(organizers, list) else [organizers]
    image = item.get("image")
    cost = clean_text(item.get("cost"))
    return RawEvent(
        title=title,
        start=start,
        end=end if isinstance(end, date) else None,
        timezone=tz.key if tz else None,
        uid=str(item.get("global_id") or item.get("id") or "") or None,
        url=item.get("url") or None,
        description=clean_text(item.get("description"), keep_lines=True),
        venue=clean_text(venue.get("venue")),
        address=clean_text(venue.get("address")),
        city=clean_text(venue.get("city")),
        postcode=clean_text(venue.get("zip")),
        latitude=_float(venue.get("geo_lat")),
        longitude=_float(venue.get("geo_lng")),
        organizer=", ".join(
            n for o in organizers if isinstance(o, dict) and (n := clean_text(o.get("organizer")))
        )
        or None,
        image=image.get("url") if isinstance(image, dict) else None,
        price=cost,
        categories=tuple(
            n
            for c in item.get("categories") or []
            if isinstance(c, dict)
            if (n := clean_text(c.get("name")))
        ),
        source_format="tribe-rest",
        source_url=url,
    )


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _float(value: Any) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
