"""The rows of the organizer preview: pure, on events the source check already placed in time.

What is *wrong* with a feed is :mod:`crawlers.lint`'s job (the same findings the admin's
check and ``techagenda sources check`` give); this module only lays the events out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from aggregator.normalize import NormalizedEvent
from aggregator.raw import RawEvent
from aggregator.regions import Region
from crawlers.lint import is_online, is_outside, is_upcoming


@dataclass(frozen=True)
class PreviewRow:
    title: str
    start: datetime | date | None
    all_day: bool
    place: str
    online: bool
    outside: bool
    url: str | None


def preview_rows(events: Sequence[RawEvent], region: Region, now: datetime) -> list[PreviewRow]:
    """One row per upcoming event (times already aware), in the order given."""
    return [
        PreviewRow(
            title=e.title,
            start=e.start,
            all_day=e.all_day,
            place=", ".join(x for x in (e.venue, e.city) if x),
            online=is_online(e),
            outside=is_outside(e, region),
            url=e.url,
        )
        for e in events
        if is_upcoming(e, now, region.tz)
    ]


def stored_rows(
    events: Sequence[NormalizedEvent], region: Region, now: datetime
) -> list[PreviewRow]:
    """One row per upcoming event as ingest would store it (cleaned title, resolved town,
    online decided), in the order given."""
    today = now.astimezone(region.tz).date()
    rows = []
    for e in events:
        start: datetime | date | None = e.start_date if e.all_day else e.start
        if e.all_day:
            last = e.end_date or e.start_date
            if last is None or last < today:
                continue
        elif e.start is None or max(e.start, e.end or e.start) < now:
            continue
        title = f"[{e.status}] {e.title}" if e.status in ("cancelled", "postponed") else e.title
        rows.append(
            PreviewRow(
                title=title,
                start=start.astimezone(region.tz) if isinstance(start, datetime) else start,
                all_day=e.all_day,
                place=", ".join(x for x in (e.venue, e.city) if x),
                online=e.online,
                outside=not e.in_region and not e.online,
                url=e.url,
            )
        )
    return rows
