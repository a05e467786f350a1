"""Subscribers: double opt-in, preferences, one-click unsubscribe, GDPR export and erase.

Every change arrives through a signed, scoped link (see :mod:`newsletter.tokens`), so a
form never needs a login. Consent time and origin are stored on the row. Nobody gets a
digest before confirming; an unconfirmed address only ever gets confirmation emails, and
few of them: none within ``subscribe_resend_minutes`` of the last one, at most
``subscribe_mails_per_day`` in 24 hours (:func:`may_send_confirmation`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, col, select

from aggregator.errors import InvalidInputError, InvalidTokenError, NotFoundError
from aggregator.models import (
    Delivery,
    Digest,
    FeedbackVote,
    Subscriber,
    SubscriberStatus,
    new_link_secret,
)
from aggregator.settings import Settings
from newsletter.formatting import LANGUAGES
from newsletter.messages import build_message
from newsletter.render import region_display_name, render_confirmation
from newsletter.tokens import claim_matches, make_token, read_token

_LOCAL = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = re.compile(rf"^{_LOCAL}@(?:{_LABEL}\.)+[A-Za-z]{{2,63}}$")
_TOPIC = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_INSEE = re.compile(r"^(?:\d{5}|2[AB]\d{3})$")


def normalize_email(email: str) -> str:
    """The address, trimmed and lower-cased, or :class:`InvalidInputError` if malformed.

    Syntax only (no DNS): a dot-atom local part, a domain with a dotted TLD, 254 chars.
    """
    value = (email or "").strip()
    if not value:
        raise InvalidInputError("an email address is required")
    if len(value) > 254 or not _EMAIL.match(value):
        raise InvalidInputError(f"{value[:80]!r} is not a valid email address")
    return value.lower()


def clean_preferences(
    language: str, topics: Iterable[str], towns: Iterable[str]
) -> tuple[str, list[str], list[str]]:
    """Validated ``(language, topics, towns)``; topics are slugs, towns INSEE codes."""
    lang = (language or "fr").strip().lower()
    if lang not in LANGUAGES:
        raise InvalidInputError(f"language must be one of {', '.join(LANGUAGES)}, not {lang!r}")
    topic_list = sorted({t.strip().lower() for t in topics if t and t.strip()})
    bad = [t for t in topic_list if not _TOPIC.match(t)]
    if bad:
        raise InvalidInputError(f"unknown topic {bad[0]!r}")
    town_list = sorted({t.strip().upper() for t in towns if t and t.strip()})
    bad = [t for t in town_list if not _INSEE.match(t)]
    if bad:
        raise InvalidInputError(f"{bad[0]!r} is not an INSEE commune code")
    return lang, topic_list, town_list


def find_by_email(session: Session, email: str) -> Subscriber | None:
    return session.exec(select(Subscriber).where(Subscriber.email == email.lower())).first()


def confirmation_message(
    settings: Settings, subscriber: Subscriber, *, now: datetime
) -> EmailMessage:
    """The double opt-in email with its signed link (valid seven days)."""
    url = f"{settings.base_url.rstrip('/')}/confirm/{make_token(settings, subscriber, 'confirm')}"
    subject, html, text = render_confirmation(
        settings,
        language=subscriber.language,
        confirm_url=url,
        region_name=region_display_name(settings),
    )
    return build_message(
        settings, to=subscriber.email, subject=subject, text_body=text, html_body=html, date=now
    )


DAY = timedelta(days=1)


def recent_confirmations(sent: Iterable[str], now: datetime) -> list[str]:
    """The confirmation-mail instants (ISO 8601) of the 24 hours before ``now``, sorted."""
    kept = []
    for stamp in sent:
        try:
            when = datetime.fromisoformat(stamp)
        except (TypeError, ValueError):
            continue
        if when.tzinfo is not None and now - DAY < when <= now:
            kept.append(when.isoformat())
    return sorted(kept)


def may_send_confirmation(
    recent: Iterable[str], now: datetime, *, resend_after: timedelta, per_day: int
) -> bool:
    """Whether one more confirmation mail may leave for an address (pure).

    ``recent`` are the instants of the mails of the last 24 hours: none may be younger
    than ``resend_after`` and there must be fewer than ``per_day`` of them.
    """
    stamps = [datetime.fromisoformat(x) for x in recent]
    if len(stamps) >= per_day:
        return False
    return all(now - when >= resend_after for when in stamps)


def subscribe(
    session: Session,
    settings: Settings,
    email: str,
    *,
    language: str = "fr",
    topics: Iterable[str] = (),
    towns: Iterable[str] = (),
    include_online: bool = True,
    origin: str = "web",
    now: datetime,
) -> tuple[Subscriber, EmailMessage | None]:
    """Record a pending subscription and return the confirmation email to send.

    An already confirmed address is left unchanged (nobody can alter someone else's
    preferences by typing their address) and no email is returned. Someone who left
    (or bounced) comes back as pending with a fresh consent; older links are revoked.
    No email is returned either when the address had one too recently or too many
    today (the settings ``subscribe_resend_minutes`` and ``subscribe_mails_per_day``).
    """
    address = normalize_email(email)
    lang, topic_list, town_list = clean_preferences(language, topics, towns)
    sub = find_by_email(session, address)
    if sub is not None and sub.status == SubscriberStatus.confirmed:
        return sub, None
    if sub is None:
        sub = Subscriber(email=address, created_at=now)
    elif sub.status in (SubscriberStatus.unsubscribed, SubscriberStatus.bounced):
        # Coming back (only the person's own link could make them leave): a fresh start.
        sub.token_version += 1
        sub.link_secret = new_link_secret()
        sub.confirm_mails = []
        sub.unsubscribed_at = None
        sub.confirmed_at = None
        sub.hard_bounces = 0
    sub.status = SubscriberStatus.pending
    sub.language, sub.topics, sub.towns = lang, topic_list, town_list
    sub.include_online = include_online
    sub.consent_at, sub.consent_origin = now, origin
    recent = recent_confirmations(sub.confirm_mails or [], now)
    allowed = may_send_confirmation(
        recent,
        now,
        resend_after=timedelta(minutes=settings.subscribe_resend_minutes),
        per_day=settings.subscribe_mails_per_day,
    )
    sub.confirm_mails = [*recent, now.isoformat()] if allowed else recent
    session.add(sub)
    session.flush()
    return sub, confirmation_message(settings, sub, now=now) if allowed else None


def add_confirmed(
    session: Session,
    email: str,
    *,
    language: str,
    topics: Iterable[str],
    towns: Iterable[str],
    include_online: bool = True,
    origin: str = "admin",
    now: datetime,
) -> Subscriber:
    """Add (or re-confirm) someone whose consent was gathered elsewhere."""
    address = normalize_email(email)
    lang, topic_list, town_list = clean_preferences(language, topics, towns)
    sub = find_by_email(session, address) or Subscriber(email=address, created_at=now)
    if sub.status in (SubscriberStatus.unsubscribed, SubscriberStatus.bounced):
        sub.token_version += 1  # links from before they left stay dead
        sub.link_secret = new_link_secret()
    if sub.status != SubscriberStatus.confirmed:
        sub.status = SubscriberStatus.confirmed
        sub.confirmed_at = now
        sub.consent_at, sub.consent_origin = now, origin
        sub.unsubscribed_at = None
        sub.hard_bounces = 0
    sub.language, sub.topics, sub.towns = lang, topic_list, town_list
    sub.include_online = include_online
    session.add(sub)
    session.flush()
    return sub


def subscriber_from_token(
    session: Session, settings: Settings, token: str, scope: str, *, max_age: int | None = None
) -> Subscriber:
    """The subscriber a link names, or :class:`InvalidTokenError` (forged, expired, revoked)."""
    claim = read_token(settings, token, scope, max_age=max_age)
    sub = session.get(Subscriber, claim.subscriber_id)
    if sub is None or not claim_matches(claim, sub):
        raise InvalidTokenError("this link is no longer valid")
    return sub


def confirm(session: Session, settings: Settings, token: str, *, now: datetime) -> Subscriber:
    """Confirm a pending subscription (idempotent for a confirmed one)."""
    sub = subscriber_from_token(session, settings, token, "confirm")
    if sub.status == SubscriberStatus.pending:
        sub.status = SubscriberStatus.confirmed
        sub.confirmed_at = now
        session.add(sub)
        session.flush()
    elif sub.status != SubscriberStatus.confirmed:
        raise InvalidTokenError("this subscription was closed: please subscribe again")
    return sub


def unsubscribe(session: Session, settings: Settings, token: str, *, now: datetime) -> Subscriber:
    """Leave the list (one click, idempotent: a second click changes nothing)."""
    sub = subscriber_from_token(session, settings, token, "unsubscribe")
    if sub.status != SubscriberStatus.unsubscribed:
        sub.status = SubscriberStatus.unsubscribed
        sub.unsubscribed_at = now
        session.add(sub)
        session.flush()
    return sub


def update_preferences(
    session: Session,
    settings: Settings,
    token: str,
    *,
    language: str,
    topics: Iterable[str],
    towns: Iterable[str],
    include_online: bool,
) -> Subscriber:
    """Change topics, towns (INSEE codes; empty = whole region), online and language."""
    sub = subscriber_from_token(session, settings, token, "preferences")
    sub.language, sub.topics, sub.towns = clean_preferences(language, topics, towns)
    sub.include_online = include_online
    session.add(sub)
    session.flush()
    return sub


def export_data(session: Session, subscriber_id: int) -> dict[str, Any]:
    """Everything stored about one subscriber ("send me my data"), JSON-ready."""
    sub = session.get(Subscriber, subscriber_id)
    if sub is None:
        raise NotFoundError(f"no subscriber #{subscriber_id}")
    rows = session.exec(
        select(Delivery, Digest)
        .join(Digest, Digest.id == Delivery.digest_id)  # type: ignore[arg-type]
        .where(Delivery.subscriber_id == subscriber_id)
        .order_by(Digest.week)
    ).all()

    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "email": sub.email,
        "status": sub.status,
        "language": sub.language,
        "topics": list(sub.topics),
        "towns": list(sub.towns),
        "include_online": sub.include_online,
        "consent_at": iso(sub.consent_at),
        "consent_origin": sub.consent_origin,
        "confirmed_at": iso(sub.confirmed_at),
        "unsubscribed_at": iso(sub.unsubscribed_at),
        "created_at": iso(sub.created_at),
        "hard_bounces": sub.hard_bounces,
        "topic_weights": dict(sub.topic_weights or {}),
        "confirmation_mails": list(sub.confirm_mails or []),
        "feedback": [
            {"event_id": vote.event_id, "direction": vote.direction, "at": iso(vote.created_at)}
            for vote in session.exec(
                select(FeedbackVote)
                .where(FeedbackVote.subscriber_id == subscriber_id)
                .order_by(col(FeedbackVote.id))
            )
        ],
        "deliveries": [
            {
                "region": digest.region,
                "week": digest.week,
                "status": delivery.status,
                "sent_at": iso(delivery.sent_at),
                "event_ids": list(delivery.event_ids),
            }
            for delivery, digest in rows
        ],
    }


def delete_subscriber(session: Session, subscriber_id: int) -> None:
    """Erase a subscriber and their delivery records ("delete me")."""
    sub = session.get(Subscriber, subscriber_id)
    if sub is None:
        raise NotFoundError(f"no subscriber #{subscriber_id}")
    session.execute(delete(Delivery).where(Delivery.subscriber_id == subscriber_id))  # type: ignore[arg-type]
    session.execute(delete(FeedbackVote).where(FeedbackVote.subscriber_id == subscriber_id))  # type: ignore[arg-type]
    session.delete(sub)
    session.flush()
