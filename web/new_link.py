""""Send me a new link": what an expired or broken link's page offers.

``POST /new-link`` takes an address and, when it belongs to a subscriber, mails the link
that fits their state: a confirmed reader gets a fresh preferences link, a pending one a
fresh confirmation link. Every address gets the same answer, so nobody learns who
subscribed; the per-client limit of the subscribe form applies.
"""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from html import escape
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse

from aggregator.errors import InvalidInputError
from aggregator.models import Subscriber, SubscriberStatus
from aggregator.settings import Settings
from newsletter.mailers import make_mailer
from newsletter.messages import build_message
from newsletter.subscribers import confirmation_message, find_by_email, normalize_email
from newsletter.tokens import make_token
from web.deps import NowDep, SessionDep, SettingsDep
from web.i18n import translator
from web.rendering import render
from web.security import limit, require_csrf

router = APIRouter(include_in_schema=False)


def preferences_link_message(settings: Settings, sub: Subscriber, *, now: datetime) -> EmailMessage:
    """A short mail carrying a fresh link to the subscriber's preferences."""
    _ = translator(sub.language)
    url = f"{settings.base_url.rstrip('/')}/preferences/{make_token(settings, sub, 'preferences')}"
    subject = _("Votre lien pour gérer votre abonnement")
    intro = _("Voici un nouveau lien pour modifier vos choix ou vous désabonner :")
    ignore = _("Vous n'avez rien demandé ? Ignorez ce message, rien ne changera.")
    text = f"{intro}\n\n{url}\n\n{ignore}\n"
    html = (f"<p>{escape(intro)}</p><p><a href=\"{escape(url)}\">{escape(url)}</a></p>"
            f"<p>{escape(ignore)}</p>")
    return build_message(settings, to=sub.email, subject=subject, text_body=text,
                         html_body=html, date=now)


def new_link_message(
    settings: Settings, sub: Subscriber | None, *, now: datetime
) -> EmailMessage | None:
    """The mail a new-link request sends (None: nothing to send for this address)."""
    if sub is None:
        return None
    if sub.status == SubscriberStatus.confirmed:
        return preferences_link_message(settings, sub, now=now)
    if sub.status == SubscriberStatus.pending:
        return confirmation_message(settings, sub, now=now)
    return None


@router.post("/new-link", response_class=HTMLResponse, dependencies=[Depends(require_csrf)])
def new_link(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    email: Annotated[str, Form(max_length=254)] = "",
) -> HTMLResponse:
    limit(request, "subscribe")
    try:
        address = normalize_email(email)
    except InvalidInputError:
        context = {"status": 422, "title": "Demande incomplète",
                   "message": "Cette adresse email n'est pas valide.", "new_link": True}
        return render(request, "error.html", context, status=422)
    message = new_link_message(settings, find_by_email(session, address), now=now)
    if message is not None:
        with make_mailer(settings.outbox_url) as mailer:
            mailer.send(message)
    return render(request, "message.html", {"kind": "new_link", "email": address})
