"""Mails to an organizer about a submission: received, then approved or rejected.

An organizer who submits a single event or a feed gets one mail at once ("we received
it, an admin will review it") and one at the decision: approved, with the event's public
page (or the agenda for a feed), or rejected, with the admin's reason when given. Each is
in the language of the page the organizer submitted from (French when not known).
Messages are built with ``newsletter.messages.build_message``: no submitted title can
add a header. :func:`send_organizer_mail` is the I/O edge, run after the web's answer.
"""

from __future__ import annotations

import hashlib
import html
import logging
from collections.abc import Sequence
from datetime import datetime
from email.message import EmailMessage

from aggregator.inbox import Decision
from aggregator.settings import Settings
from newsletter.mailers import send_quietly
from newsletter.messages import build_message, clean_header, sender_domain

log = logging.getLogger("techagenda.organizer_mail")

EVENT, FEED = "event", "feed"

_RECEIVED = {
    ("fr", EVENT): (
        "Nous avons bien reçu votre événement « {name} »",
        "Merci ! Nous avons bien reçu votre événement « {name} ».",
        "Un·e administrateur·rice va le relire ; nous vous écrirons dès qu'il sera publié "
        "(ou s'il ne peut pas l'être).",
    ),
    ("en", EVENT): (
        "We received your event '{name}'",
        "Thank you! We received your event '{name}'.",
        "An admin will review it; we will write to you as soon as it is published (or if "
        "it cannot be).",
    ),
    ("fr", FEED): (
        "Nous avons bien reçu votre agenda « {name} »",
        "Merci ! Nous avons bien reçu votre agenda « {name} » ({url}).",
        "Un·e administrateur·rice va le relire ; nous vous écrirons dès qu'il sera lu "
        "chaque jour (ou s'il ne peut pas l'être).",
    ),
    ("en", FEED): (
        "We received your calendar '{name}'",
        "Thank you! We received your calendar '{name}' ({url}).",
        "An admin will review it; we will write to you as soon as we read it every day (or "
        "if we cannot).",
    ),
}

_DECIDED = {
    ("fr", EVENT, True): (
        "Votre événement « {name} » est publié",
        "Bonne nouvelle : votre événement « {name} » est publié dans l'agenda.",
        "Sa page : {link}",
    ),
    ("en", EVENT, True): (
        "Your event '{name}' is published",
        "Good news: your event '{name}' is published in the agenda.",
        "Its page: {link}",
    ),
    ("fr", FEED, True): (
        "Votre agenda « {name} » est accepté",
        "Bonne nouvelle : nous lisons désormais votre agenda « {name} » ; ses événements "
        "apparaîtront dans l'agenda après le prochain passage.",
        "L'agenda : {link}",
    ),
    ("en", FEED, True): (
        "Your calendar '{name}' is accepted",
        "Good news: we now read your calendar '{name}'; its events will appear in the "
        "agenda after the next crawl.",
        "The agenda: {link}",
    ),
    ("fr", EVENT, False): (
        "Votre événement « {name} » n'a pas été publié",
        "Nous n'avons pas publié votre événement « {name} ».",
        "Vous pouvez en proposer un autre ici : {link}",
    ),
    ("en", EVENT, False): (
        "Your event '{name}' was not published",
        "We did not publish your event '{name}'.",
        "You can submit another one here: {link}",
    ),
    ("fr", FEED, False): (
        "Votre agenda « {name} » n'a pas été accepté",
        "Nous n'avons pas accepté votre agenda « {name} ».",
        "Vous pouvez en proposer un autre ici : {link}",
    ),
    ("en", FEED, False): (
        "Your calendar '{name}' was not accepted",
        "We did not accept your calendar '{name}'.",
        "You can submit another one here: {link}",
    ),
}
_REASON = {"fr": "Motif : {reason}", "en": "Reason: {reason}"}
_HELLO = {"fr": "Bonjour,", "en": "Hello,"}
_BYE = {"fr": "L'équipe Techagenda", "en": "The Techagenda team"}


