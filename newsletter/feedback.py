"""Feedback from the email: "more like this" / "fewer like this" adjust topic weights.

Each event of a digest carries two signed links (scope ``feedback``, no login). Following
one only shows a confirmation page (mail scanners follow links); the page's POST calls
:func:`apply_feedback`. The rule, applied by :func:`newsletter.select.select_digest`:

* "more like this" adds ``STEP`` to each of the event's topics, "fewer" subtracts it;
  weights stay within ``[-WEIGHT_LIMIT, WEIGHT_LIMIT]``;
* within a day, events with a positive score (sum of their topics' weights) come first;
* a topic at ``MUTE_AT`` (two "fewer" clicks) or below is muted: an event whose topics are
  all muted is left out of the digest and the personal feeds, except news about an event
  the reader was told of (moved, cancelled). "More like this" on a muted topic unmutes it.

A click counts once: each counted one leaves a :class:`~aggregator.models.FeedbackVote`
row, unique per (reader, event, direction), so replaying a POST, or following the same
link from several copies of the digest, changes the weights only the first time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from aggregator.errors import InvalidTokenError, NotFoundError
from aggregator.models import Event, FeedbackVote, Subscriber, SubscriberStatus
from aggregator.settings import Settings
from newsletter.select import MUTE_AT, WEIGHT_LIMIT
from newsletter.tokens import claim_matches, make_feedback_token, read_feedback_token

STEP = 1.0


def adjust_weights(
    weights: Mapping[str, float], topics: Iterable[str], direction: str
) -> dict[str, float]:
    """New weights after one "more" or "fewer" click on an event with ``topics`` (pure)."""
    delta = STEP if direction == "more" else -STEP
    out = {k: float(v) for k, v in weights.items()}
    for topic in topics:
        value = max(-WEIGHT_LIMIT, min(WEIGHT_LIMIT, out.get(topic, 0.0) + delta))
        if value == 0.0:
            out.pop(topic, None)
        else:
            out[topic] = value
    return out


def muted_topics(weights: Mapping[str, float]) -> list[str]:
    """The topics the reader muted, sorted."""
    return sorted(t for t, w in weights.items() if float(w) <= MUTE_AT)


@dataclass(frozen=True, slots=True)
class FeedbackRequest:
    """What a feedback link names, checked against the store."""

    subscriber: Subscriber
    event: Event
    direction: str
    counted: bool = False  # this click changed the weights (False: a replay)


def read_feedback(session: Session, settings: Settings, token: str) -> FeedbackRequest:
    """The subscriber, event and direction a feedback link names (nothing changes).

    :class:`InvalidTokenError` for a forged, expired or revoked link or a reader who left;
    :class:`NotFoundError` when the event is gone.
    """
    claim, event_id, direction = read_feedback_token(settings, token)
    sub = session.get(Subscriber, claim.subscriber_id)
    if sub is None or not claim_matches(claim, sub) or sub.status != SubscriberStatus.confirmed:
        raise InvalidTokenError("this link is no longer valid")
    event = session.get(Event, event_id)
    if event is None:
        raise NotFoundError("this event no longer exists")
    return FeedbackRequest(sub, event, direction)


def _record_vote(session: Session, request: FeedbackRequest, now: datetime | None) -> bool:
    """Store the click's vote; False when it was already counted (a replay)."""
    sub_id, event_id = request.subscriber.id, request.event.id
    assert sub_id is not None and event_id is not None
    seen = session.exec(
        select(FeedbackVote.id).where(
            FeedbackVote.subscriber_id == sub_id,
            FeedbackVote.event_id == event_id,
            FeedbackVote.direction == request.direction,
        )
    ).first()
    if seen is not None:
        return False
    try:
        with session.begin_nested():  # two replays at once: the unique constraint decides
            session.add(
                FeedbackVote(
                    subscriber_id=sub_id,
                    event_id=event_id,
                    direction=request.direction,
                    created_at=now,
                )
            )
    except IntegrityError:
        return False
    return True


def apply_feedback(
    session: Session, settings: Settings, token: str, *, now: datetime | None = None
) -> FeedbackRequest:
    """Apply a feedback link's click to the subscriber's topic weights, once (the caller
    commits); a replayed click changes nothing and comes back with ``counted=False``."""
    request = read_feedback(session, settings, token)
    if not _record_vote(session, request, now):
        return request
    sub = request.subscriber
    sub.topic_weights = adjust_weights(
        sub.topic_weights or {}, request.event.topics or (), request.direction
    )
    session.add(sub)
    session.flush()
    return replace(request, counted=True)


def feedback_urls(settings: Settings, sub: Subscriber, event_id: int) -> tuple[str, str]:
    """The ``(more, fewer)`` links of one event in ``sub``'s digest."""
    base = settings.base_url.rstrip("/")
    more = make_feedback_token(settings, sub, event_id, "more")
    less = make_feedback_token(settings, sub, event_id, "less")
    return f"{base}/feedback/{more}", f"{base}/feedback/{less}"
