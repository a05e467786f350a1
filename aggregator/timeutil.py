"""Times as a UTC instant plus the IANA timezone they were announced in.

Rules (pure functions, never raise on junk):

* An aware datetime is an instant; its zone name is the declared ``timezone`` when valid,
  else the source's default.
* A naive datetime is a *floating* local time: it takes the declared zone, else the
  source's default zone.
* A ``date`` is an all-day event: it stays a date (``start_date``/``end_date``, inclusive);
  ``start`` is local midnight of the first day, as UTC, so that sorting works, and ``end``
  is local midnight after the last day.
* DST, following RFC 5545 §3.3.5: a local time that does **not exist** (02:30 on
  29 March 2026 in Europe/Paris, inside the spring-forward gap) is read with the offset in
  force *before* the gap, so it lands one hour later on the wall clock: 03:30 CEST
  (01:30 UTC). A local time that happens **twice** (02:30 on 25 October 2026) is the
  *first* occurrence, still in summer time: 02:30 CEST (00:30 UTC). Both are what
  ``zoneinfo`` gives with ``fold=0``.
* A missing end stays ``None`` for timed events; an all-day event without an end lasts its
  one day. An end before the start is flagged (``end_before_start``) and dropped, never
  silently swapped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_WINDOWS_ZONES = {
    "romance standard time": "Europe/Paris",
    "w. europe standard time": "Europe/Berlin",
    "central europe standard time": "Europe/Budapest",
    "gmt standard time": "Europe/London",
    "eastern standard time": "America/New_York",
    "utc": "UTC",
    "z": "UTC",
}


@dataclass(frozen=True, slots=True)
class Timing:
    """The resolved times of one event."""

    start: datetime | None
    end: datetime | None
    all_day: bool
    start_date: date | None
    end_date: date | None
    timezone: str
    end_before_start: bool = False


def zone(name: str | None, default: str = "Europe/Paris") -> ZoneInfo:
    """The ZoneInfo for an IANA (or common Windows) zone name, else the default zone."""
    for candidate in (name, default, "UTC"):
        if not candidate or not isinstance(candidate, str):
            continue
        text = candidate.strip()
        text = _WINDOWS_ZONES.get(text.lower(), text)
        try:
            return ZoneInfo(text)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            continue
    return ZoneInfo("UTC")


def localize(naive: datetime, tz: ZoneInfo) -> datetime:
    """Attach ``tz`` to a floating local time by the DST rule above (fold=0), as UTC."""
    return naive.replace(tzinfo=tz, fold=0).astimezone(UTC)


def to_utc(value: datetime, tz: ZoneInfo) -> datetime:
    """An aware UTC instant from an aware or floating datetime."""
    if value.tzinfo is None or value.utcoffset() is None:
        return localize(value, tz)
    return value.astimezone(UTC)


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The first instant of ``day`` in ``tz``, as UTC."""
    return localize(datetime.combine(day, time(0, 0)), tz)


def resolve(
    start: datetime | date | None,
    end: datetime | date | None,
    declared: str | None,
    default: str,
) -> Timing:
    """Resolve a source's start/end into a :class:`Timing` (see the module rules)."""
    tz = zone(declared, default)
    name = str(tz.key) if hasattr(tz, "key") else default
    try:
        if isinstance(start, datetime):
            return _timed(start, end, tz, name)
        if isinstance(start, date):
            return _all_day(start, end, tz, name)
    except (OverflowError, ValueError):
        pass
    return Timing(None, None, False, None, None, name)


def _timed(start: datetime, end: datetime | date | None, tz: ZoneInfo, name: str) -> Timing:
    start_utc = to_utc(start, tz)
    end_utc = to_utc(end, tz) if isinstance(end, datetime) else None
    flagged = end_utc is not None and end_utc < start_utc
    if flagged:
        end_utc = None
    start_day = start_utc.astimezone(tz).date()
    end_day = (end_utc - timedelta(microseconds=1)).astimezone(tz).date() if end_utc else None
    if end_day is not None and end_day < start_day:
        end_day = start_day
    return Timing(start_utc, end_utc, False, start_day, end_day, name, flagged)


def _all_day(start: date, end: datetime | date | None, tz: ZoneInfo, name: str) -> Timing:
    last = end.astimezone(tz).date() if isinstance(end, datetime) and end.tzinfo else end
    if isinstance(last, datetime):
        last = last.date()
    flagged = last is not None and last < start
    if last is None or flagged:
        last = start
    return Timing(
        local_midnight(start, tz),
        local_midnight(last + timedelta(days=1), tz),
        True,
        start,
        last,
        name,
        flagged,
    )
