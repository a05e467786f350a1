"""Organizer pages: submit a feed URL with a preview of what we understood.

The preview is the source check itself (``crawlers.check.inspect_url``): the same guarded
fetch as the crawler (SSRF rules, size and time caps, robots.txt), the same reading path
(``crawlers.document.read_document``, here in a memory- and time-limited child process),
the events shown as ingest would store them (normalised), a second fetch a moment later
to see whether UIDs hold, and the same plain-words findings (``crawlers.lint``) the admin
sees. Confirming creates a *pending* Source that an admin approves in the inbox
(``/admin/inbox``), with the adapter the route probe proposes (:func:`probe_submission`).

Both submissions (a feed here, a single event through ``/submit/event``) mail the
organizer after the answer (``newsletter.organizer_mail``), in the page's language.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from email.message import EmailMessage
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, BackgroundTasks, Depends, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from sqlmodel import select

from aggregator.clashes import evening_clashes, is_evening
from aggregator.errors import InvalidInputError
from aggregator.inbox import (
    Decision,
    already_listed,
    check_schedule,
    record_probe,
    remember_submission,
)
from aggregator.models import Source
from aggregator.raw import RawEvent, SourceDefaults
from aggregator.regions import Region
from aggregator.service import add_source, submit_event
from aggregator.settings import Settings
from aggregator.sources import clean_source_url
from crawlers.adapters.routes import Route
from crawlers.check import inspect_url, probe_url
from crawlers.document import Limits
from newsletter.organizer_mail import EVENT, decision_message, received_message, send_organizer_mail
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
    background: BackgroundTasks,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    url: Annotated[str, Form(max_length=2000)],
    name: Annotated[str, Form(min_length=1, max_length=200)],
    contact_email: Annotated[str, Form(max_length=254)],
) -> HTMLResponse:
    """Keep the feed as a *pending* source, probe its route (bounded: the submission never
    waits more than about two fetch timeouts), and mail the organizer after the answer."""
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
    try:
        url = clean_source_url(url)
    except InvalidInputError:
        error = "Adresse invalide : elle doit commencer par https:// ou http://"
        return render(request, "submit.html", {"url": url, "error": error}, status=422)
    if session.exec(select(Source).where(Source.url == url)).first() is None:
        source = add_source(
            session, url, name=name.strip(), state="pending", contact_email=email,
            default_zone=request.app.state.region.timezone, now=now,
        )  # fmt: skip
        language = request_language(request)
        remember_submission(source, language=language, now=now)
        proposal, route, finding = probe_submission(
            url, settings, request.app.state.region, name=source.name,
            budget=getattr(request.app.state, "probe_budget", None),
            limits=getattr(request.app.state, "read_limits", None),
        )
        record_probe(source, proposal=proposal, route=route, finding=finding, now=now)
        session.add(source)
        session.commit()  # the row exists before the mail that names it leaves
        message = received_message(
            settings, to=email, kind="feed", name=source.name, language=language, now=now, url=url
        )
        background.add_task(send_organizer_mail, settings, message)
    return render(request, "message.html", {"kind": "submitted"})


def probe_submission(
    url: str, settings: Settings, region: Region, *, name: str, budget: float | None = None,
    limits: Limits | None = None,
) -> tuple[dict[str, Any] | None, dict[str, Any] | None, dict[str, Any]]:
    """The route probe (``crawlers.check.probe_url``) on an organizer's URL, each document
    read in an isolated child, as JSON: (proposal, the route to store, the finding saying
    what was found or why not)."""
    defaults = SourceDefaults(timezone=region.timezone, language=region.language)
    proposal, finding = probe_url(url, settings, defaults, budget=budget, isolated=True,
                                limits=limits)
    if proposal is None:
        return None, None, finding.to_json()
    route = None
    if proposal.adapter and proposal.url:
        tried = "; ".join(f"{a.step}: {a.outcome}" for a in proposal.attempts[:8])
        route = Route(name=name, adapter=proposal.adapter, url=proposal.url,
                      confidence="probe", evidence=tried or None).to_json()  # fmt: skip
    return proposal.to_json(), route, finding.to_json()


def _today(request: Request, now: datetime) -> date:
    return now.astimezone(ZoneInfo(request.app.state.region.timezone)).date()


@router.get("/submit/event", response_class=HTMLResponse)
def event_form(request: Request, now: NowDep) -> HTMLResponse:
    return render(request, "submit_event.html", {"values": {}, "today": _today(request, now)})


EVENT_FIELDS = {  # form field -> longest accepted value
    "title": 200, "day": 10, "start_time": 5, "end_time": 5, "venue": 200, "address": 300,
    "city": 100, "url": 2000, "description": 5000, "organizer": 200, "contact_email": 254,
}


@dataclass(frozen=True)
class EventForm:
    """A checked single-event form: the times as floating local values."""

    start: date | datetime
    end: datetime | None
    email: str


def check_event_form(values: dict[str, str], today: date) -> tuple[EventForm | None, dict[str, str]]:
    """The form's dates, times and contact, or field -> French message for each bad one.

    The day is today or later and no later than 2100; an end time follows the start time
    (and needs one) (``aggregator.inbox.check_schedule``, the admin's edit checks the
    same). Pure: ``today`` is the organizer's local day.
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
    start, end, timing = check_schedule(values, today)
    problems.update(timing)
    email = ""
    try:
        email = normalize_email(values.get("contact_email", ""))
    except InvalidInputError:
        problems["contact_email"] = "Cette adresse email n'est pas valide."
    if problems or start is None:
        return None, problems
    return EventForm(start=start, end=end, email=email), {}


@router.post("/submit/event", response_class=HTMLResponse, dependencies=CSRF)
async def event_submit(
    request: Request,
    background: BackgroundTasks,
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
    response, message = await run_in_threadpool(
        _store_event, request, session, settings, now, values, checked
    )
    background.add_task(send_organizer_mail, settings, message)
    return response


def _store_event(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: datetime,
    values: dict[str, str],
    checked: EventForm,
) -> tuple[HTMLResponse, EmailMessage]:
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
    source = submit_event(
        session,
        raw,
        contact_email=checked.email,
        source_url=f"{settings.base_url.rstrip('/')}/submit/event#{raw.uid}",
        now=now,
        settings=settings,
    )
    language = request_language(request)
    remember_submission(source, language=language, now=now)
    session.add(source)
    session.commit()  # the row exists before the mail that names it leaves
    listed = already_listed(session, source)
    if listed is not None:  # already on the agenda (from a feed): nothing to review
        decision = Decision(EVENT, True, raw.title, checked.email, language, event_id=listed)
        page = render(request, "message.html", {"kind": "listed", "event_id": listed})
        return page, decision_message(settings, decision, now=now)
    message = received_message(
        settings, to=checked.email, kind="event", name=raw.title, language=language, now=now
    )
    return render(request, "message.html", {"kind": "submitted"}), message


def await_form_values(request: Request) -> dict[str, str]:
    """The submitted form's plain values (to refill it after an error)."""
    form = getattr(request, "_form", None)
    return {k: v for k, v in (form or {}).items() if isinstance(v, str) and k != "csrf_token"}
