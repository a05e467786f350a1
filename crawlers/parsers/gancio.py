"""Gancio's ``/api/events`` (and ``/api/event/<slug>``) JSON.

Each event: ``title``, ``slug``, ``start_datetime`` / ``end_datetime`` in unix seconds,
``place`` ``{name, address, latitude, longitude}``, ``tags`` (strings; ``{"tag": ...}``
objects in the ``/feed/json`` export), ``media``,
``online_locations``, ``is_visible``. Hidden events (``is_visible: false``) are skipped,
and so is a recurrent event's parent (``recurrent`` set, no ``parentId``) when its
occurrences are listed: each child is one occurrence of the parent's series. The event
page is ``<instance>/event/<slug>``. Times are instants (UTC seconds), shown in the
source's default zone (the instance's own is not in the answer). An online event sits at
Gancio's pseudo-place "online" (no address), its links in ``online_locations``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from aggregator.raw import RawEvent, SourceDefaults
from crawlers.parsers.common import clean_text, parse_iso, split_location, zone
from crawlers.parsers.jsonfields import as_dict, as_float, as_list, dicts

PLATFORM = "gancio"


def _is_event(item: dict[str, Any]) -> bool:
    return (
        "start_datetime" in item
        and "title" in item
        and isinstance(item.get("start_datetime"), int | float | str)
        and any(k in item for k in ("slug", "place", "tags", "multidate"))
    )


def event_items(data: Any) -> list[dict[str, Any]]:
    """The Gancio events of an answer (a list, ``{"events": [...]}``, or one event)."""
    if isinstance(data, dict) and _is_event(data):
        return [data]
    if isinstance(data, dict):
        data = data.get("events")
    found = dicts(data) if isinstance(data, list) else []
    return found if any(_is_event(item) for item in found[:20]) else []


def recognise(data: Any) -> bool:
    """True when ``data`` is a Gancio events answer."""
    return bool(event_items(data))


def read(data: Any, *, url: str, defaults: SourceDefaults) -> list[RawEvent]:
    """The visible events (recurrent parents left to their occurrences)."""
    found = [item for item in event_items(data) if _is_event(item)]
    parents = {str(item.get("parentId")) for item in found if item.get("parentId")}
    instance = _instance(url)
    events = []
    for item in found:
        if item.get("is_visible") is False:
            continue
        if item.get("recurrent") and not item.get("parentId") and str(item.get("id")) in parents:
            continue
        event = _event(item, url, instance, defaults)
        if event is not None:
            events.append(event)
    return events


def _instance(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}"
    return None


def _moment(value: Any, tz: Any) -> datetime | None:
    """Unix seconds (or milliseconds) as an instant; an ISO text with an offset is read
    too. Shown in ``tz`` when given."""
    if isinstance(value, bool):
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        moment = parse_iso(value)
        if not isinstance(moment, datetime) or moment.tzinfo is None:
            return None  # a floating or date-only text says no instant
        return moment.astimezone(tz) if tz is not None else moment
    if seconds > 10**11:
        seconds /= 1000  # milliseconds
    if not 0 < seconds < 10**10:
        return None
    moment = datetime.fromtimestamp(seconds, UTC)
    return moment.astimezone(tz) if tz is not None else moment


def is_online_place(place: dict[str, Any]) -> bool:
    """True for the place Gancio creates for online events: named "online", no address."""
    name, address = place.get("name"), place.get("address")
    return (
        isinstance(name, str)
        and name.strip().lower() in ("online", "en ligne")
        and not (isinstance(address, str) and address.strip())
    )


def _event(
    item: dict[str, Any], url: str, instance: str | None, defaults: SourceDefaults
) -> RawEvent | None:
    title = clean_text(item.get("title"))
    tz = zone(defaults.timezone)
    start = _moment(item.get("start_datetime"), tz)
    if not title or start is None:
        return None
    end = _moment(item.get("end_datetime"), tz)
    place = as_dict(item.get("place"))
    slug = item.get("slug")
    links = [u for u in as_list(item.get("online_locations")) if isinstance(u, str) and u]
    media = next(iter(dicts(item.get("media"))), {})
    image = media.get("url")
    if isinstance(image, str) and image and "://" not in image and instance:
        image = f"{instance}/media/{image}"
    parent = item.get("parentId")
    address = place.get("address")
    if is_online_place(place):  # Gancio's "online" pseudo-place: no venue, no address
        place, address = {}, None
    _, _, postcode, city = split_location(address if isinstance(address, str) else None)
    return RawEvent(
        title=title,
        start=start,
        end=end if end is not None and end >= start else None,
        timezone=tz.key if tz else None,
        uid=str(item.get("id") or slug or "") or None,
        url=f"{instance}/event/{slug}" if instance and isinstance(slug, str) and slug else None,
        description=clean_text(item.get("description"), keep_lines=True),
        venue=clean_text(place.get("name")),
        address=clean_text(address) if address != place.get("name") else None,
        postcode=postcode,
        city=city,
        latitude=as_float(place.get("latitude")),
        longitude=as_float(place.get("longitude")),
        online=True if links or is_online_place(as_dict(item.get("place"))) else None,
        online_url=links[0] if links else None,
        image=image if isinstance(image, str) and "://" in image else None,
        categories=tuple(
            t
            for raw in as_list(item.get("tags"))
            if (t := clean_text(raw.get("tag") if isinstance(raw, dict) else raw))
        ),
        series_uid=str(parent) if parent else None,
        source_format=PLATFORM,
        source_url=url,
    )
