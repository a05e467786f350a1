"""Pages for everyone: the agenda, one event, the archive of past digests."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from sqlmodel import col, select

from aggregator.errors import NotFoundError
from aggregator.models import Digest, Event
from aggregator.queries import agenda_events, event_sources
from aggregator.weeks import week_bounds
from web.agenda import AgendaFilter, agenda_filter, event_day, list_events, weekly_counts
from web.deps import NowDep, SessionDep
from web.i18n import request_language, translator
from web.present import event_jsonld, google_calendar_url, map_url, place_text
from web.rendering import render
from web.svg import weekly_bars

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 40


def topic_choices(request: Request) -> list[tuple[str, str]]:
    """(slug, label) of every topic of the taxonomy, in the page language."""
    labels: dict[str, str] = request.app.state.taxonomy.labels(request_language(request))
    return list(labels.items())


def public_event(session: SessionDep, event_id: int) -> Event:
    event = session.get(Event, event_id) if 0 < event_id < 2**63 else None  # no row has it
    if event is None or event.hidden:
        raise NotFoundError(f"no event {event_id}")
    return event


@router.get("/", response_class=HTMLResponse)
def agenda(
    request: Request,
    session: SessionDep,
    now: NowDep,
    filt: Annotated[AgendaFilter, Depends(agenda_filter)],
    page: int = 1,
) -> HTMLResponse:
    state = request.app.state
    lang = request_language(request)
    page = max(page, 1)
    events = list_events(
        session,
        state.region,
        filt,
        now,
        state.tz,
        limit=PAGE_SIZE + 1,
        offset=(page - 1) * PAGE_SIZE,
    )
    more = len(events) > PAGE_SIZE
    events = events[:PAGE_SIZE]
    days: list[tuple[object, list[Event]]] = []
    for event in events:
        day = event_day(event, state.tz)
        if days and days[-1][0] == day:
            days[-1][1].append(event)
        else:
            days.append((day, [event]))
    weeks = weekly_counts(session, state.region, filt, now, state.tz, lang)
    _ = translator(lang)
    chart = weekly_bars(weeks.pairs(), _("Événements par semaine, deux prochains mois"))
    return render(
        request,
        "agenda.html",
        {
            "days": days,
            "filt": filt,
            "page": page,
            "more": more,
            "chart": chart,
            "topics": topic_choices(request),
            "topic_labels": dict(topic_choices(request)),
            "towns": state.region.communes_sorted(),
            "feed_query": filt.query_string(),
            "next_query": filt.query_string(page=page + 1),
            "place_text": place_text,
        },
    )


@router.get("/events/{event_id:int}", response_class=HTMLResponse)
def event_page(request: Request, session: SessionDep, event_id: int) -> HTMLResponse:
    event = public_event(session, event_id)
    settings = request.app.state.settings
    page_url = f"{settings.base_url.rstrip('/')}/events/{event.id}"
    sources = event_sources(session, [event_id]).get(event_id, [])
    return render(
        request,
        "event.html",
        {
            "event": event,
            "place": place_text(event),
            "map_url": map_url(event),
            "google_url": google_calendar_url(event, page_url),
            "sources": sources,
            "jsonld": event_jsonld(event, page_url, sources),
            "topic_labels": dict(topic_choices(request)),
        },
    )


@router.get("/archive", response_class=HTMLResponse)
def archive(request: Request, session: SessionDep) -> HTMLResponse:
    region = request.app.state.region
    digests = session.exec(
        select(Digest)
        .where(Digest.region == region.name, Digest.status == "sent")
        .order_by(col(Digest.week).desc())
    ).all()
    return render(request, "archive.html", {"digests": digests})


@router.get("/archive/{week}", response_class=HTMLResponse)
def archive_week(request: Request, session: SessionDep, week: str) -> HTMLResponse:
    """The events of one past digest's week, as the agenda lists them."""
    state = request.app.state
    digest = session.exec(
        select(Digest).where(Digest.region == state.region.name, Digest.week == week)
    ).first()
    if digest is None or digest.status != "sent":
        raise NotFoundError(f"no digest for {week}")
    start, end = week_bounds(week, state.region.timezone)
    events = agenda_events(session, region=state.region, start=start, end=end)
    days: list[tuple[object, list[Event]]] = []
    for event in events:
        day = event_day(event, state.tz)
        if days and days[-1][0] == day:
            days[-1][1].append(event)
        else:
            days.append((day, [event]))
    return render(
        request,
        "archive_week.html",
        {
            "digest": digest,
            "days": days,
            "topic_labels": dict(topic_choices(request)),
            "place_text": place_text,
        },
    )
