"""Machine-readable exports: iCalendar, Atom and JSON, with ETag / Last-Modified.

Every export takes the same filters as the agenda page (``web.agenda.AgendaFilter``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from aggregator.models import Event
from aggregator.queries import event_sources
from aggregator.read import PublicEvent, public_view
from web.agenda import AgendaFilter, agenda_filter, list_events
from web.deps import NowDep, SessionDep
from web.feeds import (
    build_atom,
    build_calendar,
    etag_of,
    http_date,
    last_modified_of,
    not_modified,
)
from web.i18n import Formatter
from web.present import place_text
from web.public import public_event

router = APIRouter()

FEED_LIMIT = 500


EventOut = PublicEvent  # one event as the JSON API shows it: the one read shape


class EventPage(BaseModel):
    """A page of events, with the link to the next one (null on the last page)."""

    items: list[EventOut]
    limit: int
    offset: int
    next: str | None


def _cached(request: Request, body: bytes, media_type: str, modified: datetime) -> Response:
    etag = etag_of(body)
    headers = {
        "ETag": etag,
        "Last-Modified": http_date(modified),
        "Cache-Control": "public, max-age=300",
    }
    if not_modified(
        request.headers.get("if-none-match"),
        request.headers.get("if-modified-since"),
        etag,
        modified,
    ):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


def _base(request: Request) -> str:
    return str(request.app.state.settings.base_url).rstrip("/")


@router.get("/feed.ics", tags=["exports"], response_class=Response)
def feed_ics(
    request: Request,
    session: SessionDep,
    now: NowDep,
    filt: Annotated[AgendaFilter, Depends(agenda_filter)],
) -> Response:
    """The agenda as an iCalendar feed (subscribe to it from any calendar app)."""
    state = request.app.state
    events = list_events(session, state.region, filt, now, state.tz, limit=FEED_LIMIT)
    body = build_calendar(
        events,
        base_url=_base(request),
        name=f"Agenda tech {state.region.display_name}",
        tz=state.region.timezone,
        now=now,
    )
    return _cached(request, body, "text/calendar; charset=utf-8", last_modified_of(events, now))


@router.get("/events/{event_id:int}.ics", tags=["exports"], response_class=Response)
def event_ics(request: Request, session: SessionDep, now: NowDep, event_id: int) -> Response:
    """One event as an iCalendar file."""
    event = public_event(session, event_id)
    state = request.app.state
    body = build_calendar(
        [event], base_url=_base(request), name=event.title, tz=state.region.timezone, now=now
    )
    response = _cached(
        request, body, "text/calendar; charset=utf-8", last_modified_of([event], now)
    )
    response.headers["Content-Disposition"] = f'attachment; filename="event-{event_id}.ics"'
    return response


@router.get("/feed.xml", tags=["exports"], response_class=Response)
def feed_atom(
    request: Request,
    session: SessionDep,
    now: NowDep,
    filt: Annotated[AgendaFilter, Depends(agenda_filter)],
) -> Response:
    """The agenda as an Atom feed, one entry per upcoming event."""
    state = request.app.state
    events = list_events(session, state.region, filt, now, state.tz, limit=FEED_LIMIT)
    fmt = Formatter(state.region.language, state.tz)
    describe = {}
    for event in events:
        when = (
            fmt.day(event.start_date)
            if event.all_day
            else f"{fmt.day(event.start)}, {fmt.time(event.start)}"
        )
        describe[event.id or 0] = " · ".join(x for x in (when, place_text(event)) if x)
    modified = last_modified_of(events, now)
    query = filt.query_string()
    body = build_atom(
        events,
        base_url=_base(request),
        feed_url=f"{_base(request)}/feed.xml" + (f"?{query}" if query else ""),
        title=f"Agenda tech {state.region.display_name}",
        updated=modified,
        describe=describe,
    )
    return _cached(request, body, "application/atom+xml; charset=utf-8", modified)


def to_out(event: Event, base: str, sources: list[str]) -> EventOut:
    """The API's item: the one read shape of an event (``aggregator.read``)."""
    return public_view(event, base_url=base, sources=sources)


@router.get("/api/events", tags=["api"], response_model=EventPage)
def api_events(
    request: Request,
    session: SessionDep,
    now: NowDep,
    filt: Annotated[AgendaFilter, Depends(agenda_filter)],
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> EventPage:
    """Upcoming events (from now, or ``from``, to sixty days ahead, or ``to``), paginated."""
    state = request.app.state
    events = list_events(session, state.region, filt, now, state.tz, limit=limit + 1, offset=offset)
    has_next = len(events) > limit
    events = events[:limit]
    sources = event_sources(session, [e.id for e in events if e.id is not None])
    base = _base(request)
    next_url = (
        f"{base}/api/events?{filt.query_string(limit=limit, offset=offset + limit)}"
        if has_next
        else None
    )
    return EventPage(
        items=[to_out(e, base, sources.get(e.id or 0, [])) for e in events],
        limit=limit,
        offset=offset,
        next=next_url,
    )
