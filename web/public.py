"""Pages for everyone: the agenda, one event, the archive of past digests."""

from __future__ import annotations

from babel.dates import format_date
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlmodel import col, select

from aggregator.errors import NotFoundError
from aggregator.models import Digest, Event
from aggregator.queries import agenda_events, event_changes, event_sources, series_dates
from aggregator.weeks import Week
from newsletter.select import moved_from
from web.agenda import (
    AgendaQuery,
    by_day,
    filter_chips,
    find_town,
    group_series,
    list_events,
    parse_agenda_query,
    town_slug,
    week_strip,
    weekly_counts,
)
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
        raise NotFoundError("Cet événement n'existe pas ou n'est plus publié.")
    return event


def read_agenda_query(request: Request) -> AgendaQuery:
    """The home page's query string, checked against the region's topics and towns."""
    state = request.app.state
    params: dict[str, list[str]] = {}
    for name, value in request.query_params.multi_items():
        params.setdefault(name, []).append(value)
    return parse_agenda_query(
        params,
        known_topics=state.taxonomy.labels("fr"),
        known_town=lambda value: find_town(state.region, value) is not None,
    )


@router.get("/", response_class=HTMLResponse)
def agenda(request: Request, session: SessionDep, now: NowDep) -> HTMLResponse:
    """The agenda with its filter form; a bad value is a message beside its field (422),
    the rest of the filter still applies."""
    state = request.app.state
    lang = request_language(request)
    _ = translator(lang)
    query = read_agenda_query(request)
    filt, page = query.filt, query.page
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
    events, series_later = group_series(events[:PAGE_SIZE])
    days = by_day(events, state.tz)
    weeks = weekly_counts(session, state.region, filt, now, state.tz, lang)
    chart = weekly_bars(weeks.pairs(), _("Événements par semaine, deux prochains mois"))
    topic_labels = dict(topic_choices(request))

    def town_label(value: str) -> str:
        commune = find_town(state.region, value)
        return commune.name if commune else value

    chips = filter_chips(
        filt,
        topic_label=lambda slug: topic_labels.get(slug, slug),
        town_label=town_label,
        day_label=lambda day: format_date(day, "d MMM y", locale=lang),
        _=_,
    )
    selected_towns = {town_slug(town_label(t)) for t in filt.towns}
    return render(
        request,
        "agenda.html",
        {
            "days": days,
            "series_later": series_later,
            "filt": filt,
            "raw": query.raw,
            "problems": {**query.notes, **query.problems},
            "chips": chips,
            "page": page,
            "more": more,
            "chart": chart,
            "weeks": week_strip(filt, weeks),
            "topics": topic_choices(request),
            "topic_labels": topic_labels,
            "towns": [(town_slug(c.name), c.name) for c in state.region.communes_sorted()],
            "selected_towns": selected_towns,
            "feed_query": filt.query_string(),
            "next_query": filt.query_string(page=page + 1),
            "prev_query": filt.query_string(page=page - 1 if page > 2 else None),
            "place_text": place_text,
        },
        status=422 if query.problems else 200,
    )


@router.get("/events/{event_id:int}", response_class=HTMLResponse)
def event_page(request: Request, session: SessionDep, now: NowDep, event_id: int) -> HTMLResponse:
    """One event: when (a moved one's old time struck through), where, its series' other
    dates, calendar links, sources."""
    event = public_event(session, event_id)
    state = request.app.state
    settings = state.settings
    was_start, was_place = moved_from(event_changes(session, event_id), state.tz)
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
            "was_start": was_start,
            "was_place": was_place,
            "series": series_dates(session, event, region=state.region, now=now),
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
    start, end = Week.parse(week).bounds(state.tz)
    events = agenda_events(session, region=state.region, start=start, end=end)
    days = by_day(events, state.tz)
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


@router.get("/developers", response_class=HTMLResponse)
def developers(request: Request) -> HTMLResponse:
    """A short human page on the feeds and the API (the reference is ``/docs``)."""
    state = request.app.state
    return render(
        request,
        "developers.html",
        {
            "base": str(state.settings.base_url).rstrip("/"),
            "topics": topic_choices(request)[:3],
            "town": town_slug(state.region.communes_sorted()[0].name)
            if state.region.communes
            else "",
        },
    )
