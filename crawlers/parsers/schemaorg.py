"""schema.org ``Event`` (and every subtype) as plain dicts → ``RawEvent``.

Input is JSON-LD-shaped data, whatever the page syntax it came from (JSON-LD, microdata,
RDFa after :func:`compact_rdfa`). Handles ``@graph``, arrays, ``ItemList`` wrappers,
nested ``subEvent``; ``eventAttendanceMode``, ``eventStatus``; ``location`` as Place,
PostalAddress, VirtualLocation or an array of them; ``offers``; organizer; image.

Platform quirk handled here: WordPress "The Events Calendar" writes all-day events as
``00:00:00`` to ``23:59:59``; those become dates.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time
from functools import lru_cache
from typing import Any

from aggregator.place import is_online_location
from aggregator.raw import RawEvent
from crawlers.parsers.common import (
    MAX_YEAR,
    MIN_YEAR,
    accepted,
    clean_text,
    parse_iso,
    split_location,
)

EVENT_TYPES = frozenset(
    (
        "Event",
        "BusinessEvent",
        "ChildrensEvent",
        "ComedyEvent",
        "CourseInstance",
        "DanceEvent",
        "DeliveryEvent",
        "EducationEvent",
        "EventSeries",
        "ExhibitionEvent",
        "Festival",
        "FoodEvent",
        "Hackathon",
        "LiteraryEvent",
        "MusicEvent",
        "PublicationEvent",
        "BroadcastEvent",
        "OnDemandEvent",
        "SaleEvent",
        "ScreeningEvent",
        "SocialEvent",
        "SportsEvent",
        "TheaterEvent",
        "VisualArtsEvent",
    )
)
MAX_DEPTH = 12
# The parser note for events dropped for their start date (French, for the admin; its
# English is in web/translations_en.py under this text as the key).
OUT_OF_RANGE = (
    "{n} événement(s) ignoré(s) : date de début impossible ou hors des années "
    f"{MIN_YEAR} à {MAX_YEAR} ({{dates}})"
)
MAX_SHOWN = 3  # dates the note quotes
_DATE_SHAPED = re.compile(r"[+-]?\d{1,9}-\d{1,2}-\d{1,2}(?!\d)")  # 0000-01-01, 2026-13-45
_PLAIN_ISO = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:\d{2}|(?P<hhmm>[+-]\d{4}))?"
)
_ONLINE_MODES = {"OnlineEventAttendanceMode": True, "MixedEventAttendanceMode": True}
_STATUS = {
    "EventCancelled": "cancelled",
    "EventPostponed": "postponed",
    "EventRescheduled": "rescheduled",
    "EventScheduled": "confirmed",
    "EventMovedOnline": "confirmed",
}


def type_names(node: dict[str, Any]) -> set[str]:
    """The short type names of a node ("Event" for "http://schema.org/Event")."""
    raw = node.get("@type") or node.get("type") or []
    if type(raw) is str:
        return {_short_type(raw)}
    values = raw if isinstance(raw, list) else [raw]
    return {_short_type(str(v)) for v in values}


@lru_cache(maxsize=512)
def _short_type(value: str) -> str:
    return value.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]


def is_event(node: object) -> bool:
    return isinstance(node, dict) and bool(type_names(node) & EVENT_TYPES)


def find_events(data: object, depth: int = 0) -> Iterator[dict[str, Any]]:
    """Every Event node in a JSON-LD value, in document order (subEvents after parents)."""
    if depth > MAX_DEPTH:
        return
    if isinstance(data, list):
        for item in data:
            yield from find_events(item, depth + 1)
        return
    if not isinstance(data, dict):
        return
    if is_event(data):
        yield data
        yield from find_events(data.get("subEvent") or data.get("subEvents"), depth + 1)
        return
    for key in ("@graph", "itemListElement", "item", "mainEntity", "about", "event", "events"):
        if key in data:
            yield from find_events(data[key], depth + 1)


def events_from_schema(
    found: Iterable[tuple[str, dict[str, Any]]], *, page_url: str
) -> tuple[list[RawEvent], list[str]]:
    """(events, warnings) of ``(format, Event node)`` pairs: an event given twice (same
    title and start) once; the events dropped for an impossible start date, such as year
    0, 99999 or "2026-13-45", named in one warning (the page's other events stay)."""
    events: list[RawEvent] = []
    seen: set[tuple[str, str]] = set()
    dropped: list[str] = []
    for fmt, node in found:
        event = event_from_schema(node, fmt=fmt, page_url=page_url)
        if event is None:
            if (bad := impossible_start(node)) is not None:
                dropped.append(bad)
            continue
        key = (event.title, str(event.start))
        if key not in seen:
            seen.add(key)
            events.append(event)
    if not dropped:
        return events, []
    shown = ", ".join(list(dict.fromkeys(d[:40] for d in dropped))[:MAX_SHOWN])
    return events, [OUT_OF_RANGE.format(n=len(dropped), dates=shown)]


def impossible_start(node: dict[str, Any]) -> str | None:
    """The ``startDate`` of a titled Event node when it is written as a date but no day
    can be read from it (out of range or impossible); ``None`` otherwise."""
    text = _text(node.get("startDate"))
    if text is None or not clean_text(_text(node.get("name"))):
        return None
    if not _DATE_SHAPED.match(text) or parse_iso(text) is not None:
        return None
    return text


def event_from_schema(node: dict[str, Any], *, fmt: str, page_url: str) -> RawEvent | None:
    """One RawEvent from a schema.org Event node; ``None`` without a name or start."""
    title = clean_text(_text(node.get("name")))
    start = _when(_text(node.get("startDate")))
    if not title or start is None:
        return None
    end = _when(_text(node.get("endDate")))
    start, end = _all_day_quirk(start, end)
    if end is not None and (type(end) is not type(start) or _before(end, start)):
        end = None
    place = _location(node.get("location"))
    mode = str(_text(node.get("eventAttendanceMode")) or "").rsplit("/", 1)[-1]
    online = _ONLINE_MODES.get(mode)
    if mode == "OfflineEventAttendanceMode":
        online = False
    elif online is None and place["online"] is not None:
        online = place["online"]
    status_name = str(_text(node.get("eventStatus")) or "").rsplit("/", 1)[-1]
    url = _url(node.get("url")) or None
    return RawEvent(
        title=title,
        start=start,
        end=end,
        uid=_text(node.get("@id")) or url,
        url=url or (page_url if page_url.startswith(("http://", "https://")) else None),
        description=clean_text(_text(node.get("description")), keep_lines=True),
        venue=place["venue"],
        address=place["address"],
        city=place["city"],
        postcode=place["postcode"],
        country=place["country"],
        latitude=place["latitude"],
        longitude=place["longitude"],
        online=online,
        online_url=place["online_url"],
        status=_STATUS.get(status_name),
        organizer=_name(node.get("organizer")),
        image=_url(node.get("image")) or None,
        price=_price(node),
        categories=_keywords(node.get("keywords")),
        language=_text(node.get("inLanguage")) or None,
        source_format=fmt,
        source_url=page_url,
    )


def _when(text: str | None) -> date | datetime | None:
    """``parse_iso``, with its steps taken directly for the shape nearly every page writes
    ("2026-11-19T19:00:00+01:00", microformats' "+0100"), whose one rewrite is the offset's
    colon."""
    plain = _PLAIN_ISO.fullmatch(text) if text is not None else None
    if text is None or plain is None:
        return parse_iso(text)
    candidate = f"{text[:-2]}:{text[-2:]}" if plain.group("hhmm") else text
    try:
        parsed = datetime.fromisoformat(candidate)
    except ValueError:
        return parse_iso(text)
    return accepted(parsed)


def _before(end: date | datetime, start: date | datetime) -> bool:
    try:
        return end < start  # type: ignore[operator]
    except TypeError:  # naive vs aware
        return False


def _all_day_quirk(
    start: datetime | date, end: datetime | date | None
) -> tuple[datetime | date, datetime | date | None]:
    if (
        isinstance(start, datetime)
        and isinstance(end, datetime)
        and start.time() == time(0, 0)
        and end.time() >= time(23, 59)
    ):
        return start.date(), end.date()
    return start, end


def _text(value: Any) -> str | None:
    """A plain string from a JSON-LD value (first of a list, ``@value`` of an object)."""
    if type(value) is str:  # most values: the checks below change nothing for them
        return value.strip() or None
    if isinstance(value, list):
        value = next((v for v in value if v not in (None, "")), None)
    if isinstance(value, dict):
        value = value.get("@value", value.get("@id", value.get("name")))
    if value is None or isinstance(value, dict | list):
        return None
    return str(value).strip() or None


@lru_cache(maxsize=4096)
def _clean_short(text: str) -> str | None:
    return clean_text(text)


def _clean(text: str | None) -> str | None:
    """``clean_text`` of a short value (a venue, a town, an organizer), remembered: a
    page's events, and a site's pages, repeat them."""
    return None if text is None else _clean_short(text)


_split_location = lru_cache(maxsize=2048)(split_location)  # the same places, page after page


def _url(value: Any) -> str | None:
    if isinstance(value, list):
        value = next((v for v in value if v), None)
    if isinstance(value, dict):
        value = value.get("url") or value.get("contentUrl") or value.get("@id")
        return _url(value)
    return str(value).strip() if isinstance(value, str) and value.strip() else None


def _name(value: Any) -> str | None:
    if isinstance(value, list):
        names = [n for v in value if (n := _name(v))]
        return ", ".join(dict.fromkeys(names)) or None
    if isinstance(value, dict):
        return _clean(_text(value.get("name")) or _text(value.get("legalName")))
    return _clean(_text(value))


def _location(value: Any) -> dict[str, Any]:
    place: dict[str, Any] = dict.fromkeys(
        ("venue", "address", "city", "postcode", "country", "latitude", "longitude",
         "online_url"),
    )  # fmt: skip
    place["online"] = None
    items = value if isinstance(value, list) else [value]
    physical = virtual = False
    for item in items:
        if isinstance(item, str):
            if item.strip().startswith(("http://", "https://")) or is_online_location(item):
                virtual = True  # "Online event" stays the location's text; a URL is the link
                if "://" in item:
                    place["online_url"] = place["online_url"] or item.strip()
                else:
                    place["venue"] = place["venue"] or _clean(item)
                continue
            venue, address, postcode, city = _split_location(item)
            physical = True
            place.update(venue=venue, address=address, postcode=postcode, city=city)
        elif isinstance(item, dict):
            types = type_names(item)
            if "VirtualLocation" in types:
                virtual = True
                place["online_url"] = place["online_url"] or _url(item.get("url"))
                continue
            physical = True
            _fill_place(place, item, types)
    if physical or virtual:
        place["online"] = virtual  # a mixed (physical + virtual) event is online too
    return place


def _fill_place(place: dict[str, Any], item: dict[str, Any], types: set[str]) -> None:
    address = item if "PostalAddress" in types else item.get("address")
    if "PostalAddress" not in types:
        place["venue"] = _clean(_text(item.get("name")))
    if isinstance(address, list):
        address = address[0] if address else None
    if isinstance(address, dict):
        place["address"] = _clean(_text(address.get("streetAddress")))
        place["city"] = _clean(_text(address.get("addressLocality")))
        place["postcode"] = _clean(_text(address.get("postalCode")))
        country = address.get("addressCountry")
        place["country"] = _clean(
            _text(country.get("name") if isinstance(country, dict) else country)
        )
    elif isinstance(address, str):
        _, street, postcode, city = _split_location(f"x, {address}")
        place.update(address=street, postcode=postcode, city=city)
    geo = item.get("geo")
    if isinstance(geo, dict):
        try:
            place["latitude"] = float(_text(geo.get("latitude")) or "")
            place["longitude"] = float(_text(geo.get("longitude")) or "")
        except ValueError:
            place["latitude"] = place["longitude"] = None


def _price(node: dict[str, Any]) -> str | None:
    if node.get("isAccessibleForFree") in (True, "true", "True", "http://schema.org/True"):
        return "free"
    offers = node.get("offers")
    items = offers if isinstance(offers, list) else [offers]
    prices: list[str] = []
    for offer in items:
        if not isinstance(offer, dict):
            continue
        raw = _text(offer.get("price")) or _text(offer.get("lowPrice"))
        high = _text(offer.get("highPrice"))
        if raw is None:
            continue
        currency = _text(offer.get("priceCurrency")) or ""
        try:
            amount = float(raw.replace(",", ".").replace("€", "").strip())
        except ValueError:
            text = clean_text(raw)
            if text:
                prices.append(text)
            continue
        if amount == 0:
            prices.append("free")
        else:
            shown = _amount(amount)
            if high and not offer.get("price"):
                try:
                    top = float(high.replace(",", "."))
                except ValueError:
                    top = amount
                if top > amount:
                    shown = f"{shown}–{_amount(top)}"
            prices.append(f"{shown} {currency}".strip())
    unique = list(dict.fromkeys(prices))
    if not unique:
        return None
    if len(unique) > 1 and "free" in unique:
        unique.remove("free")
        return "free, " + ", ".join(unique)
    return ", ".join(unique)


def _amount(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:.2f}"


def _keywords(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, list) else str(value).split(",")
    return tuple(dict.fromkeys(t for item in items if (t := _clean(_text(item)))))


def compact_rdfa(nodes: list[Any]) -> list[dict[str, Any]]:
    """Expanded RDFa JSON-LD (full IRIs, ``@value`` lists) → compact schema.org dicts."""
    by_id = {n.get("@id"): n for n in nodes if isinstance(n, dict) and n.get("@id")}

    def compact(node: dict[str, Any], depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {"@type": sorted(type_names(node))}
        if isinstance(node.get("@id"), str) and not node["@id"].startswith("_:"):
            out["@id"] = node["@id"]
        for key, values in node.items():
            if key.startswith("@") or "schema.org" not in key:
                continue
            short = key.rstrip("/").rsplit("/", 1)[-1]
            value = values[0] if isinstance(values, list) and values else values
            if isinstance(value, dict) and "@id" in value and "@value" not in value:
                target = by_id.get(value["@id"])
                value = compact(target, depth + 1) if target and depth < 4 else value["@id"]
            elif isinstance(value, dict):
                value = value.get("@value")
            out[short] = value
        return out

    return [compact(n, 0) for n in nodes if is_event(n)]