def _language(value: str | None) -> str:
    return "en" if value == "en" else "fr"


def organizer_message(
    settings: Settings,
    *,
    to: str,
    subject: str,
    sections: Sequence[Sequence[str]],
    message_id: str,
    now: datetime,
) -> EmailMessage:
    """A mail to an organizer: each section's paragraphs, the sections one after the other
    (in the text, under an "-- English --" line; in the HTML, after a rule)."""
    text = "\n\n-- English --\n\n".join("\n\n".join(part) for part in sections) + "\n"
    body = "<hr>".join("".join(f"<p>{_html(p)}</p>" for p in part) for part in sections)
    return build_message(
        settings,
        to=to,
        subject=subject,
        text_body=text,
        html_body=f"<!DOCTYPE html><html><body>{body}</body></html>",
        date=now,
        message_id=message_id,
    )


def _html(paragraph: str) -> str:
    return html.escape(paragraph).replace("\n", "<br>")


def _message(
    settings: Settings,
    *,
    to: str,
    subject: str,
    paragraphs: list[str],
    purpose: str,
    now: datetime,
) -> EmailMessage:
    seed = f"{settings.secret_key}|organizer|{purpose}|{to}|{now.isoformat()}".encode()
    message_id = f"<organizer.{hashlib.sha256(seed).hexdigest()[:24]}@{sender_domain(settings)}>"
    return organizer_message(settings, to=to, subject=subject, sections=[paragraphs],
                             message_id=message_id, now=now)  # fmt: skip


def received_message(
    settings: Settings,
    *,
    to: str,
    kind: str,
    name: str,
    language: str | None,
    now: datetime,
    url: str | None = None,
) -> EmailMessage:
    """"We received your event/feed, it will be reviewed", in the organizer's language."""
    lang = _language(language)
    clean = clean_header(name, limit=120)
    subject, first, second = _RECEIVED[(lang, kind)]
    paragraphs = [_HELLO[lang], first.format(name=clean, url=url or ""), second, _BYE[lang]]
    return _message(settings, to=to, subject=subject.format(name=clean),
                    paragraphs=paragraphs, purpose=f"received|{kind}|{clean}", now=now)  # fmt: skip


def decision_link(settings: Settings, decision: Decision) -> str:
    """The link a decision mail gives: the event's page, the agenda, or the submit form."""
    base = settings.base_url.rstrip("/")
    if not decision.approved:
        return f"{base}/submit/event" if decision.kind == EVENT else f"{base}/submit"
    if decision.kind == EVENT and decision.event_id is not None:
        return f"{base}/events/{decision.event_id}"
    return f"{base}/"


def decision_message(settings: Settings, decision: Decision, *, now: datetime) -> EmailMessage:
    """Approved (with the public link) or rejected (with the admin's reason, if any)."""
    assert decision.contact_email
    lang = _language(decision.language)
    clean = clean_header(decision.name, limit=120)
    subject, first, second = _DECIDED[(lang, decision.kind, decision.approved)]
    paragraphs = [_HELLO[lang], first.format(name=clean)]
    if not decision.approved and decision.reason:
        paragraphs.append(_REASON[lang].format(reason=decision.reason))
    paragraphs += [second.format(link=decision_link(settings, decision)), _BYE[lang]]
    verdict = "approved" if decision.approved else "rejected"
    return _message(settings, to=decision.contact_email, subject=subject.format(name=clean),
                    paragraphs=paragraphs, purpose=f"{verdict}|{decision.kind}|{clean}",
                    now=now)  # fmt: skip


def send_organizer_mail(settings: Settings, message: EmailMessage) -> None:
    """Send one organizer mail (after the web's answer); a failure is logged, not raised."""
    send_quietly(settings.outbox_url, message, what="organizer")
