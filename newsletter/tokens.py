"""Signed, scoped links for subscribers (confirm, unsubscribe, preferences, feedback...).

A token carries ``(subscriber_id, token_version)``, signed with ``settings.secret_key``
and a salt per scope, so a confirmation token can never unsubscribe anyone. Bumping
``Subscriber.token_version`` revokes every link already sent (the caller compares the
version it reads back with the row's). Confirmation links expire after seven days.
"""

from __future__ import annotations

from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from aggregator.errors import InvalidTokenError
from aggregator.models import Subscriber
from aggregator.settings import Settings

SCOPES = ("confirm", "unsubscribe", "preferences", "feedback", "feed", "data")
CONFIRM_MAX_AGE = 7 * 24 * 3600
DEFAULT_MAX_AGE: dict[str, int | None] = {"confirm": CONFIRM_MAX_AGE}


def _serializer(settings: Settings, scope: str) -> URLSafeTimedSerializer:
    if scope not in SCOPES:
        raise ValueError(f"unknown token scope {scope!r}")
    if not settings.secret_key:
        raise InvalidTokenError("no secret key configured: links cannot be signed")
    return URLSafeTimedSerializer(settings.secret_key, salt=f"techagenda.{scope}")


def make_token(settings: Settings, subscriber: Subscriber, scope: str) -> str:
    """A URL-safe signed token naming ``subscriber`` for one ``scope``."""
    if subscriber.id is None:
        raise ValueError("the subscriber must be stored before a link can name it")
    return str(_serializer(settings, scope).dumps([subscriber.id, subscriber.token_version]))


def read_token(
    settings: Settings, token: str, scope: str, *, max_age: int | None = None
) -> tuple[int, int]:
    """Return ``(subscriber_id, token_version)`` or raise :class:`InvalidTokenError`.

    ``max_age`` (seconds) defaults to the scope's own limit: seven days for ``confirm``,
    none for the others.
    """
    serializer = _serializer(settings, scope)
    limit = max_age if max_age is not None else DEFAULT_MAX_AGE.get(scope)
    try:
        data: Any = serializer.loads(token, max_age=limit)
    except SignatureExpired as exc:
        raise InvalidTokenError("this link has expired", expired=True) from exc
    except BadSignature as exc:
        raise InvalidTokenError("this link is not valid") from exc
    if (
        not isinstance(data, list)
        or len(data) != 2
        or not all(isinstance(x, int) and not isinstance(x, bool) for x in data)
    ):
        raise InvalidTokenError("this link is not valid")
    return int(data[0]), int(data[1])


FEEDBACK_DIRECTIONS = ("more", "less")
FEEDBACK_MAX_AGE = 180 * 24 * 3600  # an old digest's feedback links stop after six months


def make_feedback_token(
    settings: Settings, subscriber: Subscriber, event_id: int, direction: str
) -> str:
    """A signed "more/fewer like this" token: the subscriber, the event and the direction."""
    if subscriber.id is None:
        raise ValueError("the subscriber must be stored before a link can name it")
    if direction not in FEEDBACK_DIRECTIONS:
        raise ValueError(f"unknown feedback direction {direction!r}")
    payload = [subscriber.id, subscriber.token_version, event_id, direction]
    return str(_serializer(settings, "feedback").dumps(payload))


def read_feedback_token(settings: Settings, token: str) -> tuple[int, int, int, str]:
    """``(subscriber_id, token_version, event_id, direction)`` or InvalidTokenError."""
    try:
        data: Any = _serializer(settings, "feedback").loads(token, max_age=FEEDBACK_MAX_AGE)
    except SignatureExpired as exc:
        raise InvalidTokenError("this link has expired", expired=True) from exc
    except BadSignature as exc:
        raise InvalidTokenError("this link is not valid") from exc
    if (
        not isinstance(data, list)
        or len(data) != 4
        or not all(isinstance(x, int) and not isinstance(x, bool) for x in data[:3])
        or data[3] not in FEEDBACK_DIRECTIONS
    ):
        raise InvalidTokenError("this link is not valid")
    return int(data[0]), int(data[1]), int(data[2]), str(data[3])
