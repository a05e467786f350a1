"""Signed, scoped links for subscribers (confirm, unsubscribe, preferences, feedback...).

A token carries ``(subscriber_id, token_version, link_secret)``, signed with
``settings.secret_key`` and a salt per scope, so a confirmation token can never
unsubscribe anyone. Bumping ``Subscriber.token_version`` revokes every link already sent;
``Subscriber.link_secret`` is random per row and replaced at re-subscription, so a link
can only ever name the person it was sent to, even when a deleted row's id is reused
(:func:`claim_matches` compares both with the row). Confirmation links expire after
seven days.

A digest copy signs one *reader* token (:func:`make_reader_token`, its own salt) and
derives each personal link from it (:func:`derive_token`):
``<reader token>~<scope>~<mac>``, where the MAC (HMAC-SHA256 under a key derived from
``secret_key``, 120 bits) binds the scope to that very token, so a feed link (pasted into a
calendar app) cannot be turned into a preferences or unsubscribe link, and a changed
scope, MAC or token is refused. Feedback links add ``~<event id>~<direction>`` to the
derived ``feedback`` token. :func:`read_token` reads both forms; the single-token links
sent before keep working.
"""

from __future__ import annotations

import base64
import hmac
from functools import lru_cache
from typing import Any, NamedTuple

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from aggregator.errors import InvalidTokenError
from aggregator.models import Subscriber
from aggregator.settings import Settings

SCOPES = ("confirm", "unsubscribe", "preferences", "feedback", "feed", "data")
CONFIRM_MAX_AGE = 7 * 24 * 3600
DEFAULT_MAX_AGE: dict[str, int | None] = {"confirm": CONFIRM_MAX_AGE}


READER = "reader"  # the salt of the per-copy token the digest's links derive from
DERIVED_SCOPES = ("unsubscribe", "preferences", "feedback", "feed")
SEPARATOR = "~"  # never in an itsdangerous URL-safe token (base64url and ".")


def _serializer(settings: Settings, scope: str) -> URLSafeTimedSerializer:
    if scope not in SCOPES and scope != READER:
        raise ValueError(f"unknown token scope {scope!r}")
    if not settings.secret_key:
        raise InvalidTokenError("no secret key configured: links cannot be signed")
    return _cached_serializer(settings.secret_key, scope)


@lru_cache(maxsize=64)
def _cached_serializer(secret_key: str, scope: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=f"techagenda.{scope}")


@lru_cache(maxsize=16)
def _link_key(secret_key: str) -> bytes:
    """The key of the derived links' MACs (never the secret key itself)."""
    return hmac.digest(secret_key.encode(), b"techagenda.reader-links", "sha256")


def _mac(settings: Settings, reader: str, scope: str) -> str:
    message = f"{reader}{SEPARATOR}{scope}".encode()
    tag = hmac.digest(_link_key(settings.secret_key), message, "sha256")[:15]  # C fast path
    return base64.urlsafe_b64encode(tag).decode("ascii")  # 20 characters, no padding


class LinkClaim(NamedTuple):
    """Whom a link names: checked against the row by :func:`claim_matches`."""

    subscriber_id: int
    version: int
    secret: str


def claim_matches(claim: LinkClaim, subscriber: Subscriber | None) -> bool:
    """True when ``subscriber`` is the very person the link was made for."""
    return (
        subscriber is not None
        and subscriber.id == claim.subscriber_id
        and subscriber.token_version == claim.version
        and bool(subscriber.link_secret)
        and hmac.compare_digest(subscriber.link_secret.encode(), claim.secret.encode())
    )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _claim(subscriber: Subscriber) -> list[Any]:
    if subscriber.id is None:
        raise ValueError("the subscriber must be stored before a link can name it")
    if not subscriber.link_secret:
        raise ValueError("the subscriber has no link secret")
    return [subscriber.id, subscriber.token_version, subscriber.link_secret]


def _read_claim(data: Any) -> LinkClaim:
    if (
        not isinstance(data, list)
        or len(data) != 3
        or not all(_is_int(x) for x in data[:2])
        or not isinstance(data[2], str)
        or not data[2]
    ):
        raise InvalidTokenError("this link is not valid")
    return LinkClaim(int(data[0]), int(data[1]), str(data[2]))


def make_token(settings: Settings, subscriber: Subscriber, scope: str) -> str:
    """A URL-safe signed token naming ``subscriber`` (id, version, secret) for one ``scope``."""
    return str(_serializer(settings, scope).dumps(_claim(subscriber)))


def make_reader_token(settings: Settings, subscriber: Subscriber) -> str:
    """The one signed token of a digest copy; its links come from :func:`derive_token`."""
    return str(_serializer(settings, READER).dumps(_claim(subscriber)))


def derive_token(settings: Settings, reader_token: str, scope: str) -> str:
    """``reader_token``'s link for ``scope``: ``<reader token>~<scope>~<mac>`` (no new
    signature: one HMAC of a few dozen bytes)."""
    if scope not in DERIVED_SCOPES:
        raise ValueError(f"scope {scope!r} has no derived links")
    if not settings.secret_key:
        raise InvalidTokenError("no secret key configured: links cannot be signed")
    return f"{reader_token}{SEPARATOR}{scope}{SEPARATOR}{_mac(settings, reader_token, scope)}"


