"""WordPress REST items (``/wp-json/wp/v2/<type>``): custom "agenda" / "evenement" post
types whose event fields live in ``meta`` or ``acf``.

Recognised by content: items with ``id``, ``link`` and a ``title`` written
``{"rendered": ...}``. Where the event fields are differs per site, so a source may give
a mapping (:attr:`aggregator.raw.SourceDefaults.mapping`): RawEvent field → dotted path
in the item (``{"start": "acf.date_debut", "start_time": "acf.heure_debut",
"venue": "acf.lieu.nom"}``). Without one, the usual keys of the common plugins are tried
(The Events Calendar's ``_EventStartDate``, Events Manager's ``_event_start_date`` /
``_event_start_time``, ACF fields named ``date_debut``, ``start_date``...). A post's own
``date`` is its publication date, never the event's: an agenda item (not a ``post`` or
``page``) with no date field is dated from its text ("le jeudi 12 mars à 18h30", a
missing year taken after the publication date); one with no event date at all is left
out, and a warning says a mapping is needed.

Dates are read as ISO 8601, ACF's ``Ymd`` (``20261012``), ``dd/mm/yyyy [HH:MM]`` or unix
seconds / milliseconds; wall times stay floating (the source's timezone applies later)
unless the item names its zone (``_EventTimezone``).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from typing import Any

from aggregator.raw import RawEvent, SourceDefaults
from crawlers.parsers.common import clean_text, localize, parse_iso, zone
from crawlers.parsers.jsonfields import as_dict, as_float, dicts, ends_after
from crawlers.parsers.textdates import find_when

PLATFORM = "wp-rest"
_FIELDS = {
    "start": ("_EventStartDate", "_event_start", "_event_start_date", "event_start_date",
              "start_date", "date_debut", "date_de_debut", "date_start", "event_date",
              "startDate", "date_evenement", "date"),
    "start_time": ("_event_start_time", "event_start_time", "start_time", "heure_debut",
                   "heure_de_debut", "heure"),
    "end": ("_EventEndDate", "_event_end", "_event_end_date", "event_end_date", "end_date",
            "date_fin", "date_de_fin", "date_end", "endDate"),
    "end_time": ("_event_end_time", "event_end_time", "end_time", "heure_fin", "heure_de_fin"),
    "venue": ("_EventVenueName", "venue", "lieu", "nom_du_lieu", "location_name", "location"),
    "address": ("adresse", "address", "_EventAddress"),
    "city": ("ville", "city", "commune", "_EventCity"),
    "postcode": ("code_postal", "postcode", "zip", "_EventZip"),
    "online_url": ("lien_visio", "online_url", "virtual_url", "lien_en_ligne"),
    "price": ("tarif", "prix", "price", "cost", "_EventCost"),
    "timezone": ("_EventTimezone", "timezone"),
}  # fmt: skip
_GROUPS = ("acf", "meta", "")  # where the usual keys are looked for, in this order
_YMD = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_DMY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T,]+(\d{1,2})[:h](\d{2}))?$")
_CLOCK = re.compile(r"^(\d{1,2})\s*[:hH]\s*(\d{2})?(?::\d{2})?\s*$")


def _is_item(item: Any) -> bool:
    return (
        isinstance(item, dict)
        and "id" in item
        and isinstance(item.get("link"), str)
        and isinstance(item.get("title"), dict)
        and "rendered" in item["title"]
    )


def items(data: Any) -> list[dict[str, Any]]:
    """The WordPress REST items of a response (a list of items, or one)."""
    if _is_item(data):
        return [data]
    found = dicts(data) if isinstance(data, list) else []
    return found if found and all(_is_item(item) for item in found[:20]) else []


def recognise(data: Any) -> bool:
    """True when ``data`` is a ``/wp-json/wp/v2/<type>`` answer."""
    return bool(items(data))


def read(data: Any, *, url: str, defaults: SourceDefaults) -> tuple[list[RawEvent], list[str]]:
    """(events, warnings) of WordPress REST items, through the source's mapping."""
    posts = items(data)
    events = [e for post in posts if (e := _event(post, url, defaults.mapping or {}))]
    warnings = []
    if posts and len(events) < len(posts):
        warnings.append(
            f"{len(posts) - len(events)} WordPress item(s) have no event date we can find; "
            "give the source a field mapping (for example start = acf.date_debut)"
        )
    return events, warnings


def lookup(item: dict[str, Any], path: str) -> Any:
    """The value at a dotted ``path`` ("acf.lieu.nom", "meta._EventStartDate", "x.0")."""
    value: Any = item
    for part in path.split("."):
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
        if isinstance(value, list) and len(value) == 1 and isinstance(value[0], str | int):
            value = value[0]  # register_meta single values come as one-item lists
    return value


def _field(item: dict[str, Any], name: str, mapping: dict[str, str]) -> Any:
    if name in mapping:
        return lookup(item, mapping[name])
    for group in _GROUPS:
        holder = as_dict(item.get(group)) if group else item
        if not holder:
            continue
        for key in _FIELDS.get(name, ()):
            if group == "" and key in ("date", "location", "venue"):
                continue  # the post's own date is its publication date
            value = lookup(holder, key)
            if value not in (None, "", [], {}):
                return value
    return None


