"""What the organizer preview tells a person about a feed: pure, on parsed events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from aggregator.raw import RawEvent
from aggregator.regions import Region


@dataclass(frozen=True)
class PreviewWarning:
    """One thing to fix, as a French message with a count (translated by the page)."""

    message: str
    count: int = 0


@dataclass(frozen=True)
class PreviewRow:
    title: str
    start: datetime | date | None
    all_day: bool
    place: str
    online: bool
    outside: bool
    url: str | None


def place_in_zone(event: RawEvent, tz: ZoneInfo) -> RawEvent:
    """A floating time read as local time in ``tz``."""
    start, end = event.start, event.end
    if isinstance(start, datetime) and start.tzinfo is None:
        start = start.replace(tzinfo=tz)
    if isinstance(end, datetime) and end.tzinfo is None:
        end = end.replace(tzinfo=tz)
    return event.with_(start=start, end=end)


def is_outside(event: RawEvent, region: Region) -> bool:
    """True when the event names a place and that place is not in the region."""
    if event.online and not (event.city or event.address or event.venue):
        return False
    known = event.city or event.postcode or event.address or event.latitude is not None
    if not known:
        return False
    located = region.locate(
        event.city,
        event.postcode,
        event.latitude,
        event.longitude,
        address=event.address,
        venue=event.venue,
    )
    return located is None


def review(
    events: list[RawEvent], region: Region, now: datetime
) -> tuple[list[PreviewRow], list[PreviewWarning]]:
    """Rows to show and warnings a person can act on, for events parsed with no default
    timezone (so floating times are still naive here)."""
    tz = ZoneInfo(region.timezone)
    warnings: list[PreviewWarning] = []
    if not events:
        warnings.append(PreviewWarning("no_events"))
        return [], warnings
    undated = [e for e in events if e.start is None]
    floating = [e for e in events if isinstance(e.start, datetime) and e.start.tzinfo is None]
    placed = [place_in_zone(e, tz) for e in events]
    outside = [e for e in placed if is_outside(e, region)]
    nowhere = [e for e in placed if not (e.online or e.venue or e.city or e.address or e.latitude)]
    future = [e for e in placed if e.start is not None and _instant(e.start, tz) >= now]
    if undated:
        warnings.append(PreviewWarning("no_dates", len(undated)))
    if floating:
        warnings.append(PreviewWarning("floating", len(floating)))
    if outside:
        warnings.append(PreviewWarning("outside", len(outside)))
    if nowhere:
        warnings.append(PreviewWarning("no_place", len(nowhere)))
    if not future:
        warnings.append(PreviewWarning("no_future"))
    rows = [
        PreviewRow(
            title=e.title,
            start=e.start,
            all_day=e.all_day,
            place=", ".join(x for x in (e.venue, e.city) if x),
            online=bool(e.online),
            outside=e in outside,
            url=e.url,
        )
        for e in placed
    ]
    return rows, warnings


def _instant(value: datetime | date, tz: ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=tz)
    return datetime(value.year, value.month, value.day, 23, 59, tzinfo=tz).astimezone(UTC)