def _read_derived(settings: Settings, parts: list[str], scope: str, limit: int | None) -> LinkClaim:
    """The claim of a derived link split at :data:`SEPARATOR` (reader, scope, mac)."""
    if not settings.secret_key:
        raise InvalidTokenError("no secret key configured: links cannot be signed")
    if (
        len(parts) != 3
        or scope not in DERIVED_SCOPES
        or parts[1] != scope
        or not parts[2].isascii()
        or not hmac.compare_digest(parts[2], _mac(settings, parts[0], scope))
    ):
        raise InvalidTokenError("this link is not valid")
    return _loads(settings, parts[0], READER, limit)


def read_token(
    settings: Settings, token: str, scope: str, *, max_age: int | None = None
) -> LinkClaim:
    """The :class:`LinkClaim` of a token, or :class:`InvalidTokenError`.

    Reads a token of ``scope`` or a link derived for ``scope`` (:func:`derive_token`).
    ``max_age`` (seconds) defaults to the scope's own limit: seven days for ``confirm``,
    none for the others.
    """
    limit = max_age if max_age is not None else DEFAULT_MAX_AGE.get(scope)
    if SEPARATOR in token:
        return _read_derived(settings, token.split(SEPARATOR), scope, limit)
    return _loads(settings, token, scope, limit)


def _loads(settings: Settings, token: str, scope: str, limit: int | None) -> LinkClaim:
    serializer = _serializer(settings, scope)
    try:
        data: Any = serializer.loads(token, max_age=limit)
    except SignatureExpired as exc:
        raise InvalidTokenError("this link has expired", expired=True) from exc
    except BadSignature as exc:
        raise InvalidTokenError("this link is not valid") from exc
    return _read_claim(data)


FEEDBACK_DIRECTIONS = ("more", "less")
FEEDBACK_MAX_AGE = 180 * 24 * 3600  # an old digest's feedback links stop after six months


def make_feedback_token(
    settings: Settings, subscriber: Subscriber, event_id: int, direction: str
) -> str:
    """A signed "more/fewer like this" token: the subscriber, the event and the direction."""
    if direction not in FEEDBACK_DIRECTIONS:
        raise ValueError(f"unknown feedback direction {direction!r}")
    payload = [*_claim(subscriber), event_id, direction]
    return str(_serializer(settings, "feedback").dumps(payload))


FEEDBACK_SEPARATOR = SEPARATOR
_MAX_EVENT_DIGITS = 18


def make_reader_feedback_token(settings: Settings, subscriber: Subscriber) -> str:
    """One signed ``feedback`` token per reader and message (the form sent before the
    derived links; still read): every event link joined it with :func:`feedback_link_token`."""
    return make_token(settings, subscriber, "feedback")


def feedback_link_token(reader_token: str, event_id: int, direction: str) -> str:
    """The path segment of one event's link: ``<token>~<event id>~<direction>``, where
    ``<token>`` is the copy's derived ``feedback`` link (:func:`derive_token`) or, in
    links sent before, a ``feedback`` token.

    Changing the event id only names another event for the same reader (the caller checks
    that it exists); the reader, version, secret and scope stay signed.
    """
    if direction not in FEEDBACK_DIRECTIONS:
        raise ValueError(f"unknown feedback direction {direction!r}")
    return f"{reader_token}{FEEDBACK_SEPARATOR}{int(event_id)}{FEEDBACK_SEPARATOR}{direction}"


def read_feedback_token(settings: Settings, token: str) -> tuple[LinkClaim, int, str]:
    """``(claim, event_id, direction)`` or InvalidTokenError; reads the derived form, the
    per-reader form (:func:`feedback_link_token`) and the older one-token-per-event links."""
    if FEEDBACK_SEPARATOR in token:
        return _read_reader_feedback(settings, token)
    try:
        data: Any = _serializer(settings, "feedback").loads(token, max_age=FEEDBACK_MAX_AGE)
    except SignatureExpired as exc:
        raise InvalidTokenError("this link has expired", expired=True) from exc
    except BadSignature as exc:
        raise InvalidTokenError("this link is not valid") from exc
    if (
        not isinstance(data, list)
        or len(data) != 5
        or not _is_int(data[3])
        or data[4] not in FEEDBACK_DIRECTIONS
    ):
        raise InvalidTokenError("this link is not valid")
    return _read_claim(data[:3]), int(data[3]), str(data[4])


def _read_reader_feedback(settings: Settings, token: str) -> tuple[LinkClaim, int, str]:
    parts = token.split(FEEDBACK_SEPARATOR)
    head, tail = parts[:-2], parts[-2:]
    if (
        len(parts) not in (3, 5)
        or not tail[0].isascii()
        or not tail[0].isdigit()
        or len(tail[0]) > _MAX_EVENT_DIGITS
        or tail[1] not in FEEDBACK_DIRECTIONS
    ):
        raise InvalidTokenError("this link is not valid")
    if len(head) == 3:
        claim = _read_derived(settings, head, "feedback", FEEDBACK_MAX_AGE)
    else:
        claim = _loads(settings, head[0], "feedback", FEEDBACK_MAX_AGE)
    return claim, int(tail[0]), tail[1]
