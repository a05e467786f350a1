"""Eventbrite API v3 (``/v3/organizers/<id>/events/``, ``/v3/events/<id>/``).

``{"pagination": {...}, "events": [...]}`` or one event. Each event: ``name.text``,
``description.text``, ``start`` / ``end`` ``{timezone, local, utc}``, ``url``, ``status``
("live", "started", "ended", "completed", "canceled", "draft"), ``online_event``, an
expanded ``venue`` (``name``, ``address{address_1, city, postal_code, country,
latitude, longitude}``), ``logo.url``, ``is_free``. Drafts are left out.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from aggregator.raw import RawEvent
from crawlers.parsers.common import clean_text, localize, parse_iso, zone
from crawlers.parsers.jsonfields import as_dict, as_float, dicts, ends_after

PLATFORM = "eventbrite"


def _is_event(item: dict[str, Any]) -> bool:
    start = item.get("start")
    return (
        isinstance(item.get("name"), dict)
        and isinstance(start, dict)
        and ("utc" in start or "local" in start)
    )


def event_items(data: Any) -> list[dict[str, Any]]:
    """The Eventbrite events of an answer (``events`` list, or one event)."""
    if isinstance(data, dict) and _is_event(data):
        return [data]
    items = dicts(data.get("events")) if isinstance(data, dict) else []
    return items if any(_is_event(item) for item in items[:20]) else []


def recognise(data: Any) -> bool:
    """True when ``data`` is an Eventbrite API answer."""
    return bool(event_items(data))


def read(data: Any, *, url: str) -> list[RawEvent]:
    """Every published event of an Eventbrite answer."""
    return [e for item in event_items(data) if (e := _event(item, url)) is not None]


def _moment(value: dict[str, Any]) -> datetime | date | None:
    tz = zone(value.get("timezone") if isinstance(value.get("timezone"), str) else None)
    local = parse_iso(value.get("local"))
    if tz is not None and isinstance(local, datetime) and local.tzinfo is None:
        return localize(local, tz)
    utc = parse_iso(value.get("utc"))
    if isinstance(utc, datetime):
        return utc.astimezone(tz) if tz is not None and utc.tzinfo is not None else utc
    return local


def _event(item: dict[str, Any], url: str) -> RawEvent | None:
    title = clean_text(
        as_dict(item.get("name")).get("text") or as_dict(item.get("name")).get("html")
    )
    start_fields = as_dict(item.get("start"))
    start = _moment(start_fields)
    status = str(item.get("status") or "").lower()
    if not title or start is None or status == "draft":
        return None
    end = _moment(as_dict(item.get("end")))
    venue = as_dict(item.get("venue"))
    address = as_dict(venue.get("address"))
    street = ", ".join(
        part for key in ("address_1", "address_2") if (part := clean_text(address.get(key)))
    )
    online = item.get("online_event") if isinstance(item.get("online_event"), bool) else None
    tz_name = start_fields.get("timezone")
    link = item.get("url")
    return RawEvent(
        title=title,
        start=start,
        end=end if ends_after(end, start) else None,
        timezone=tz_name if isinstance(tz_name, str) and zone(tz_name) else None,
        uid=str(item.get("id") or "") or None,
        url=link if isinstance(link, str) and link else None,
        description=clean_text(
            as_dict(item.get("description")).get("text") or item.get("summary"), keep_lines=True
        ),
        venue=clean_text(venue.get("name")),
        address=street or None,
        city=clean_text(address.get("city")),
        postcode=clean_text(address.get("postal_code")),
        country=clean_text(address.get("country")),
        latitude=as_float(address.get("latitude") or venue.get("latitude")),
        longitude=as_float(address.get("longitude") or venue.get("longitude")),
        online=online,
        status="cancelled" if status in ("canceled", "cancelled") else None,
        organizer=clean_text(as_dict(item.get("organizer")).get("name")),
        image=as_dict(item.get("logo")).get("url") or None,
        price="Gratuit" if item.get("is_free") is True else None,
        source_format=PLATFORM,
        source_url=url,
    )
