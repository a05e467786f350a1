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
from datetime import date, datetime, time
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Request
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


@router.get("/submit/event", response_class=HTMLResponse)
def event_form(request: Request) -> HTMLResponse:
    return render(request, "submit_event.html", {"values": {}})


@router.post("/submit/event", response_class=HTMLResponse, dependencies=CSRF)
def event_submit(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    title: Annotated[str, Form(min_length=3, max_length=200)],
    day: Annotated[date, Form()],
    start_time: Annotated[str, Form(max_length=5)] = "",
    end_time: Annotated[str, Form(max_length=5)] = "",
    venue: Annotated[str, Form(max_length=200)] = "",
    address: Annotated[str, Form(max_length=300)] = "",
    city: Annotated[str, Form(max_length=100)] = "",
    online: Annotated[str | None, Form()] = None,
    url: Annotated[str, Form(max_length=2000)] = "",
    description: Annotated[str, Form(max_length=5000)] = "",
    organizer: Annotated[str, Form(min_length=1, max_length=200)] = "",
    contact_email: Annotated[str, Form(max_length=254)] = "",
) -> HTMLResponse:
    """One event typed in by its organizer: held for review (``service.submit_event``);
    published when an admin unhides it. Nothing already on the agenda is hidden."""
    limit(request, "submit")
    values = dict(await_form_values(request))
    try:
        email = normalize_email(contact_email)
        start = _local(day, start_time)
        end = _local(day, end_time) if end_time else None
    except (InvalidInputError, ValueError) as exc:
        return render(request, "submit_event.html", {"values": values, "error": str(exc)}, 422)
    if url and not url.lower().startswith(("http://", "https://")):
        url = ""
    region = request.app.state.region
    raw = RawEvent(
        title=title.strip(),
        start=start,
        end=end,
        timezone=region.timezone if isinstance(start, datetime) else None,
        url=url or None,
        description=description.strip() or None,
        venue=venue.strip() or None,
        address=address.strip() or None,
        city=city.strip() or None,
        online=online is not None,
        organizer=organizer.strip() or None,
        uid=f"form-{uuid.uuid4()}",
        source_format="form",
    )
    submit_event(
        session,
        raw,
        contact_email=email,
        source_url=f"{settings.base_url.rstrip('/')}/submit/event#{raw.uid}",
        now=now,
        settings=settings,
    )
    return render(request, "message.html", {"kind": "submitted"})


def await_form_values(request: Request) -> dict[str, str]:
    """The submitted form's plain values (to refill it after an error)."""
    form = getattr(request, "_form", None)
    return {k: v for k, v in (form or {}).items() if isinstance(v, str) and k != "csrf_token"}


def _local(day: date, clock: str) -> date | datetime:
    """A floating local time on ``day`` (HH:MM), or the day itself when no time is given."""
    if not clock.strip():
        return day
    hours, _, minutes = clock.strip().partition(":")
    return datetime.combine(day, time(int(hours), int(minutes or 0)))
