"""The personal links of one subscriber's copy of a digest (all signed, scoped tokens).

The feedback links of a copy share one signed reader token; each joins it with its event
id and direction (:func:`newsletter.tokens.feedback_link_token`).
"""

from __future__ import annotations

from aggregator.models import Subscriber
from aggregator.settings import Settings
from newsletter.render import DigestLinks
from newsletter.select import DigestContent
from newsletter.tokens import feedback_link_token, make_reader_feedback_token, make_token


def personal_links(settings: Settings, sub: Subscriber, content: DigestContent) -> DigestLinks:
    """The links of ``sub``'s copy: unsubscribe, preferences, feeds, feedback per event."""
    base = settings.base_url.rstrip("/")
    feed = make_token(settings, sub, "feed")
    reader = make_reader_feedback_token(settings, sub)  # one signature for every event link

    def urls(event_id: int) -> tuple[str, str]:
        more = feedback_link_token(reader, event_id, "more")
        less = feedback_link_token(reader, event_id, "less")
        return f"{base}/feedback/{more}", f"{base}/feedback/{less}"

    return DigestLinks(
        unsubscribe=f"{base}/unsubscribe/{make_token(settings, sub, 'unsubscribe')}",
        preferences=f"{base}/preferences/{make_token(settings, sub, 'preferences')}",
        feedback={
            item.event.id: urls(item.event.id)
            for item in content.all_items
            if item.event.topics and not item.is_cancelled
        },
        feed_ics=f"{base}/me/{feed}/events.ics",
        feed_atom=f"{base}/me/{feed}/feed.xml",
    )
