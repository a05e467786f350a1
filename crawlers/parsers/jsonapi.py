"""JSON bodies: a platform's API answer or export, else plain JSON-LD.

The platform is told by the content, in this order: OpenAgenda (``openagenda.py``),
ActivityPub events of Mobilizon and Gancio (``activitypub.py``), Gancio's own API
(``gancio.py``), The Events Calendar REST (``tec.py``), WordPress ``wp/v2`` items
(``wordpress.py``), Eventbrite API v3 (``eventbrite.py``), Bevy chapters (``bevy.py``),
developers.events (``devevents.py``).
Anything else is tried as JSON-LD (schema.org Event nodes anywhere in it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aggregator.errors import ParseError
from aggregator.raw import RawEvent, SourceDefaults
from crawlers.parsers import (
    activitypub,
    bevy,
    devevents,
    eventbrite,
    gancio,
    openagenda,
    tec,
    wordpress,
)
from crawlers.parsers.common import load_json as read_json
from crawlers.parsers.schemaorg import event_from_schema, find_events


@dataclass(frozen=True)
class JsonReading:
    """What a JSON document held: its format (the platform's name, or "jsonld")."""

    format: str
    events: list[RawEvent]
    links: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    platform: str | None = None


def load_json(text: str) -> Any:
    """JSON text to data (stray text after the document ignored), or a ParseError."""
    return read_json(text)[0]


def parse_json(text: str, *, url: str, defaults: SourceDefaults) -> JsonReading:
    """The events of a JSON document, read by the platform its content shows."""
    data = load_json(text)
    if openagenda.recognise(data):
        events = openagenda.read(data, url=url, defaults=defaults)
        return JsonReading(openagenda.PLATFORM, events, platform=openagenda.PLATFORM)
    if activitypub.recognise(data):
        events = activitypub.read(data, url=url, defaults=defaults)
        return JsonReading(activitypub.PLATFORM, events, platform=activitypub.platform(data))
    if gancio.recognise(data):
        events = gancio.read(data, url=url, defaults=defaults)
        return JsonReading(gancio.PLATFORM, events, platform=gancio.PLATFORM)
    if tec.recognise(data):
        events = tec.read(data, url=url)
        return JsonReading(tec.PLATFORM, events, tec.next_pages(data, url), platform=tec.PLATFORM)
    if wordpress.recognise(data):
        events, warnings = wordpress.read(data, url=url, defaults=defaults)
        return JsonReading(wordpress.PLATFORM, events, [], warnings, wordpress.PLATFORM)
    if eventbrite.recognise(data):
        events = eventbrite.read(data, url=url)
        return JsonReading(eventbrite.PLATFORM, events, platform=eventbrite.PLATFORM)
    if bevy.recognise(data):
        events = bevy.read(data, url=url, defaults=defaults)
        return JsonReading(
            bevy.PLATFORM, events, bevy.next_pages(data, url), platform=bevy.PLATFORM
        )
    if devevents.recognise(data):
        events = devevents.read(data, url=url, defaults=defaults)
        return JsonReading(devevents.PLATFORM, events, platform=devevents.PLATFORM)
    events = [
        event
        for node in find_events(data)
        if (event := event_from_schema(node, fmt="jsonld", page_url=url)) is not None
    ]
    if not events and not _mentions_event(data):
        raise ParseError("JSON document holds no events we recognise")
    return JsonReading("jsonld", events)


def _mentions_event(data: Any) -> bool:
    return isinstance(data, dict) and ("@context" in data or "events" in data)