def _event(item: dict[str, Any], url: str, mapping: dict[str, str]) -> RawEvent | None:
    title = clean_text(_rendered(_field(item, "title", mapping) or item.get("title")))
    tz_name = _field(item, "timezone", mapping)
    tz = zone(tz_name if isinstance(tz_name, str) else None)
    start = _when(_field(item, "start", mapping), _field(item, "start_time", mapping), tz)
    end_day = _field(item, "end", mapping)
    end_clock = _field(item, "end_time", mapping)
    end = _when(end_day, end_clock, tz)
    if start is None and not mapping and item.get("type") not in ("post", "page"):
        start, end = _from_text(item)  # an agenda post type dated only in its text
    if not title or start is None:
        return None
    if end is None and end_clock not in (None, "") and isinstance(start, datetime):
        end = _when(start.date().isoformat(), end_clock, tz)
    venue = _field(item, "venue", mapping)
    place = as_dict(venue)  # ACF "lieu" may be a group {nom, adresse, ville}
    description = _field(item, "description", mapping) if "description" in mapping else None
    link = _field(item, "url", mapping) if "url" in mapping else item.get("link")
    return RawEvent(
        title=title,
        start=start,
        end=end if ends_after(end, start) else None,
        timezone=tz.key if tz else None,
        uid=str(item.get("id")),
        url=link if isinstance(link, str) and link else None,
        description=clean_text(
            _rendered(description)
            or _rendered(item.get("excerpt"))
            or _rendered(item.get("content")),
            keep_lines=True,
        ),
        venue=clean_text(place.get("nom") or place.get("name") if place else _scalar(venue)),
        address=clean_text(_scalar(_field(item, "address", mapping)) or place.get("adresse")),
        city=clean_text(_scalar(_field(item, "city", mapping)) or place.get("ville")),
        postcode=clean_text(_scalar(_field(item, "postcode", mapping))),
        latitude=as_float(place.get("lat")),
        longitude=as_float(place.get("lng")),
        online_url=_url(_field(item, "online_url", mapping)),
        price=clean_text(_scalar(_field(item, "price", mapping))),
        status="cancelled" if _cancelled(_field(item, "status", mapping)) else None,
        source_format=PLATFORM,
        source_url=url,
    )


def _from_text(item: dict[str, Any]) -> tuple[datetime | date | None, datetime | date | None]:
    """The date an agenda item's text gives ("le jeudi 12 mars à 18h30"); a missing year
    is taken after the item's publication date."""
    words = clean_text(_rendered(item.get("content")) or _rendered(item.get("excerpt")))
    published = parse_iso(item.get("date"))
    reference = published.date() if isinstance(published, datetime) else published
    if not words or reference is None:
        return None, None
    found = find_when(words, reference=reference)
    return (found.start, found.end) if found else (None, None)


def _rendered(value: Any) -> Any:
    return value.get("rendered") if isinstance(value, dict) else value


def _scalar(value: Any) -> str | None:
    return str(value) if isinstance(value, str | int | float) and value != "" else None


def _url(value: Any) -> str | None:
    return value if isinstance(value, str) and value.startswith(("http://", "https://")) else None


def _cancelled(value: Any) -> bool:
    return isinstance(value, str) and value.strip().lower() in ("annulé", "annule", "cancelled",
                                                                 "canceled")  # fmt: skip


def _when(day: Any, clock: Any, tz: Any) -> datetime | date | None:
    """A date or wall time from a plugin's date field and optional separate time field."""
    value = _instant(day)
    if value is None:
        return None
    at = _clock(clock)
    if at is not None and not isinstance(value, datetime):
        value = datetime.combine(value, at)
    if isinstance(value, datetime) and value.tzinfo is None and tz is not None:
        value = localize(value, tz)
    elif isinstance(value, datetime) and value.tzinfo is not None and tz is not None:
        value = value.astimezone(tz)
    return value


def _instant(value: Any) -> datetime | date | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float) or (isinstance(value, str) and value.isdigit()):
        number = int(value)
        if isinstance(value, str) and (match := _YMD.match(value)):
            return _date(int(match[1]), int(match[2]), int(match[3]))
        if number > 10**11:
            number //= 1000  # milliseconds
        if 10**8 < number < 10**10:
            return datetime.fromtimestamp(number, UTC)
        return None
    if not isinstance(value, str):
        return None
    text = value.strip()
    if match := _DMY.match(text):
        day = _date(int(match[3]), int(match[2]), int(match[1]))
        if day is None or match[4] is None:
            return day
        at = _clock(f"{match[4]}:{match[5]}")
        return datetime.combine(day, at) if at else day
    return parse_iso(text)


def _date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _clock(value: Any) -> time | None:
    match = _CLOCK.match(value) if isinstance(value, str) else None
    if match is None:
        return None
    hour, minute = int(match[1]), int(match[2] or 0)
    return time(hour, minute) if hour < 24 and minute < 60 else None
