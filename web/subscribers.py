"""Subscriber pages: sign up (double opt-in), confirm, preferences, data, leave.

Every link carries a signed, scoped token (``newsletter.tokens``). GET pages never change
anything (mail scanners follow links); changes are POSTs. The unsubscribe POST also
answers RFC 8058 one-click requests (body ``List-Unsubscribe=One-Click``), which carry no
CSRF token: there the signed token is the proof.

The sign-up answers the same page whether the address is new, pending or confirmed, and
its confirmation mail leaves after the answer (a background task), so neither the page
nor its timing tells whether someone subscribed.
"""

from __future__ import annotations

import json
import logging
from email.message import EmailMessage
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from aggregator.errors import InvalidInputError
from aggregator.models import Subscriber, SubscriberStatus
from aggregator.settings import Settings
from newsletter.mailers import send_quietly
from newsletter.subscribers import (
    confirm,
    delete_subscriber,
    export_data,
    subscribe,
    subscriber_from_token,
    unsubscribe,
    update_preferences,
)
from newsletter.tokens import make_token
from web.deps import NowDep, SessionDep, SettingsDep
from web.public import topic_choices
from web.rendering import render
from web.security import client_key, limit, require_csrf

router = APIRouter(include_in_schema=False)
CSRF = [Depends(require_csrf)]
log = logging.getLogger(__name__)


def send_confirmation(settings: Settings, message: EmailMessage) -> None:
    """Send one confirmation mail after the answer left; a failure is logged, not shown."""
    send_quietly(settings.outbox_url, message, what="confirmation")


def _choices(request: Request) -> dict[str, object]:
    return {
        "topics": topic_choices(request),
        "towns": request.app.state.region.communes_sorted(),
    }


@router.get("/subscribe", response_class=HTMLResponse)
def subscribe_form(request: Request) -> HTMLResponse:
    return render(request, "subscribe.html", {**_choices(request), "values": {}})


@router.post("/subscribe", response_class=HTMLResponse, dependencies=CSRF)
def subscribe_post(
    request: Request,
    background: BackgroundTasks,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    email: Annotated[str, Form(max_length=254)],
    language: Annotated[str, Form()] = "fr",
    topic: Annotated[list[str] | None, Form()] = None,
    town: Annotated[list[str] | None, Form()] = None,
    online: Annotated[str | None, Form()] = None,
) -> HTMLResponse:
    limit(request, "subscribe")
    values = {"email": email, "language": language, "topics": topic or [], "towns": town or []}
    try:
        _sub, message = subscribe(
            session,
            settings,
            email,
            language=language,
            topics=topic or [],
            towns=town or [],
            include_online=online is not None,
            origin=f"web form from {client_key(request)}",
            now=now,
        )
    except InvalidInputError as exc:
        context = {**_choices(request), "values": values, "error": str(exc)}
        return render(request, "subscribe.html", context, status=422)
    session.commit()  # the row exists before the mail that names it leaves
    if message is not None:
        background.add_task(send_confirmation, settings, message)
    # Same answer whether the address was new or known: no one learns who subscribed.
    return render(request, "message.html", {"kind": "check_inbox", "email": email})


@router.get("/confirm/{token}", response_class=HTMLResponse)
def confirm_page(
    request: Request, session: SessionDep, settings: SettingsDep, token: str
) -> HTMLResponse:
    sub = subscriber_from_token(session, settings, token, "confirm")  # refuse a bad link early
    if sub.status == SubscriberStatus.confirmed:
        prefs = make_token(settings, sub, "preferences")
        return render(request, "confirm.html", {"token": token, "already": True, "prefs": prefs})
    return render(request, "confirm.html", {"token": token})


@router.post("/confirm/{token}", dependencies=CSRF)
def confirm_post(
    request: Request, session: SessionDep, settings: SettingsDep, now: NowDep, token: str
) -> Response:
    sub = confirm(session, settings, token, now=now)
    prefs = make_token(settings, sub, "preferences")
    return RedirectResponse(f"/preferences/{prefs}?welcome=1", status_code=303)


def _prefs_context(request: Request, sub: Subscriber, token: str) -> dict[str, object]:
    settings = request.app.state.settings
    return {
        **_choices(request),
        "sub": sub,
        "token": token,
        "unsubscribe_token": make_token(settings, sub, "unsubscribe"),
        "welcome": request.query_params.get("welcome") == "1",
        "saved": request.query_params.get("saved") == "1",
        "left": sub.status in (SubscriberStatus.unsubscribed, SubscriberStatus.bounced),
    }


@router.get("/preferences/{token}", response_class=HTMLResponse)
def preferences_page(
    request: Request, session: SessionDep, settings: SettingsDep, token: str
) -> HTMLResponse:
    sub = subscriber_from_token(session, settings, token, "preferences")
    return render(request, "preferences.html", _prefs_context(request, sub, token))


@router.post("/preferences/{token}", dependencies=CSRF)
def preferences_post(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    token: str,
    language: Annotated[str, Form()] = "fr",
    topic: Annotated[list[str] | None, Form()] = None,
    town: Annotated[list[str] | None, Form()] = None,
    online: Annotated[str | None, Form()] = None,
) -> Response:
    update_preferences(
        session,
        settings,
        token,
        language=language,
        topics=topic or [],
        towns=town or [],
        include_online=online is not None,
    )
    return RedirectResponse(f"/preferences/{token}?saved=1", status_code=303)


@router.post("/preferences/{token}/export", dependencies=CSRF)
def preferences_export(session: SessionDep, settings: SettingsDep, token: str) -> Response:
    """Everything we hold about the subscriber, as a JSON download."""
    sub = subscriber_from_token(session, settings, token, "preferences")
    data = export_data(session, sub.id or 0)
    return Response(
        json.dumps(data, ensure_ascii=False, indent=2),
        media_type="application/json",
        headers={"Content-Disposition": 'attachment; filename="techagenda-my-data.json"'},
    )


@router.post("/preferences/{token}/delete", response_class=HTMLResponse, dependencies=CSRF)
def preferences_delete(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    token: str,
    confirm_delete: Annotated[str | None, Form()] = None,
) -> HTMLResponse:
    sub = subscriber_from_token(session, settings, token, "preferences")
    if confirm_delete != "yes":
        context = {**_prefs_context(request, sub, token), "delete_error": True}
        return render(request, "preferences.html", context, status=422)
    delete_subscriber(session, sub.id or 0)
    return render(request, "message.html", {"kind": "deleted"})


@router.get("/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe_page(
    request: Request, session: SessionDep, settings: SettingsDep, token: str
) -> HTMLResponse:
    """A page with a button: following the link alone never unsubscribes."""
    sub = subscriber_from_token(session, settings, token, "unsubscribe")
    return render(request, "unsubscribe.html", {"token": token, "sub": sub})


@router.post("/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe_post(
    request: Request, session: SessionDep, settings: SettingsDep, now: NowDep, token: str
) -> HTMLResponse:
    """The page's button and the RFC 8058 one-click POST alike.

    No CSRF check here: the unguessable signed token is the proof, and a one-click client
    (``List-Unsubscribe=One-Click``) cannot carry a CSRF token anyway.
    """
    unsubscribe(session, settings, token, now=now)
    return render(request, "message.html", {"kind": "unsubscribed"})
