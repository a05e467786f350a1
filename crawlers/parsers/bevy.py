"""Bevy chapter events (GDG, CNCF and other ``*.community.dev`` chapters).

The chapter API (``/api/chapter/<id>/event/``) answers ``{"links": {"next": ...},
"count": N, "results": [...]}``; a chapter page's ``__NEXT_DATA__`` holds the same
results under ``upcomingEvents`` / ``pastEvents``. Each result: ``title``, ``start_date``,
``end_date`` (ISO 8601 with offset), ``url``, ``venue_name`` / ``venue_address`` /
``venue_city`` (or ``city``), ``venue_zip_code``, ``event_type_title`` ("In-Person",
"Virtual", "Hybrid"...), ``status`` ("Published", "Live", "Canceled"...).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from aggregator.raw import RawEvent, SourceDefaults
from crawlers.parsers.common import clean_text, parse_iso, zone
from crawlers.parsers.jsonfields import as_dict, as_float, dicts, ends_after, in_zone

PLATFORM = "bevy"
_MAX_DEPTH = 6


def _is_event(item: dict[str, Any]) -> bool:
    return (
        "title" in item
        and "start_date" in item
        and ("event_type_title" in item or "venue_name" in item or "chapter" in item)
    )


def _result_lists(data: Any, depth: int = 0) -> Iterator[list[dict[str, Any]]]:
    if depth > _MAX_DEPTH or not isinstance(data, dict):
        return
    results = data.get("results")
    if isinstance(results, list):
        items = dicts(results)
        if any(_is_event(item) for item in items[:20]):
            yield items
            return
    for value in data.values():
        if isinstance(value, dict):
            yield from _result_lists(value, depth + 1)


def event_items(data: Any) -> list[dict[str, Any]]:
    """The Bevy events of an API answer or a chapter page's Next.js data."""
    if isinstance(data, dict) and _is_event(data):
        return [data]
    return [item for items in _result_lists(data) for item in items if _is_event(item)]


def recognise(data: Any) -> bool:
    """True when ``data`` holds Bevy chapter events."""
    return bool(event_items(data))


def next_pages(data: Any, url: str) -> list[str]:
    """The API's next page (``links.next``), when there is one."""
    link = as_dict(data.get("links")).get("next") if isinstance(data, dict) else None
    return [link] if isinstance(link, str) and link.startswith(("http://", "https://")) else []


def read(data: Any, *, url: str, defaults: SourceDefaults | None = None) -> list[RawEvent]:
    """Every event of a Bevy document (one per id)."""
    events: list[RawEvent] = []
    seen: set[str] = set()
    for item in event_items(data):
        event = _event(item, url)
        if event is not None and (event.uid or event.title) not in seen:
            seen.add(event.uid or event.title)
            events.append(event)
    return events


def _event(item: dict[str, Any], url: str) -> RawEvent | None:
    title = clean_text(item.get("title"))
    start = parse_iso(item.get("start_date"))
    if not title or start is None:
        return None
    chapter = as_dict(item.get("chapter"))
    tz_name = item.get("timezone") or chapter.get("timezone")
    tz = zone(tz_name if isinstance(tz_name, str) else None)
    end = parse_iso(item.get("end_date"))
    if tz is not None:
        start, end = in_zone(start, tz), in_zone(end, tz)
    kind = str(item.get("event_type_title") or item.get("event_type") or "").lower()
    online: bool | None = None
    if any(word in kind for word in ("virtual", "online", "webinar", "hybrid", "en ligne")):
        online = True
    elif "person" in kind or "présentiel" in kind:
        online = False
    status = str(item.get("status") or "").lower()
    picture = item.get("cropped_picture_url") or as_dict(item.get("picture")).get("url")
    link = item.get("url")
    return RawEvent(
        title=title,
        start=start,
        end=end if ends_after(end, start) else None,
        timezone=tz.key if tz else None,
        uid=str(item.get("id") or "") or None,
        url=link if isinstance(link, str) and link else None,
        description=clean_text(
            item.get("description_short") or item.get("description"), keep_lines=True
        ),
        venue=clean_text(item.get("venue_name")),
        address=clean_text(item.get("venue_address")),
        city=clean_text(item.get("venue_city") or item.get("city") or None),
        postcode=clean_text(item.get("venue_zip_code")),
        latitude=as_float(item.get("latitude")),
        longitude=as_float(item.get("longitude")),
        online=online,
        status="cancelled" if status.startswith(("cancel", "canceled")) else None,
        organizer=clean_text(chapter.get("title")),
        image=picture if isinstance(picture, str) and picture.startswith("http") else None,
        source_format=PLATFORM,
        source_url=url,
    )
