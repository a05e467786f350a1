"""Organizer pages: submit a feed URL with a preview of what we understood.

The preview is the source check itself (``crawlers.check.inspect_url``): the same guarded
fetch as the crawler (SSRF rules, size and time caps, robots.txt), the same reading path
(``crawlers.document.read_document``, here in a memory- and time-limited child process),
the events shown as ingest would store them (normalised), a second fetch a moment later
to see whether UIDs hold, and the same plain-words findings (``crawlers.lint``) the admin
sees. Confirming creates a *pending* Source that an admin
approves.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from sqlmodel import select

from aggregator.clashes import evening_clashes, is_evening
from aggregator.errors import InvalidInputError
from aggregator.models import Source
from aggregator.raw import RawEvent
from aggregator.service import add_source, submit_event
from crawlers.check import inspect_url
from newsletter.subscribers import normalize_email
from web.deps import NowDep, SessionDep, SettingsDep
from web.i18n import request_language
from web.preview import preview_rows, stored_rows
from web.rendering import render
from web.security import limit, require_csrf

router = APIRouter(include_in_schema=False)
CSRF = [Depends(require_csrf)]
PREVIEW_ROWS = 30
REFETCH_DELAY = 2.0  # seconds between the two fetches that tell whether UIDs hold


@router.get("/submit", response_class=HTMLResponse)
def submit_form(request: Request, url: str = "") -> HTMLResponse:
    """The form; ``?url=`` fills it in (the link in an organizer's health mail)."""
    if not url.lower().startswith(("http://", "https://")):
        url = ""
    return render(request, "submit.html", {"url": url[:2000]})


@router.post("/submit/preview", response_class=HTMLResponse, dependencies=CSRF)
def submit_preview(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    url: Annotated[str, Form(max_length=2000)],
) -> HTMLResponse:
    limit(request, "submit")
    url = url.strip()
    region = request.app.state.region
    if not url.lower().startswith(("http://", "https://")):
        return render(
            request,
            "submit.html",
            {"url": url, "error": "Adresse invalide : elle doit commencer par https:// ou http://"},
            status=422,
        )
    seen = inspect_url(
        url,
        settings,
        region=region,
        timezone=region.timezone,
        now=now,
        refetch_delay=getattr(request.app.state, "refetch_delay", REFETCH_DELAY),
        isolated=True,
        limits=getattr(request.app.state, "read_limits", None),
    )
    if seen.error is not None:
        return render(
            request,
            "submit.html",
            {"url": url, "error": seen.findings[0].message(request_language(request))},
            status=422,
        )
    if seen.normalized:
        rows = stored_rows(seen.normalized, region, now)
    else:
        rows = preview_rows(seen.events, region, now)
    known = session.exec(select(Source).where(Source.url == url)).first()
    tz = ZoneInfo(region.timezone)
    evenings = {
        r.start.astimezone(tz).date()
        for r in rows[:PREVIEW_ROWS]
        if isinstance(r.start, datetime) and is_evening(r.start, tz)
    }
    clashes = evening_clashes(
        session, region=region, days=evenings, exclude_urls=[r.url for r in rows if r.url]
    )
    return render(
        request,
        "submit_preview.html",
        {
            "url": url,
            "rows": rows[:PREVIEW_ROWS],
            "total": len(rows),
            "findings": seen.findings,
            "format": seen.format,
            "known": known,
            "clashes": clashes,
        },
    )


@router.post("/submit/confirm", response_class=HTMLResponse, dependencies=CSRF)
def submit_confirm(
    request: Request,
    session: SessionDep,
    now: NowDep,
    url: Annotated[str, Form(max_length=2000)],
    name: Annotated[str, Form(min_length=1, max_length=200)],
    contact_email: Annotated[str, Form(max_length=254)],
) -> HTMLResponse:
    limit(request, "submit")
    try:
        email = normalize_email(contact_email)
    except InvalidInputError as exc:
        return render(
            request,
            "submit.html",
            {"url": url, "error": str(exc)},
            status=422,
        )
    if session.exec(select(Source).where(Source.url == url.strip())).first() is None:
        add_source(
            session, url.strip(), name=name.strip(), state="pending", contact_email=email, now=now
        )
    return render(request, "message.html", {"kind": "submitted"})


def _today(request: Request, now: datetime) -> date:
    return now.astimezone(ZoneInfo(request.app.state.region.timezone)).date()


@router.get("/submit/event", response_class=HTMLResponse)
def event_form(request: Request, now: NowDep) -> HTMLResponse:
    return render(request, "submit_event.html", {"values": {}, "today": _today(request, now)})


EVENT_FIELDS = {  # form field -> longest accepted value
    "title": 200, "day": 10, "start_time": 5, "end_time": 5, "venue": 200, "address": 300,
    "city": 100, "url": 2000, "description": 5000, "organizer": 200, "contact_email": 254,
}
LAST_YEAR = 2100  # an event further ahead is a typo


@dataclass(frozen=True)
class EventForm:
    """A checked single-event form: the times as floating local values."""

    start: date | datetime
    end: datetime | None
    email: str


def _clock(value: str) -> time | None:
    try:
        return time.fromisoformat(value.strip()) if value.strip() else None
    except ValueError:
        raise InvalidInputError("Heure invalide : utilisez le format HH:MM.") from None


def check_event_form(values: dict[str, str], today: date) -> tuple[EventForm | None, dict[str, str]]:
    """The form's dates, times and contact, or field -> French message for each bad one.

    The day is today or later and no later than 2100; an end time follows the start time
    (and needs one). Pure: ``today`` is the organizer's local day.
    """
    problems: dict[str, str] = {}
    for name, longest in EVENT_FIELDS.items():
        if len(values.get(name, "")) > longest:
            problems[name] = "Ce texte est trop long."
    title = values.get("title", "").strip()
    if len(title) < 3:
        problems["title"] = "Donnez un titre d'au moins trois caractères."
    if not values.get("organizer", "").strip():
        problems["organizer"] = "Ce champ est obligatoire."
    day: date | None = None
    raw_day = values.get("day", "").strip()
    try:
        day = date.fromisoformat(raw_day) if raw_day else None
    except ValueError:
        problems["day"] = "Date invalide : utilisez le format AAAA-MM-JJ."
    if day is None and "day" not in problems:
        problems["day"] = "Ce champ est obligatoire."
    elif day is not None and day < today:
        problems["day"] = "Cette date est passée : choisissez aujourd'hui ou un jour à venir."
    elif day is not None and day.year > LAST_YEAR:
        problems["day"] = "Cette date est trop lointaine : choisissez un jour avant 2101."
    clocks: dict[str, time | None] = {}
    for name in ("start_time", "end_time"):
        try:
            clocks[name] = _clock(values.get(name, ""))
        except InvalidInputError as exc:
            problems[name] = str(exc)
            clocks[name] = None
    begins, ends = clocks["start_time"], clocks["end_time"]
    if ends is not None and begins is None and "start_time" not in problems:
        problems["start_time"] = "Indiquez l'heure de début avant l'heure de fin."
    elif begins is not None and ends is not None and ends <= begins:
        problems["end_time"] = "L'heure de fin doit suivre l'heure de début."
    email = ""
    try:
        email = normalize_email(values.get("contact_email", ""))
    except InvalidInputError:
        problems["contact_email"] = "Cette adresse email n'est pas valide."
    if problems or day is None:
        return None, problems
    start: date | datetime = datetime.combine(day, begins) if begins else day
    end = datetime.combine(day, ends) if begins and ends else None
    return EventForm(start=start, end=end, email=email), {}


@router.post("/submit/event", response_class=HTMLResponse, dependencies=CSRF)
async def event_submit(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> HTMLResponse:
    """One event typed in by its organizer: held for review (``service.submit_event``);
    published when an admin unhides it. Nothing already on the agenda is hidden. Every field
    is checked here (never by the framework), so each bad value is a message beside its
    field with the form kept."""
    limit(request, "submit")
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
    today = _today(request, now)
    checked, problems = check_event_form(values, today)
    if checked is None:
        context = {"values": values, "problems": problems, "today": today}
        return render(request, "submit_event.html", context, 422)
    return await run_in_threadpool(
        _store_event, request, session, settings, now, values, checked
    )


def _store_event(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: datetime,
    values: dict[str, str],
    checked: EventForm,
) -> HTMLResponse:
    region = request.app.state.region
    url = values.get("url", "").strip()
    if url and not url.lower().startswith(("http://", "https://")):
        url = ""
    organizer = values.get("organizer", "").strip()
    start = checked.start

    def text(name: str) -> str | None:
        return values.get(name, "").strip() or None

    raw = RawEvent(
        title=values.get("title", "").strip(),
        start=start,
        end=checked.end,
        timezone=region.timezone if isinstance(start, datetime) else None,
        url=url or None,
        description=text("description"),
        venue=text("venue"),
        address=text("address"),
        city=text("city"),
        online="online" in values,
        organizer=organizer or None,
        uid=f"form-{uuid.uuid4()}",
        source_format="form",
    )
    submit_event(
        session,
        raw,
        contact_email=checked.email,
        source_url=f"{settings.base_url.rstrip('/')}/submit/event#{raw.uid}",
        now=now,
        settings=settings,
    )
    return render(request, "message.html", {"kind": "submitted"})


def await_form_values(request: Request) -> dict[str, str]:
    """The submitted form's plain values (to refill it after an error)."""
    form = getattr(request, "_form", None)
    return {k: v for k, v in (form or {}).items() if isinstance(v, str) and k != "csrf_token"}
