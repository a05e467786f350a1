"""``bevy-chapter``: a Bevy chapter (``gdg.community.dev/<chapter>/``) read in two requests.

The chapter page's ``__NEXT_DATA__`` shows a few upcoming events and, in
``props.pageProps.chapter.id``, the chapter id; the chapter's JSON
``/api/event_slim/for_chapter/<id>/?status=Live&…&order=start_date`` lists every live
event (paged with ``links.next``). A css schema cannot say "take an id from this page and
build the next URL", so this is the pack's ``manual`` example (routes.toml:
``adapter = "manual"``, ``spider = "bevy-chapter"``).

The page's own events are emitted at once (they survive a failing JSON request); the JSON
then adds the events not already seen. Reading each document is the shared route path
(:meth:`SourceSpider.read`); only the chapter id lookup is specific, and it is pure.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from scrapy.http import Response

from aggregator.raw import RawEvent
from crawlers.parsers import ParseResult
from crawlers.parsers.common import decode_body
from crawlers.spiders import register
from crawlers.spiders.base import SourceJob, SourceSpider, response_headers

NAME = "bevy-chapter"
# The chapter events JSON with the parameters chapter sites send (unknown ones answer 400).
EVENTS_QUERY = (
    "status=Live&include_cohosted_events=true&visible_on_parent_chapter_only=true&order=start_date"
)
_NEXT_DATA = re.compile(
    r'<script[^>]*\bid=["\']__NEXT_DATA__["\'][^>]*>(.*?)</script>', re.DOTALL | re.IGNORECASE
)


def chapter_id(page: str) -> int | None:
    """The chapter id in a Bevy chapter page's ``__NEXT_DATA__`` (``None`` when absent)."""
    match = _NEXT_DATA.search(page)
    if match is None:
        return None
    try:
        data: Any = json.loads(match.group(1))
    except ValueError:
        return None
    chapter = (
        data.get("props", {}).get("pageProps", {}).get("chapter")
        if isinstance(data, dict)
        else None
    )
    value = chapter.get("id") if isinstance(chapter, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    text = str(value).strip()
    return int(text) if text.isdigit() and int(text) > 0 else None


def chapter_events_url(page: str, page_url: str) -> str | None:
    """The chapter's events JSON on the page's host, or ``None`` without a chapter id."""
    found = chapter_id(page)
    if found is None:
        return None
    parts = urlsplit(page_url)
    path = f"/api/event_slim/for_chapter/{found}/"
    return urlunsplit((parts.scheme, parts.netloc, path, EVENTS_QUERY, ""))


def event_key(event: RawEvent) -> str:
    """What makes two readings of an event the same one (Bevy's id, else title and start)."""
    return event.uid or f"{event.title}|{event.start}"


@register(NAME)
class BevyChapterSpider(SourceSpider):
    """A Bevy chapter: its page (events, chapter id), then its events JSON."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.emitted: dict[int, set[str]] = {}

    def extract(self, job: SourceJob, response: Response) -> ParseResult:
        result = self.read(job, response)
        seen = self.emitted.setdefault(job.id, set())
        fresh = [e for e in result.events if event_key(e) not in seen]
        seen.update(event_key(e) for e in fresh)
        links = list(result.links)
        warnings = list(result.warnings)
        if response.meta.get("listing"):
            content_type = response_headers(response).get("content-type")
            api = chapter_events_url(decode_body(response.body, content_type), response.url)
            if api is None:
                warnings.append(f"{NAME}: no chapter id in {response.url}: its page events only")
            else:
                links.append(api)
        return replace(result, events=fresh, links=links, warnings=warnings)
