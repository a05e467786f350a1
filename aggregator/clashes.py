"""Clash radar: the other tech events of the region on the same evening.

An organizer choosing a date, or an admin looking at a source, wants to know what else the
region's tech community has on that evening. "Evening" is 17:00 to midnight local time,
when meetups happen; all-day events do not clash with an evening.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session

from aggregator.models import Event, EventStatus
from aggregator.queries import agenda_events
from aggregator.regions import Region

EVENING_STARTS = time(17, 0)


def is_evening(start: datetime | None, tz: ZoneInfo) -> bool:
    """True when an instant falls in the evening (17:00–24:00) of its local day."""
    return start is not None and start.astimezone(tz).time() >= EVENING_STARTS


def evening_clashes(
    session: Session,
    *,
    region: Region,
    days: Iterable[date],
    exclude_ids: Iterable[int] = (),
    exclude_urls: Iterable[str] = (),
    limit_per_day: int = 10,
) -> dict[date, list[Event]]:
    """Per local day, the agenda's evening events (not cancelled) other than the excluded ones."""
    tz = region.tz
    skip_ids, skip_urls = set(exclude_ids), {u for u in exclude_urls if u}
    found: dict[date, list[Event]] = {}
    for day in sorted(set(days)):
        start = datetime.combine(day, EVENING_STARTS, tzinfo=tz)
        end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
        events = [
            e
            for e in agenda_events(session, region=region, start=start, end=end)
            if not e.all_day
            and is_evening(e.start, tz)
            and e.start is not None
            and e.start.astimezone(tz).date() == day
            and e.status != EventStatus.cancelled
            and e.id not in skip_ids
            and e.url not in skip_urls
        ]
        if events:
            found[day] = events[:limit_per_day]
    return found
