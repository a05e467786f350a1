"""The personal links of one subscriber's copy of a digest.

A copy signs one reader token (:func:`newsletter.tokens.make_reader_token`) and derives
every link from it (:func:`newsletter.tokens.derive_token`: the scope bound by an HMAC);
the feedback links join the derived ``feedback`` link with their event id and direction
(:func:`newsletter.tokens.feedback_link_token`).
"""

from __future__ import annotations

from aggregator.models import Subscriber
from aggregator.settings import Settings
from newsletter.render import DigestLinks
from newsletter.select import DigestContent
from newsletter.tokens import FEEDBACK_SEPARATOR, derive_token, make_reader_token


def personal_links(settings: Settings, sub: Subscriber, content: DigestContent) -> DigestLinks:
    """The links of ``sub``'s copy: unsubscribe, preferences, feeds, feedback per event."""
    base = settings.base_url.rstrip("/")
    reader = make_reader_token(settings, sub)  # the copy's one signature
    feed = derive_token(settings, reader, "feed")
    # feedback_link_token's form, written out: two f-strings per event
    more = f"{base}/feedback/{derive_token(settings, reader, 'feedback')}{FEEDBACK_SEPARATOR}"
    return DigestLinks(
        unsubscribe=f"{base}/unsubscribe/{derive_token(settings, reader, 'unsubscribe')}",
        preferences=f"{base}/preferences/{derive_token(settings, reader, 'preferences')}",
        feedback={
            item.event.id: (
                f"{more}{item.event.id}{FEEDBACK_SEPARATOR}more",
                f"{more}{item.event.id}{FEEDBACK_SEPARATOR}less",
            )
            for item in content.all_items
            if item.event.topics and not item.is_cancelled
        },
        feed_ics=f"{base}/me/{feed}/events.ics",
        feed_atom=f"{base}/me/{feed}/feed.xml",
    )
