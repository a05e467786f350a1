"""Organizer pages: submit a feed URL with a preview of what we understood.

The server fetches the URL through the same guarded path as the crawler
(``crawlers.fetch.fetch``: SSRF rules, size and time caps) and the same parsers
(``crawlers.extract.extract_events``). Confirming creates a *pending* Source that an
admin approves.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse
from sqlmodel import select

from aggregator.errors import FetchError, InvalidInputError, ParseError
from aggregator.models import Source
from aggregator.raw import SourceDefaults
from aggregator.sources import add_source
from crawlers.extract import extract_events
from crawlers.fetch import fetch
from newsletter.subscribers import normalize_email
from web.deps import NowDep, SessionDep, SettingsDep
from web.preview import review
from web.rendering import render
from web.security import limit, require_csrf

router = APIRouter(include_in_schema=False)
CSRF = [Depends(require_csrf)]
PREVIEW_ROWS = 30


@router.get("/submit", response_class=HTMLResponse)
def submit_form(request: Request) -> HTMLResponse:
    return render(request, "submit.html", {"url": ""})


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
    try:
        result = fetch(url, settings)
        if result.status >= 400:
            raise FetchError(f"the server answered HTTP {result.status}", status=result.status)
        events = extract_events(
            result.body,
            url=result.url,
            headers=result.headers,
            defaults=SourceDefaults(timezone=None, language=region.language),
            window_start=now - timedelta(days=1),
            window_end=now + timedelta(days=settings.crawl_window_future_days),
        )
    except (FetchError, ParseError) as exc:
        return render(request, "submit.html", {"url": url, "error": str(exc)}, status=422)
    rows, warnings = review(events, region, now)
    known = session.exec(select(Source).where(Source.url == url)).first()
    return render(
        request,
        "submit_preview.html",
        {
            "url": url,
            "rows": rows[:PREVIEW_ROWS],
            "total": len(rows),
            "warnings": warnings,
            "known": known,
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
