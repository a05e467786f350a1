"""OpenAgenda: the API v2 (``/v2/agendas/{uid}/events``), its exports (``events.v2.json``)
and the legacy ``events.json`` export.

Shapes met in the wild, all read here: the ``{total, events, after}`` wrapper, a bare
array of events, one event object (or ``{"event": {...}}``). One event with N ``timings``
is N occurrences of one series (occurrence uid ``<uid>#<begin UTC>``). An event
with no ``timings`` list (the API's default answer) but ``firstTiming``/``lastTiming``/
``nextTiming`` is one occurrence (see ``_summary_span``); with none of them, its French
date text (``dateRange``, "Lundi 6 janvier, 11h00") is read. The legacy export writes its
place in ``locations[]`` (each with ``dates[]``) or in flat fields (``locationName``,
``address``, ``city``) and its timings as ``{start, end}``.

Multilingual fields pick the source language, then French, then English, then any.
``status``: 2 rescheduled, 3 moved online, 4 postponed, 6 cancelled (1 scheduled and
5 full say nothing we keep). ``attendanceMode``: 1 on site, 2 online, 3 mixed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from aggregator.raw import RawEvent, SourceDefaults
from crawlers.parsers.common import clean_text, localize, parse_iso, zone
from crawlers.parsers.jsonfields import as_dict, as_float, dicts, ends_after, in_language, in_zone
from crawlers.parsers.textdates import find_when

PLATFORM = "openagenda"
_STATUS = {2: "rescheduled", 4: "postponed", 6: "cancelled"}
_MOVED_ONLINE = 3
_SHORT_EXTENT = timedelta(days=7)
_PLATFORM_ZONE = "Europe/Paris"
_API_AGENDA = re.compile(r"openagenda\.com/(?:v\d+/)?agendas/(\d+)(?:/|$)")
_TIMING_KEYS = ("timings", "firstTiming", "lastTiming", "nextTiming", "dateRange", "locations")


def recognise(data: Any) -> bool:
    """True when ``data`` is an OpenAgenda response, export or event."""
    return bool(event_items(data))


def event_items(data: Any) -> list[dict[str, Any]]:
    """The OpenAgenda events of a response (wrapper, bare array, single event)."""
    if isinstance(data, dict) and isinstance(data.get("event"), dict):
        data = data["event"]
    if isinstance(data, dict) and _is_event(data):
        return [data]
    items = data.get("events") if isinstance(data, dict) else data
    if not isinstance(items, list):
        return []
    found = [item for item in items if isinstance(item, dict)]
    return found if found and any(_is_event(item) for item in found[:20]) else []


def _is_event(item: dict[str, Any]) -> bool:
    if "title" not in item or not ("uid" in item or "slug" in item):
        return False
    return any(key in item for key in _TIMING_KEYS) or "firstDate" in item


def read(data: Any, *, url: str, defaults: SourceDefaults) -> list[RawEvent]:
    """Every occurrence of every event in an OpenAgenda document."""
    return [e for item in event_items(data) for e in _occurrences(item, url, defaults)]


def _occurrences(item: dict[str, Any], url: str, defaults: SourceDefaults) -> list[RawEvent]:
    language = defaults.language
    title = clean_text(in_language(item.get("title"), language))
    if not title:
        return []
    location = _location(item)
    tz_name = item.get("timezone") or location.get("timezone")
    # OpenAgenda's documented default zone (online events have no place) is Europe/Paris.
    tz = zone(tz_name if isinstance(tz_name, str) else None) or zone(
        defaults.timezone or _PLATFORM_ZONE
    )
    spans = list(dict.fromkeys(_spans(item, location, tz, defaults)))
    if not spans:
        return []
    uid = str(item.get("uid") or item.get("slug") or "") or None
    base = _base(item, location, title, tz.key if tz else None, url, language)
    events = []
    for start, end in spans:
        start, end = in_zone(start, tz), in_zone(end, tz)
        occurrence, series = uid, None
        if len(spans) > 1 and uid:
            key = start.astimezone(UTC) if isinstance(start, datetime) else start
            occurrence, series = f"{uid}#{key.isoformat()}", uid
        events.append(base.with_(start=start, end=end, uid=occurrence, series_uid=series))
    return events


Span = tuple[datetime | date, datetime | date | None]


def _spans(
    item: dict[str, Any], location: dict[str, Any], tz: Any, defaults: SourceDefaults
) -> Iterator[Span]:
    """(start, end) of each occurrence: every ``timings`` entry, else one span from the
    first/last/next timings, else the legacy per-location dates, else the date text."""
    found = False
    for timing in dicts(item.get("timings")):
        span = _timing(timing, tz)
        if span is not None:
            found = True
            yield span
    if found:
        return
    summary = _summary_span(item, tz)
    if summary is not None:
        yield summary
        return
    for day in dicts(location.get("dates")):
        span = _legacy_date(day, tz)
        if span is not None:
            found = True
            yield span
    if found:
        return
    flat = _legacy_date(
        {"date": item.get("firstDate"), "timeStart": item.get("firstTimeStart"),
         "timeEnd": item.get("firstTimeEnd")},
        tz,
    )  # fmt: skip
    if flat is not None:
        yield flat
        return
    words = clean_text(in_language(item.get("dateRange") or item.get("range"), "fr"))
    reference = defaults.window_start.date() if defaults.window_start else None
    when = find_when(words, reference=reference) if words and reference else None
    if when is not None:
        yield _zoned(when.start, tz), _zoned(when.end, tz) if when.end else None


def _timing(timing: Any, tz: Any) -> Span | None:
    """``{"begin": ..., "end": ...}`` (or ``{start, end}``) as a span; ``None`` unreadable."""
    if not isinstance(timing, dict):
        return None
    start = parse_iso(timing.get("begin") or timing.get("start"))
    if start is None:
        return None
    start = _zoned(start, tz)
    end = parse_iso(timing.get("end"))
    end = _zoned(end, tz) if end is not None else None
    return start, end if ends_after(end, start) else None


def _summary_span(item: dict[str, Any], tz: Any) -> Span | None:
    """One occurrence for an event that gives no ``timings`` list (the API's default, non
    ``detailed`` answer), only ``firstTiming`` / ``lastTiming`` / ``nextTiming``.

    OpenAgenda documents these as the event's first, last and next-upcoming time slots
    (``nextTiming`` relative to when the answer was made); the slots between them are not
    given. Inventing them is not an option, and giving first and last as two occurrences
    drops every session in between. So: when first and last lie within a week (one day of
    sessions, "Lundi 6 janvier, 11h00, 15h00"; a weekend festival, "Du 3 au 5 juin"), the
    event is one span from the first begin to the last end, as its ``dateRange`` shows it;
    a longer extent is a series of unknown sessions, read as its next session
    (``nextTiming``), else its first one. Never a months-long invented span."""
    first, last = _timing(item.get("firstTiming"), tz), _timing(item.get("lastTiming"), tz)
    upcoming = _timing(item.get("nextTiming"), tz)
    known = [span for span in (first, upcoming, last) if span is not None]
    if not known:
        return None
    try:
        known.sort(key=lambda span: _instant(span[0]))
        within = _instant(known[-1][1] or known[-1][0]) - _instant(known[0][0]) <= _SHORT_EXTENT
    except TypeError:  # one side naive, the other aware: nothing to compare
        return upcoming or known[0]
    if not within:
        return upcoming or first or known[0]
    start, finish = known[0][0], known[-1][1] or known[-1][0]
    return start, finish if finish != start and ends_after(finish, start) else known[0][1]


def _instant(value: datetime | date) -> datetime:
    """A comparable moment: a date as its (naive) midnight."""
    if isinstance(value, datetime):
        return value
    return datetime.combine(value, time(0))


def _legacy_date(day: dict[str, Any], tz: Any) -> Span | None:
    """``{"date": "2026-03-12", "timeStart": "18:30", "timeEnd": "20:00"}`` (legacy export)."""
    on = parse_iso(day.get("date"))
    if not isinstance(on, date) or isinstance(on, datetime):
        return None
    begin, finish = _clock(day.get("timeStart")), _clock(day.get("timeEnd"))
    if begin is None:
        return on, None
    end = _zoned(datetime.combine(on, finish), tz) if finish and finish > begin else None
    return _zoned(datetime.combine(on, begin), tz), end


def _clock(value: Any) -> time | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return time.fromisoformat(value.strip().replace("h", ":"))
    except ValueError:
        return None


def _zoned(value: datetime | date, tz: Any) -> datetime | date:
    if isinstance(value, datetime) and value.tzinfo is None and tz is not None:
        return localize(value, tz)
    return value


def _location(item: dict[str, Any]) -> dict[str, Any]:
    """The event's place: ``location``, the first of legacy ``locations``, or flat fields."""
    location = as_dict(item.get("location"))
    if location:
        return location
    places = dicts(item.get("locations"))
    if places:
        first = dict(places[0])
        first.setdefault("name", first.get("placename") or first.get("placeName"))
        return first
    return {
        "name": item.get("locationName") or item.get("placename"),
        "address": item.get("address"),
        "city": item.get("city"),
        "postalCode": item.get("postalCode"),
        "latitude": item.get("latitude"),
        "longitude": item.get("longitude"),
        "timezone": item.get("locationTimezone"),
    }


