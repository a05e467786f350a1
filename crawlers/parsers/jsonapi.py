"""JSON bodies: an OpenAgenda export, The Events Calendar REST API, or plain JSON-LD.

* OpenAgenda (``/v2/agendas/{uid}/events`` or an agenda's JSON export): one event per
  entry of ``timings``; multilingual fields pick the source language, then French,
  then English. A multi-timing event is a series: occurrence uid ``<uid>#<begin UTC>``.
* WordPress "The Events Calendar" REST (``/wp-json/tribe/events/v1/events``): local
  ``start_date`` in the event's ``timezone``.
* Anything else is tried as JSON-LD (schema.org Event nodes anywhere in it).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from aggregator.errors import ParseError
from aggregator.raw import RawEvent, SourceDefaults
from crawlers.parsers.common import clean_text, localize, parse_iso, zone
from crawlers.parsers.common import load_json as read_json
from crawlers.parsers.schemaorg import event_from_schema, find_events

_OA_STATUS = {2: "rescheduled", 4: "postponed", 6: "cancelled"}


def load_json(text: str) -> Any:
    """JSON text to data (stray text after the document ignored), or a ParseError."""
    return read_json(text)[0]


def parse_json(
    text: str, *, url: str, defaults: SourceDefaults
) -> tuple[str, list[RawEvent], list[str]]:
    """(format, events, warnings) of a JSON document."""
    data = load_json(text)
    if isinstance(data, dict) and isinstance(data.get("events"), list):
        items = [e for e in data["events"] if isinstance(e, dict)]
        if items and any("timings" in e for e in items):
            return "openagenda", _openagenda(items, url, defaults), []
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


def _lang(value: Any, language: str | None) -> str | None:
    if isinstance(value, dict):
        for key in (language, "fr", "en"):
            if key and value.get(key):
                return str(value[key])
        value = next((v for v in value.values() if v), None)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value if v) or None
    return str(value) if value not in (None, "") else None


def _openagenda(items: list[dict[str, Any]], url: str, defaults: SourceDefaults) -> list[RawEvent]:
    events: list[RawEvent] = []
    for item in items:
        title = clean_text(_lang(item.get("title"), defaults.language))
        timings = [t for t in item.get("timings") or [] if isinstance(t, dict)]
        if not title or not timings:
            continue
        location: dict[str, Any] = _dict(item.get("location"))
        uid = str(item.get("uid") or item.get("slug") or "") or None
        keywords = item.get("keywords")
        if isinstance(keywords, dict):
            keywords = keywords.get(defaults.language or "fr") or keywords.get("fr") or []
        mode = item.get("attendanceMode")
        image = item.get("image")
        if isinstance(image, dict):
            image = (image.get("base") or "") + (image.get("filename") or "") or None
        base = RawEvent(
            title=title,
            start=None,
            timezone=item.get("timezone") if zone(item.get("timezone")) else None,
            url=item.get("canonicalUrl") or item.get("url") or None,
            description=clean_text(
                _lang(item.get("longDescription"), defaults.language)
                or _lang(item.get("description"), defaults.language),
                keep_lines=True,
            ),
            venue=clean_text(location.get("name")),
            address=clean_text(location.get("address")),
            city=clean_text(location.get("city")),
            postcode=clean_text(location.get("postalCode")),
            latitude=_float(location.get("latitude")),
            longitude=_float(location.get("longitude")),
            online={1: False, 2: True, 3: True}.get(mode) if isinstance(mode, int) else None,
            online_url=item.get("onlineAccessLink") or None,
            status=_OA_STATUS.get(status)
            if isinstance(status := item.get("status"), int)
            else None,
            price=clean_text(_lang(item.get("conditions"), defaults.language)),
            image=image if isinstance(image, str) else None,
            categories=tuple(clean_text(k) or "" for k in keywords or [] if clean_text(k)),
            source_format="openagenda",
            source_url=url,
        )
        for timing in timings:
            start, end = parse_iso(timing.get("begin")), parse_iso(timing.get("end"))
            if start is None:
                continue
            occurrence: str | None = uid
            series: str | None = None
            if len(timings) > 1 and uid:
                key = start.astimezone(UTC) if isinstance(start, datetime) else start
                occurrence, series = f"{uid}#{key.isoformat()}", uid
            events.append(base.with_(start=start, end=end, uid=occurrence, series_uid=series))
    return events


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
