"""The personal links of one subscriber's copy of a digest (all signed, scoped tokens)."""

from __future__ import annotations

from aggregator.models import Subscriber
from aggregator.settings import Settings
from newsletter.feedback import feedback_urls
from newsletter.render import DigestLinks
from newsletter.select import DigestContent
from newsletter.tokens import make_token


def personal_links(settings: Settings, sub: Subscriber, content: DigestContent) -> DigestLinks:
    """The links of ``sub``'s copy: unsubscribe, preferences, feeds, feedback per event."""
    base = settings.base_url.rstrip("/")
    feed = make_token(settings, sub, "feed")
    return DigestLinks(
        unsubscribe=f"{base}/unsubscribe/{make_token(settings, sub, 'unsubscribe')}",
        preferences=f"{base}/preferences/{make_token(settings, sub, 'preferences')}",
        feedback={
            item.event.id: feedback_urls(settings, sub, item.event.id)
            for item in content.all_items
            if item.event.topics and not item.is_cancelled
        },
        feed_ics=f"{base}/me/{feed}/events.ics",
        feed_atom=f"{base}/me/{feed}/feed.xml",
    )