def _base(
    item: dict[str, Any],
    location: dict[str, Any],
    title: str,
    tz_name: str | None,
    url: str,
    language: str | None,
) -> RawEvent:
    mode = _code(item.get("attendanceMode"))
    status = _code(item.get("status"))
    online = {1: False, 2: True, 3: True}.get(mode) if isinstance(mode, int) else None
    if status == _MOVED_ONLINE:
        online = True
    link = item.get("onlineAccessLink")
    if online is None and isinstance(link, str) and link.strip():
        online = True
    keywords = item.get("keywords") or item.get("tags")
    if isinstance(keywords, dict):
        keywords = keywords.get(language or "fr") or keywords.get("fr") or keywords.get("en")
    if isinstance(keywords, str):
        keywords = keywords.split(",")
    image = item.get("image")
    if isinstance(image, dict):
        image = (image.get("base") or "") + (image.get("filename") or "") or None
    country = location.get("countryCode")
    return RawEvent(
        title=title,
        start=None,
        timezone=tz_name,
        url=_event_url(item, url),
        description=clean_text(
            in_language(item.get("longDescription"), language)
            or in_language(item.get("description"), language),
            keep_lines=True,
        ),
        venue=clean_text(location.get("name")),
        address=clean_text(location.get("address")),
        city=clean_text(location.get("city")),
        postcode=clean_text(location.get("postalCode")),
        country=country.strip().upper() or None if isinstance(country, str) else None,
        latitude=as_float(location.get("latitude")),
        longitude=as_float(location.get("longitude")),
        online=online,
        online_url=link.strip() if isinstance(link, str) and link.strip() else None,
        status=_STATUS.get(status) if isinstance(status, int) else None,
        price=clean_text(in_language(item.get("conditions"), language)),
        image=image if isinstance(image, str) and image else None,
        categories=tuple(
            k for raw in keywords or [] if isinstance(raw, str) and (k := clean_text(raw))
        ),
        source_format=PLATFORM,
        source_url=url,
    )


def _code(value: Any) -> int | None:
    """A numeric code written 6, "6" or ``{"id": 6, "label": ...}``."""
    if isinstance(value, dict):
        value = value.get("id", value.get("value"))
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return value if isinstance(value, int) else None


def _event_url(item: dict[str, Any], source_url: str) -> str | None:
    """The event page: its own address, else built from the agenda's slug, else from the
    agenda's uid (``originAgenda.uid`` or the API address ``/v2/agendas/<uid>/events``)."""
    for key in ("canonicalUrl", "url", "link"):
        value = item.get(key)
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            return value
    agenda = as_dict(item.get("originAgenda"))
    slug, agenda_slug = item.get("slug"), agenda.get("slug")
    if not (isinstance(slug, str) and slug):
        slug = str(item.get("uid") or "") or None
    if not slug:
        return None
    if isinstance(agenda_slug, str) and agenda_slug:
        return f"https://openagenda.com/{agenda_slug}/events/{slug}"
    agenda_uid = _code(agenda.get("uid"))
    if agenda_uid is None and (found := _API_AGENDA.search(source_url)):
        agenda_uid = int(found.group(1))
    return f"https://openagenda.com/agendas/{agenda_uid}/events/{slug}" if agenda_uid else None
