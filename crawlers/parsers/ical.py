"""iCalendar (RFC 5545) through icalendar + recurring-ical-events.

Recurring series (RRULE, RDATE, EXDATE, RECURRENCE-ID overrides) are expanded into one
``RawEvent`` per occurrence inside ``defaults.window_start .. window_end``. When the
caller gives no window, the fallback window runs from the earliest DTSTART of the
document to one year after its latest one, so a document is never expanded forever.
Before expansion :mod:`crawlers.parsers.recurrence` bounds every series lazily (a cap
per series and per document, in count and in time): a hostile rule costs a warning
("too many occurrences"), a malformed one loses that rule, never the file.
Occurrences of a series get ``uid = "<UID>#<original start>"`` (UTC for instants) and
``series_uid = UID``; one-off events keep their UID.

X-WR-TIMEZONE (Google Calendar) is honoured through x-wr-timezone; Windows zone names
("Romance Standard Time") are mapped to IANA names by icalendar.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple

import icalendar
import recurring_ical_events
import x_wr_timezone

from aggregator.errors import ParseError
from aggregator.raw import RawEvent, SourceDefaults
from crawlers.parsers.common import (
    MAX_YEAR,
    MIN_YEAR,
    ONLINE_WORDS,
    canonical,
    clean_text,
    plausible,
    split_location,
    zone,
    zone_name,
)
from crawlers.parsers.recurrence import Bounding, Bounds, bound_recurrences

MAX_OCCURRENCES = 5000
_STATUS = {"CANCELLED": "cancelled", "TENTATIVE": "tentative", "CONFIRMED": "confirmed"}


def parse_ical(
    text: str, *, url: str, defaults: SourceDefaults
) -> tuple[list[RawEvent], list[str]]:
    """(events, warnings): every VEVENT occurrence of an iCalendar document in the window."""
    try:
        calendars = icalendar.Calendar.from_ical(text, multiple=True)
    except Exception as exc:  # icalendar raises ValueError, KeyError, IndexError...
        raise ParseError(f"not a readable iCalendar file ({_short(exc)})") from exc
    if not calendars:
        raise ParseError("not a readable iCalendar file (no complete VCALENDAR)")
    events: list[RawEvent] = []
    unreadable = out_of_range = 0
    bounding = Bounding()
    for calendar in calendars:
        kept = []
        for component in calendar.subcomponents:
            start = _start(component) if component.name == "VEVENT" else None
            if component.name == "VEVENT" and start is None:
                unreadable += 1
            elif start is not None and not plausible(start):
                out_of_range += 1
            else:
                kept.append(component)
        calendar.subcomponents[:] = kept
        found, bounded = _calendar_events(calendar, url=url, defaults=defaults)
        events.extend(found)
        bounding.too_many += bounded.too_many
        bounding.malformed += bounded.malformed
    if len(events) > MAX_OCCURRENCES:
        events = events[:MAX_OCCURRENCES]
        bounding.too_many += 1
    warnings = []
    if unreadable:
        warnings.append(f"{unreadable} calendar event(s) have no readable start and were skipped")
    if out_of_range:
        warnings.append(
            f"{out_of_range} calendar event(s) have a date out of range (before year "
            f"{MIN_YEAR} or after {MAX_YEAR}) and were skipped"
        )
    warnings.extend(bounding.warnings())
    return events, warnings


def _start(component: Any) -> date | None:
    """The DTSTART icalendar reads, or None when it is missing or garbled."""
    try:
        start = component.decoded("DTSTART")
    except Exception:  # a missing or garbled DTSTART, whatever icalendar raises
        return None
    return start if isinstance(start, date) else None


def _calendar_events(
    calendar: icalendar.Calendar, *, url: str, defaults: SourceDefaults
) -> tuple[list[RawEvent], Bounding]:
    wr_zone = str(calendar.get("X-WR-TIMEZONE", "")).strip() or None
    try:
        if wr_zone and zone(wr_zone):
            calendar = x_wr_timezone.to_standard(calendar)
        masters = [c for c in calendar.walk("VEVENT") if "DTSTART" in c]
        if not masters:
            return [], Bounding()
        recurring = _recurring_uids(masters)
        window_start, window_end = _window(masters, defaults)
        bounding = bound_recurrences(
            (c for c in masters if "RECURRENCE-ID" not in c), Bounds(window_start, window_end)
        )
        query = recurring_ical_events.of(calendar, skip_bad_series=True)
        occurrences = _occurrences(query, window_start, window_end)
    except ParseError:
        raise
    except Exception as exc:
        raise ParseError(f"iCalendar file has an unreadable event ({_short(exc)})") from exc
    events = []
    details: dict[int, _Details | None] = {}  # per source VEVENT: a series reads it once
    for seen in occurrences:
        try:
            event = _to_raw(seen, recurring, wr_zone, url, details)
        except Exception:  # a broken property icalendar only reports on access
            event = None
        if event is not None:
            events.append(event)
    return events, bounding


class _Seen(NamedTuple):
    """One occurrence: its source VEVENT, its start and end, its RECURRENCE-ID."""

    component: Any
    start: date
    end: date | None
    recurrence_id: date | None


def _occurrences(query: Any, start: datetime, end: datetime) -> list[_Seen]:
    """The first occurrences in the window, as ``between`` gives them, without the copy of
    its VEVENT that ``between`` makes for each (most of its cost on a file of one-off
    events): the occurrences hold what :func:`_to_raw` reads. Falls back to ``between``
    when the library's occurrences do not (another version)."""
    find = getattr(query, "_occurrences_between", None)
    if find is None:
        return [_copied(c) for c in query.between(start, end)[: MAX_OCCURRENCES + 1]]
    found = find(query.to_datetime(start), query.to_datetime(end))[: MAX_OCCURRENCES + 1]
    seen = []
    for occurrence in found:
        component = getattr(getattr(occurrence, "_adapter", None), "_component", None)
        if component is None or not hasattr(occurrence, "end"):
            seen.append(_copied(occurrence.as_component(query.keep_recurrence_attributes)))
            continue
        original = component.get("RECURRENCE-ID")
        at = original.dt if original is not None else occurrence.start
        seen.append(_Seen(component, occurrence.start, occurrence.end, at))
    return seen


