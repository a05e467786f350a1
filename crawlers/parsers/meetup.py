"""Meetup group and event pages: the events of the page's Apollo state.

Meetup renders with Next.js; ``<script id="__NEXT_DATA__">`` holds a normalised Apollo
cache (``props.pageProps.__APOLLO_STATE__``) where each event is an ``Event:<id>`` entry
(``title``, ``dateTime``, ``endTime``, ``eventUrl``, ``timezone``, ``status``,
``isOnline`` / ``eventType``) whose ``venue``, ``group`` and photo are references
(``{"__ref": "Venue:<id>"}``) to other entries. A group page lists its coming (and some
past) events this way; an event page holds one. The cache also carries other groups'
suggested events: only the page's own event (event page) or group's events (group page,
told by Next.js's ``query`` or the URL) are kept. Locale segments (``/fr-FR/``) are removed
from event addresses so a page read in French and its English twin give one URL.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from aggregator.raw import RawEvent
from crawlers.parsers.common import clean_text, parse_iso, zone
from crawlers.parsers.jsonfields import as_dict, as_float, ends_after, in_zone

PLATFORM = "meetup"
_LOCALE = re.compile(r"^(https?://(?:www\.)?meetup\.com)/[a-z]{2}(?:-[A-Za-z]{2})?(?=/)", re.I)
_PAGE = re.compile(
    r"https?://(?:www\.)?meetup\.com/(?P<group>[\w-]+)(?:/events/(?P<event>\d+))?", re.I
)
_MAX_DEPTH = 6


def normalise_url(url: str | None) -> str | None:
    """A Meetup address without its locale segment (``/fr-FR/``), else unchanged."""
    if not url:
        return url
    return _LOCALE.sub(r"\1", url.strip())


def next_data(tree: Any) -> Any | None:
    """The parsed ``__NEXT_DATA__`` of a page (an lxml tree), or ``None``."""
    for script in tree.xpath('//script[@id="__NEXT_DATA__"]'):
        try:
            return json.loads(script.text or "", strict=False)
        except (ValueError, RecursionError):
            return None
    return None


def apollo_states(data: Any, depth: int = 0) -> Iterator[dict[str, Any]]:
    """The Apollo caches in a Next.js payload: dicts with ``Event:<id>`` keys."""
    if depth > _MAX_DEPTH or not isinstance(data, dict):
        return
    if any(isinstance(k, str) and k.startswith("Event:") for k in data):
        yield data
        return
    for value in data.values():
        yield from apollo_states(value, depth + 1)


def recognise(data: Any) -> bool:
    """True when a Next.js payload holds Meetup events."""
    return any(True for _ in apollo_states(data))


def read(data: Any, *, url: str) -> list[RawEvent]:
    """The events of the Apollo state(s) of a Meetup page: on an event page that event, on a
    group page that group's events (the cache also holds other groups' suggested events)."""
    events: list[RawEvent] = []
    seen: set[str] = set()
    group, event_id = page_subject(data, url)
    for state in apollo_states(data):
        for key, entry in state.items():
            if not (isinstance(key, str) and key.startswith("Event:") and isinstance(entry, dict)):
                continue
            event = _event(entry, state, url)
            if event is None or (event.uid or key) in seen:
                continue
            seen.add(event.uid or key)
            events.append(event)
    if event_id and any(e.uid == event_id for e in events):
        return [e for e in events if e.uid == event_id]
    if group and any(_of_group(e, group) for e in events):
        return [e for e in events if _of_group(e, group)]
    return events


def page_subject(data: Any, url: str) -> tuple[str | None, str | None]:
    """(group urlname, event id) the page is about, from Next.js's ``query`` or the URL."""
    query = as_dict(data.get("query")) if isinstance(data, dict) else {}
    group, event_id = query.get("urlname"), query.get("eventId")
    if not group or not event_id:
        match = _PAGE.match(normalise_url(url) or "")
        if match:
            group, event_id = group or match["group"], event_id or match["event"]
    return (
        str(group).lower() if isinstance(group, str) and group else None,
        str(event_id) if isinstance(event_id, str | int) and event_id else None,
    )


def _of_group(event: RawEvent, group: str) -> bool:
    return f"meetup.com/{group}/".lower() in (event.url or "").lower()


def _resolve(value: Any, state: dict[str, Any]) -> dict[str, Any]:
    """An entry given inline or as ``{"__ref": "Type:id"}``."""
    if isinstance(value, dict) and isinstance(value.get("__ref"), str):
        return as_dict(state.get(value["__ref"]))
    return as_dict(value)


def _event(entry: dict[str, Any], state: dict[str, Any], url: str) -> RawEvent | None:
    title = clean_text(entry.get("title") or entry.get("name"))
    start = parse_iso(entry.get("dateTime"))
    if not title or start is None:
        return None
    tz = zone(entry.get("timezone") if isinstance(entry.get("timezone"), str) else None)
    end = parse_iso(entry.get("endTime"))
    if tz is not None:
        start, end = in_zone(start, tz), in_zone(end, tz)
    venue = _resolve(entry.get("venue"), state)
    group = _resolve(entry.get("group"), state)
    online_venue = _resolve(entry.get("onlineVenue"), state)
    kind = str(entry.get("eventType") or "").upper()
    online: bool | None = None
    if entry.get("isOnline") is True or kind in ("ONLINE", "HYBRID"):
        online = True
    elif entry.get("isOnline") is False or kind == "PHYSICAL":
        online = False
    event_id = str(entry.get("id") or "") or None
    link = normalise_url(entry.get("eventUrl") if isinstance(entry.get("eventUrl"), str) else None)
    if not link and event_id and isinstance(group.get("urlname"), str):
        link = f"https://www.meetup.com/{group['urlname']}/events/{event_id}/"
    if kind == "ONLINE" or (online and not venue.get("address")):
        venue = {"name": venue.get("name")}  # an online venue's coordinates are a placeholder
    status = str(entry.get("status") or "").upper()
    country = venue.get("country")
    online_link = online_venue.get("url")
    return RawEvent(
        title=title,
        start=start,
        end=end if ends_after(end, start) else None,
        timezone=tz.key if tz else None,
        uid=event_id,
        url=link,
        description=clean_text(entry.get("description"), keep_lines=True),
        venue=clean_text(venue.get("name")),
        address=clean_text(venue.get("address")),
        city=clean_text(venue.get("city")),
        postcode=clean_text(venue.get("postalCode") or venue.get("zip")),
        country=country.upper() if isinstance(country, str) and country else None,
        latitude=as_float(venue.get("lat")),
        longitude=as_float(venue.get("lng") if "lng" in venue else venue.get("lon")),
        online=online,
        online_url=online_link if isinstance(online_link, str) and online_link else None,
        status="cancelled" if status in ("CANCELLED", "CANCELED") else None,
        organizer=clean_text(group.get("name")),
        image=_photo(_resolve(entry.get("featuredEventPhoto"), state)),
        price=_fee(as_dict(entry.get("feeSettings"))),
        source_format=PLATFORM,
        source_url=url,
    )


def _photo(photo: dict[str, Any]) -> str | None:
    for key in ("highResUrl", "source", "standardUrl"):
        value = photo.get(key)
        if isinstance(value, str) and value.startswith("http"):
            return value
    return None


def _fee(fee: dict[str, Any]) -> str | None:
    amount = as_float(fee.get("amount"))
    if amount is None:
        return None
    if amount == 0:
        return None
    shown = f"{amount:.2f}".rstrip("0").rstrip(".")
    return f"{shown} {fee.get('currency') or ''}".strip()
