"""The agenda filter shared by ``/``, ``/feed.ics``, ``/feed.xml`` and ``/api/events``.

One ``AgendaFilter`` parsed from the query string, turned into one call to
``aggregator.queries.agenda_events``, so every channel lists the same events.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from time import monotonic as time_monotonic
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from babel.dates import format_date
from fastapi import Query
from sqlmodel import Session

from aggregator.models import Event
from aggregator.queries import agenda_events, agenda_week_counts

DEFAULT_DAYS = 60
EARLIEST, LATEST = date(1900, 1, 1), date(9000, 12, 31)  # query days clamped: no overflow
CHART_WEEKS = 9


@dataclass(frozen=True)
class AgendaFilter:
    """What a visitor asked to see."""

    topics: tuple[str, ...] = ()
    towns: tuple[str, ...] = ()
    online: bool | None = None
    start: date | None = None
    end: date | None = None
    text: str | None = None

    def window(self, now: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """The UTC instants bounding the request: from its first day (or now) to the
        end of its last day (or sixty days ahead)."""
        today = now.astimezone(tz).date()
        first = min(max(self.start, EARLIEST), LATEST) if self.start else None
        start = datetime.combine(first, time(0), tz) if first else now
        last = min(max(self.end or (today + timedelta(days=DEFAULT_DAYS)), EARLIEST), LATEST)
        end = datetime.combine(last + timedelta(days=1), time(0), tz)
        return start, end

    def query_kwargs(self) -> dict[str, Any]:
        return {
            "topics": list(self.topics) or None,
            "towns": list(self.towns) or None,
            "online": self.online,
            "text": self.text or None,
        }

    def query_string(self, **extra: Any) -> str:
        """The filter as a query string (for links to the feeds and next pages)."""
        pairs: list[tuple[str, str]] = [("topic", t) for t in self.topics]
        pairs += [("town", t) for t in self.towns]
        if self.online is not None:
            pairs.append(("online", "yes" if self.online else "no"))
        if self.start:
            pairs.append(("from", self.start.isoformat()))
        if self.end:
            pairs.append(("to", self.end.isoformat()))
        if self.text:
            pairs.append(("q", self.text))
        pairs += [(k, str(v)) for k, v in extra.items() if v is not None]
        return urlencode(pairs)


def agenda_filter(
    topic: Annotated[list[str], Query(description="Topic slug; repeat for several")] = [],  # noqa: B006
    town: Annotated[list[str], Query(description="INSEE code of a town; repeat")] = [],  # noqa: B006
    online: Annotated[str | None, Query(description="yes: online only, no: in person")] = None,
    from_: Annotated[date | None, Query(alias="from", description="First day (local)")] = None,
    to: Annotated[date | None, Query(description="Last day (local), inclusive")] = None,
    q: Annotated[str | None, Query(max_length=200, description="Text search")] = None,
) -> AgendaFilter:
    """FastAPI dependency: the filter from the query string (empty values ignored)."""
    flag = {"yes": True, "true": True, "1": True, "no": False, "false": False, "0": False}
    return AgendaFilter(
        topics=tuple(t for t in topic if t),
        towns=tuple(t for t in town if t),
        online=flag.get((online or "").lower()),
        start=from_,
        end=to,
        text=(q or "").strip() or None,
    )


def list_events(
    session: Session,
    region: Any,
    filt: AgendaFilter,
    now: datetime,
    tz: ZoneInfo,
    *,
    limit: int | None = None,
    offset: int = 0,
) -> list[Event]:
    start, end = filt.window(now, tz)
    return agenda_events(
        session,
        region=region,
        start=start,
        end=end,
        limit=limit,
        offset=offset,
        **filt.query_kwargs(),
    )


@dataclass
class WeekCounts:
    labels: list[str] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)

    def pairs(self) -> list[tuple[str, int]]:
        return list(zip(self.labels, self.counts, strict=True))


CHART_TTL = 60.0  # seconds a weekly chart's counts are reused (per store, filter and week)
_chart_cache: dict[tuple[Any, ...], tuple[float, list[int]]] = {}
_chart_lock = threading.Lock()


def _cached_counts(
    session: Session, region: Any, bounds: list[datetime], filt: AgendaFilter
) -> list[int]:
    """``agenda_week_counts``, reused for ``CHART_TTL`` seconds: the chart on ``/`` is the
    same for every page and visitor, and a minute-old count is fine for it."""
    bind = session.get_bind()
    key = (id(bind), str(getattr(bind, "url", "")), getattr(region, "name", None), bounds[0],
           len(bounds), filt.topics, filt.towns, filt.online, filt.text)
    clock = time_monotonic()
    with _chart_lock:
        hit = _chart_cache.get(key)
    if hit is not None and hit[0] > clock:
        return hit[1]
    counts = agenda_week_counts(session, region=region, bounds=bounds, **filt.query_kwargs())
    with _chart_lock:
        if len(_chart_cache) >= 512:
            _chart_cache.clear()
        _chart_cache[key] = (clock + CHART_TTL, counts)
    return counts


def weekly_counts(
    session: Session, region: Any, filt: AgendaFilter, now: datetime, tz: ZoneInfo, lang: str
) -> WeekCounts:
    """Events per week from this week's Monday, for the next two months."""
    today = now.astimezone(tz).date()
    monday = today - timedelta(days=today.weekday())
    bounds = [
        datetime.combine(monday + timedelta(weeks=week), time(0), tz)
        for week in range(CHART_WEEKS + 1)
    ]
    counts = _cached_counts(session, region, bounds, filt)
    result = WeekCounts()
    for week in range(CHART_WEEKS):
        result.labels.append(format_date(monday + timedelta(weeks=week), "d MMM", locale=lang))
        result.counts.append(counts[week])
    return result


def event_day(event: Event, tz: ZoneInfo) -> date | None:
    """The local day an event starts on."""
    if event.start_date:
        return event.start_date
    if event.start:
        return event.start.astimezone(tz).date()
    return None