def _copied(component: Any) -> _Seen:
    """The view of a VEVENT copy ``between`` made (its DTSTART, DTEND, RECURRENCE-ID set)."""
    end = component.decoded("DTEND") if "DTEND" in component else None
    original = component.get("RECURRENCE-ID")
    return _Seen(component, component.decoded("DTSTART"), end,
                 original.dt if original is not None else None)


def _recurring_uids(masters: list[Any]) -> set[str]:
    counts: dict[str, int] = {}
    recurring = set()
    for component in masters:
        uid = str(component.get("UID", ""))
        counts[uid] = counts.get(uid, 0) + 1
        if "RRULE" in component or "RDATE" in component or "RECURRENCE-ID" in component:
            recurring.add(uid)
    return recurring | {uid for uid, n in counts.items() if n > 1 and uid}


def _window(masters: list[Any], defaults: SourceDefaults) -> tuple[datetime, datetime]:
    if defaults.window_start is not None and defaults.window_end is not None:
        return defaults.window_start, defaults.window_end
    starts = [_as_utc(c.decoded("DTSTART")) for c in masters]
    start = defaults.window_start or min(starts)
    try:
        end = defaults.window_end or max(starts) + timedelta(days=366)
    except OverflowError:  # a DTSTART in year 9999
        end = datetime.max.replace(tzinfo=UTC)
    return start, end


def _as_utc(value: date | datetime) -> datetime:
    if not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


class _Details(NamedTuple):
    """What every occurrence of one VEVENT shares (read once per VEVENT)."""

    title: str
    uid: str | None
    fields: dict[str, Any]  # the RawEvent fields that do not depend on the occurrence


def _details(component: Any) -> _Details | None:
    title = clean_text(component.get("SUMMARY"))
    if not title:
        return None
    venue, address, postcode, city = split_location(component.get("LOCATION"))
    online = None
    if venue and venue.lower() in ONLINE_WORDS and not address:
        venue, online = None, True  # Meetup writes "Online event"
    latitude = longitude = None
    try:
        if (geo := component.get("GEO")) is not None:
            latitude, longitude = float(geo.latitude), float(geo.longitude)
    except Exception:  # icalendar's BrokenCalendarProperty for "GEO:garbage"
        latitude = longitude = None
    fields = {
        "url": str(component.get("URL", "")).strip() or None,
        "description": clean_text(component.get("DESCRIPTION"), keep_lines=True),
        "venue": venue,
        "address": address,
        "city": city,
        "postcode": postcode,
        "latitude": latitude,
        "longitude": longitude,
        "online": online,
        "status": _STATUS.get(str(component.get("STATUS", "")).upper()),
        "organizer": _organizer(component.get("ORGANIZER")),
        "categories": _categories(component),
    }
    return _Details(title, str(component.get("UID", "")).strip() or None, fields)


def _to_raw(
    seen: _Seen,
    recurring: set[str],
    wr_zone: str | None,
    url: str,
    details: dict[int, _Details | None],
) -> RawEvent | None:
    key = id(seen.component)
    if key not in details:
        try:
            details[key] = _details(seen.component)
        except Exception:  # a broken property: every occurrence of this VEVENT is lost
            details[key] = None
    shared = details[key]
    start, end = seen.start, seen.end
    if shared is None or start is None:
        return None
    if isinstance(start, datetime):
        start = canonical(start)
        end = canonical(end) if isinstance(end, datetime) and plausible(end) else None
        if end is not None and end <= start:
            end = None
        timezone = zone_name(start.tzinfo) or (wr_zone if zone(wr_zone) else None)
    else:
        last = end - timedelta(days=1) if isinstance(end, date) else start
        end = last if last >= start else start
        timezone = None
    uid = shared.uid
    series_uid = None
    if uid and uid in recurring:
        series_uid = uid
        original = seen.recurrence_id
        uid = f"{uid}#{_occurrence_key(original if original is not None else start)}"
    return RawEvent(
        title=shared.title,
        start=start,
        end=end,
        timezone=timezone,
        uid=uid,
        series_uid=series_uid,
        source_format="ical",
        source_url=url,
        **shared.fields,
    )


def _occurrence_key(value: date | datetime) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.strftime("%Y%m%dT%H%M%S")
        return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return value.strftime("%Y%m%d")


def _organizer(value: Any) -> str | None:
    if value is None:
        return None
    name = value.params.get("CN") if hasattr(value, "params") else None
    if name:
        return clean_text(name)
    text = str(value)
    return clean_text(text[7:] if text.lower().startswith("mailto:") else text)


def _categories(component: Any) -> tuple[str, ...]:
    values = component.get("CATEGORIES")
    if values is None:
        return ()
    found: list[str] = []
    for value in values if isinstance(values, list) else [values]:
        for cat in getattr(value, "cats", [value]):
            text = clean_text(cat)
            if text and text not in found:
                found.append(text)
    return tuple(found)


def _short(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return (text[:120] + "…") if len(text) > 120 else (text or type(exc).__name__)
