"""WordPress "The Events Calendar" REST API (``/wp-json/tribe/events/v1/events``).

Recognised by content: an ``events`` list (or one event) whose items carry
``start_date`` with TEC's own fields (``utc_start_date``, ``all_day``, ``rest_url``,
``global_id``, ``start_date_details``). ``start_date`` is the local wall time in the
event's ``timezone``; a site set to a bare offset ("UTC+1") is read through
``utc_start_date`` instead. All-day events end on their last day. ``next_rest_url``
is the next page, returned as a link to follow.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from typing import Any
from urllib.parse import urlsplit

from aggregator.raw import RawEvent
from crawlers.parsers.common import clean_text, localize, parse_iso, zone
from crawlers.parsers.jsonfields import as_dict, as_float, as_list, dicts, ends_after

PLATFORM = "tribe-rest"
_MARKS = ("utc_start_date", "all_day", "rest_url", "global_id", "start_date_details")
_OFFSET = re.compile(r"^(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?$", re.I)
_STATUS = {"canceled": "cancelled", "cancelled": "cancelled", "postponed": "postponed"}


def event_items(data: Any) -> list[dict[str, Any]]:
    """The TEC events of a response (the ``events`` list, or one event object)."""
    if isinstance(data, dict) and _is_event(data):
        return [data]
    items = dicts(data.get("events")) if isinstance(data, dict) else []
    return items if any(_is_event(item) for item in items[:20]) else []


def _is_event(item: dict[str, Any]) -> bool:
    return "start_date" in item and "title" in item and any(k in item for k in _MARKS)


def recognise(data: Any) -> bool:
    """True when ``data`` is a The Events Calendar REST response."""
    return bool(event_items(data))


def next_pages(data: Any, url: str) -> list[str]:
    """The next page of a listing (``next_rest_url``) when it is on the document's site."""
    link = data.get("next_rest_url") if isinstance(data, dict) else None
    if not isinstance(link, str) or not link.startswith(("http://", "https://")):
        return []
    return [link] if urlsplit(link).hostname == urlsplit(url).hostname else []


def read(data: Any, *, url: str) -> list[RawEvent]:
    """Every event of a TEC REST response."""
    return [event for item in event_items(data) if (event := _event(item, url)) is not None]


def offset_zone(name: object) -> tzinfo | None:
    """A fixed offset written "UTC+1", "UTC-5:30", "+02:00", else ``None``."""
    match = _OFFSET.match(name.strip()) if isinstance(name, str) else None
    if match is None:
        return None
    sign, hours, minutes = match.group(1), int(match.group(2)), int(match.group(3) or 0)
    if hours > 14 or minutes > 59:
        return None
    delta = timedelta(hours=hours, minutes=minutes)
    return timezone(-delta if sign == "-" else delta) if delta else UTC


def _event(item: dict[str, Any], url: str) -> RawEvent | None:
    title = clean_text(item.get("title"))
    start, end = parse_iso(item.get("start_date")), parse_iso(item.get("end_date"))
    if not title or start is None:
        return None
    tz = zone(item.get("timezone") if isinstance(item.get("timezone"), str) else None)
    if item.get("all_day") and isinstance(start, datetime):
        start = start.date()
        end = end.date() if isinstance(end, datetime) else None
    elif tz and isinstance(start, datetime) and start.tzinfo is None:
        start = localize(start, tz)
        end = localize(end, tz) if isinstance(end, datetime) and end.tzinfo is None else None
    elif isinstance(start, datetime) and start.tzinfo is None:
        start, end = _from_utc(item, start, end)
    venue = as_dict(item.get("venue"))
    image = item.get("image")
    status = item.get("event_status") or item.get("status")
    website = item.get("website")
    return RawEvent(
        title=title,
        start=start,
        end=end if ends_after(end, start) else None,
        timezone=tz.key if tz else None,
        uid=str(item.get("global_id") or item.get("id") or "") or None,
        url=item.get("url") or (website if isinstance(website, str) else None) or None,
        description=clean_text(item.get("description"), keep_lines=True),
        venue=clean_text(venue.get("venue")),
        address=clean_text(venue.get("address")),
        city=clean_text(venue.get("city")),
        postcode=clean_text(venue.get("zip")),
        country=clean_text(venue.get("country")),
        latitude=as_float(venue.get("geo_lat")),
        longitude=as_float(venue.get("geo_lng")),
        online=True if item.get("is_virtual") is True else None,
        online_url=_text_url(item.get("virtual_url")),
        status=_STATUS.get(status.lower()) if isinstance(status, str) else None,
        organizer=", ".join(
            n for o in dicts(item.get("organizer")) if (n := clean_text(o.get("organizer")))
        )
        or None,
        image=image.get("url") if isinstance(image, dict) else None,
        price=clean_text(item.get("cost")),
        categories=tuple(
            n for c in as_list(item.get("categories")) if (n := clean_text(as_dict(c).get("name")))
        ),
        source_format=PLATFORM,
        source_url=url,
    )


def _from_utc(
    item: dict[str, Any], start: datetime, end: datetime | date | None
) -> tuple[datetime, datetime | date | None]:
    """A naive local time whose zone is a bare offset (or unknown): the UTC fields decide."""
    utc_start = parse_iso(item.get("utc_start_date"))
    utc_end = parse_iso(item.get("utc_end_date"))
    offset = offset_zone(item.get("timezone"))
    if isinstance(utc_start, datetime) and utc_start.tzinfo is None:
        shown = offset or UTC
        start = utc_start.replace(tzinfo=UTC).astimezone(shown)
        if isinstance(utc_end, datetime) and utc_end.tzinfo is None:
            end = utc_end.replace(tzinfo=UTC).astimezone(shown)
        return start, end
    if offset is not None:
        end = end.replace(tzinfo=offset) if isinstance(end, datetime) else end
        return start.replace(tzinfo=offset), end
    return start, end


def _text_url(value: Any) -> str | None:
    return value if isinstance(value, str) and value.startswith(("http://", "https://")) else None
