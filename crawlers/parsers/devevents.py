"""developers.events ``all-events.json``: the community list of tech conferences.

A bare array of ``{name, date: [epoch ms, ...], hyperlink, location, city, country,
misc, cfp, ...}``. ``date`` holds the first day and, for a conference of several days,
the last one: the events are all-day, first to last day (UTC dates). The list covers the
world, so when the source's defaults name its towns (``SourceDefaults.city``, several
separated by commas, or a ``cities`` entry of its mapping) only conferences held in one
of them are kept.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from aggregator.raw import RawEvent, SourceDefaults
from crawlers.parsers.common import clean_text
from crawlers.parsers.jsonfields import as_list, dicts
from crawlers.parsers.textdates import fold

PLATFORM = "developers.events"
_SPLIT = re.compile(r"\s*[,;|]\s*")


def _is_event(item: dict[str, Any]) -> bool:
    dates = item.get("date")
    return (
        "name" in item
        and "hyperlink" in item
        and isinstance(dates, list)
        and any(isinstance(d, int | float) and not isinstance(d, bool) for d in dates)
    )


def event_items(data: Any) -> list[dict[str, Any]]:
    """The conferences of an ``all-events.json`` (a bare array)."""
    found = dicts(data) if isinstance(data, list) else []
    return found if found and any(_is_event(item) for item in found[:20]) else []


def recognise(data: Any) -> bool:
    """True when ``data`` is a developers.events list."""
    return bool(event_items(data))


def towns(defaults: SourceDefaults) -> set[str]:
    """The source's towns, folded (accents and case removed); empty: no filter."""
    names = _SPLIT.split(defaults.city or "")
    names += _SPLIT.split((defaults.mapping or {}).get("cities", ""))
    return {_town(name) for name in names if name.strip()}


def _town(name: str) -> str:
    """A town name compared loosely: case, accents, hyphens and "St"/"Saint" aside."""
    words = re.sub(r"[-'\s]+", " ", fold(name)).strip().split()
    return " ".join("saint" if w in ("st", "st.") else w for w in words)


def read(data: Any, *, url: str, defaults: SourceDefaults) -> list[RawEvent]:
    """The conferences (of the source's towns, when it names some)."""
    wanted = towns(defaults)
    events = []
    for item in event_items(data):
        if wanted and not _in_towns(item, wanted):
            continue
        event = _event(item, url)
        if event is not None:
            events.append(event)
    return events


def _in_towns(item: dict[str, Any], wanted: set[str]) -> bool:
    city = item.get("city")
    if isinstance(city, str) and _town(city) in wanted:
        return True
    location = item.get("location")
    if isinstance(location, str):
        return _town(location.split("(")[0].split(",")[0]) in wanted
    return False


def _day(value: Any) -> date | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(value / 1000, UTC).date()
    except (OverflowError, OSError, ValueError):
        return None


def _event(item: dict[str, Any], url: str) -> RawEvent | None:
    title = clean_text(item.get("name"))
    days = [d for d in (_day(v) for v in as_list(item.get("date"))) if d is not None]
    if not title or not days:
        return None
    first, last = min(days), max(days)
    link = item.get("hyperlink")
    city = clean_text(item.get("city"))
    location = clean_text(item.get("location"))
    online = True if city and fold(city) in ("online", "en ligne", "virtual") else None
    return RawEvent(
        title=title,
        start=first,
        end=last if last != first else None,
        uid=f"{link or title}#{first.isoformat()}",
        url=link if isinstance(link, str) and link else None,
        description=clean_text(item.get("misc")),
        venue=location if location and not (city and location.startswith(city)) else None,
        city=city if not online else None,
        country=clean_text(item.get("country")),
        online=online,
        categories=tuple(
            t for raw in as_list(item.get("tags")) if isinstance(raw, str) if (t := clean_text(raw))
        ),
        source_format=PLATFORM,
        source_url=url,
    )
