"""A subscriber's own channels and feedback: personal iCal/Atom feeds, "more/fewer like this".

* ``/me/{token}/events.ics`` and ``/me/{token}/feed.xml``: the events of the subscriber's
  email for the current week (and its "save the date" tail), from the same selection as
  the email (``newsletter.compose``), then every later event matching the preferences up
  to ``FEED_DAYS`` ahead. Tokens have the scope ``feed``, never expire, and
  die with ``Subscriber.token_version``; a reader who left gets a 400.
* ``/feedback/{token}``: GET shows what the click would do and a button (mail scanners
  follow links, so a GET changes nothing); the POST adjusts the topic weights.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session, col, select

from aggregator.errors import InvalidTokenError
from aggregator.models import Event, Subscriber, SubscriberStatus
from aggregator.queries import agenda_events
from aggregator.regions import Region
from aggregator.settings import Settings
from aggregator.weeks import Week
from newsletter.compose import (
    events_on_whole_communes,
    prefs_on_whole_communes,
    select_for_subscriber,
)
from newsletter.feedback import apply_feedback, muted_topics, read_feedback
from newsletter.formatting import topic_label
from newsletter.ledger import to_prefs, to_view
from newsletter.select import matches
from newsletter.subscribers import subscriber_from_token
from newsletter.tokens import make_token
from web.deps import NowDep, SessionDep, SettingsDep
from web.feeds import build_atom, build_calendar, etag_of, http_date, not_modified
from web.i18n import Formatter
from web.present import place_text
from web.rendering import render
from web.security import require_csrf

router = APIRouter(include_in_schema=False)
CSRF = [Depends(require_csrf)]

TEXTS = {
    "fr": {
        "more_title": "Plus d'événements comme celui-ci ?",
        "less_title": "Moins d'événements comme celui-ci ?",
        "more_explain": "Les événements de ces thèmes passeront en tête de leur journée "
        "dans vos prochains résumés :",
        "less_explain": "Ces thèmes compteront moins ; après deux clics « moins comme ça », "
        "un thème disparaît de vos résumés et de vos flux :",
        "confirm": "Confirmer",
        "done": "C'est noté : votre prochain résumé en tiendra compte.",
        "muted": "Thèmes masqués :",
        "back": "Mes préférences",
        "feeds_title": "Mes flux personnels",
        "feeds_hint": "Les mêmes événements que votre email, dans votre agenda ou votre "
        "lecteur de flux. Ces adresses sont personnelles : ne les partagez pas.",
    },
    "en": {
        "more_title": "More events like this one?",
        "less_title": "Fewer events like this one?",
        "more_explain": "Events on these topics will come first in their day in your next "
        "digests:",
        "less_explain": "These topics will count less; after two \u201cfewer like this\u201d "
        "clicks a topic leaves your digests and feeds:",
        "confirm": "Confirm",
        "done": "Noted: your next digest will take it into account.",
        "muted": "Hidden topics:",
        "back": "My preferences",
        "feeds_title": "My personal feeds",
        "feeds_hint": "The same events as your email, in your calendar or feed reader. "
        "These addresses are personal: do not share them.",
    },
}


def personal_text(lang: str) -> dict[str, str]:
    return TEXTS["en" if lang == "en" else "fr"]


def feed_urls(settings: Settings, sub: Subscriber) -> dict[str, str]:
    """The subscriber's personal feed addresses (shown on the preferences page)."""
    base = settings.base_url.rstrip("/")
    token = make_token(settings, sub, "feed")
    return {"ics": f"{base}/me/{token}/events.ics", "atom": f"{base}/me/{token}/feed.xml"}


def _reader(session: Session, request: Request, token: str) -> Subscriber:
    sub = subscriber_from_token(session, request.app.state.settings, token, "feed")
    if sub.status != SubscriberStatus.confirmed:
        raise InvalidTokenError("this feed is no longer active")
    return sub


def personal_events(
    session: Session, settings: Settings, sub: Subscriber, *, week: str
) -> list[Event]:
    """The stored events of ``sub``'s selection for ``week``, in the email's order."""
    content = select_for_subscriber(session, settings, sub, week=week)
    ids = [item.event.id for item in content.all_items]
    if not ids:
        return []
    rows = {e.id: e for e in session.exec(select(Event).where(col(Event.id).in_(ids)))}
    return [rows[i] for i in ids if i in rows]


FEED_DAYS = 180  # a personal calendar holds every matching event this far ahead


