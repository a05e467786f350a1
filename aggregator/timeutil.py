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
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aggregator.errors import InvalidInputError

DEFAULT_ZONE = "Europe/Paris"
"""The zone of a record when nothing says otherwise: the model and dataclass defaults, and a
new source's when its caller knows no region. Where the region is known, its pack's
``timezone`` (``region.toml``) wins."""

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


class UnknownZoneError(InvalidInputError, ValueError):
    """A name that is neither an IANA zone nor a known Windows zone name."""


@cache
def _lookup(text: str) -> ZoneInfo | None:
    name = _WINDOWS_ZONES.get(text.lower(), text)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def find_zone(name: object) -> ZoneInfo | None:
    """The zone an IANA (or common Windows) name means, ``None`` when empty or unknown."""
    if not isinstance(name, str) or not name.strip():
        return None
    return _lookup(name.strip())


def zone(name: str | ZoneInfo | None, default: str | None = None) -> ZoneInfo:
    """The ZoneInfo for an IANA (or common Windows) zone name (cached).

    Unknown or empty: the ``default`` zone when one is given (then UTC if that is unknown
    too), else :class:`UnknownZoneError`. A ZoneInfo passes through as it is.
    """
    if isinstance(name, ZoneInfo):
        return name
    found = find_zone(name)
    if found is not None:
        return found
    if default is None:
        raise UnknownZoneError(f"unknown timezone {name!r}")
    return find_zone(default) or ZoneInfo("UTC")


def local(value: datetime, tz: tzinfo) -> datetime:
    """``value`` on the wall clock of ``tz``: an aware instant converted, a floating (naive)
    local time given ``tz`` by the DST rule above (fold=0), written as ``tz`` shows it."""
    if value.tzinfo is None or value.utcoffset() is None:
        value = value.replace(tzinfo=tz, fold=0)
    return value.astimezone(UTC).astimezone(tz)


def as_utc(value: datetime, tz: tzinfo = UTC) -> datetime:
    """An aware UTC instant from an aware datetime, or from a floating one read in ``tz``."""
    return local(value, tz).astimezone(UTC)


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The first instant of ``day`` in ``tz``, as UTC."""
    return as_utc(datetime.combine(day, time(0, 0)), tz)


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
    start_utc = as_utc(start, tz)
    end_utc = as_utc(end, tz) if isinstance(end, datetime) else None
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