def upcoming_personal_events(
    session: Session, settings: Settings, sub: Subscriber, *, now: datetime, region: Region,
    tz: tzinfo,
) -> list[Event]:
    """The email's events of this week, then every later agenda event matching ``sub``'s
    preferences (topics, towns, online, muted topics) up to ``FEED_DAYS`` ahead, by start."""
    events = personal_events(session, settings, sub, week=str(Week.of(now, tz)))
    seen = {e.id for e in events}
    prefs = prefs_on_whole_communes(region, to_prefs(sub))
    later = agenda_events(session, region=region, start=now, end=now + timedelta(days=FEED_DAYS))
    for event in later:
        if event.id in seen or event.status == "cancelled":
            continue
        (view,) = events_on_whole_communes(region, [to_view(event)])
        if matches(view, prefs) and not prefs.muted(view):
            events.append(event)
            seen.add(event.id)
    return events


def _private(request: Request, body: bytes, media_type: str) -> Response:
    etag = etag_of(body)
    headers = {"ETag": etag, "Cache-Control": "private, max-age=300"}
    if not_modified(request.headers.get("if-none-match"), None, etag, request.app.state.clock()):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


@router.get("/me/{token}/events.ics")
def personal_ics(request: Request, session: SessionDep, settings: SettingsDep, now: NowDep,
                 token: str) -> Response:
    """The subscriber's own calendar: the events of their digest."""
    sub = _reader(session, request, token)
    state = request.app.state
    events = upcoming_personal_events(
        session, settings, sub, now=now, region=state.region, tz=state.tz
    )
    body = build_calendar(
        events,
        base_url=settings.base_url,
        name=f"Agenda tech {state.region.display_name}",  # no address in a shared calendar
        tz=state.region.timezone,
        now=now,
    )
    return _private(request, body, "text/calendar; charset=utf-8")


@router.get("/me/{token}/feed.xml")
def personal_atom(request: Request, session: SessionDep, settings: SettingsDep, now: NowDep,
                  token: str) -> Response:
    """The subscriber's own Atom feed: the events of their digest."""
    sub = _reader(session, request, token)
    state = request.app.state
    events = upcoming_personal_events(
        session, settings, sub, now=now, region=state.region, tz=state.tz
    )
    fmt = Formatter(sub.language, state.tz)
    describe = {}
    for event in events:
        when = (
            fmt.day(event.start_date)
            if event.all_day
            else f"{fmt.day(event.start)}, {fmt.time(event.start)}"
        )
        describe[event.id or 0] = " · ".join(x for x in (when, place_text(event)) if x)
    stamps = [e.updated_at for e in events if e.updated_at]
    body = build_atom(
        events,
        base_url=settings.base_url,
        feed_url=str(request.url),
        title=f"Agenda tech {state.region.display_name}",
        updated=max(stamps, default=now),
        describe=describe,
    )
    response = _private(request, body, "application/atom+xml; charset=utf-8")
    response.headers["Last-Modified"] = http_date(max(stamps, default=now))
    return response


def _feedback_context(request: Request, token: str, lang: str) -> dict[str, object]:
    return {"token": token, "tt": personal_text(lang)}


@router.get("/feedback/{token}", response_class=HTMLResponse)
def feedback_page(request: Request, session: SessionDep, settings: SettingsDep,
                  token: str) -> HTMLResponse:
    """What the click would change, and a button: nothing changes on a GET."""
    found = read_feedback(session, settings, token)
    lang = found.subscriber.language
    context = {
        **_feedback_context(request, token, lang),
        "event": found.event,
        "direction": found.direction,
        "topics": [topic_label(t, lang) for t in found.event.topics or ()],
        "done": False,
    }
    return render(request, "feedback.html", context)


@router.post("/feedback/{token}", response_class=HTMLResponse, dependencies=CSRF)
def feedback_post(request: Request, session: SessionDep, settings: SettingsDep, now: NowDep,
                  token: str) -> HTMLResponse:
    """Apply the click to the subscriber's topic weights (a replayed click counts once)."""
    found = apply_feedback(session, settings, token, now=now)
    sub = found.subscriber
    lang = sub.language
    context = {
        **_feedback_context(request, token, lang),
        "event": found.event,
        "direction": found.direction,
        "topics": [topic_label(t, lang) for t in found.event.topics or ()],
        "muted": [topic_label(t, lang) for t in muted_topics(sub.topic_weights or {})],
        "preferences": make_token(settings, sub, "preferences"),
        "done": True,
    }
    return render(request, "feedback.html", context)
