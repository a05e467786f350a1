"""One read shape of a published event, for every JSON reader: the API (``/api/events``),
``techagenda events list --json`` and whatever export gives JSON.

:class:`PublicEvent` is built once by :func:`public_view` from the stored event, the URLs
of the sources that carry it and the site's base URL; :meth:`PublicEvent.as_json` is the
one JSON object of an event. The API serves the dataclass itself (its OpenAPI schema).
Instants are UTC; all-day events also give their local ``start_date``/``end_date``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from typing import Any

from aggregator.models import Event


@dataclass(frozen=True, slots=True)
class PublicEvent:
    """One event as the public reads it."""

    id: int
    title: str
    url: str  # the event's page on this site
    start: datetime | None
    end: datetime | None
    all_day: bool
    start_date: date | None
    end_date: date | None
    timezone: str
    status: str
    venue: str | None
    address: str | None
    city: str | None
    postcode: str | None
    insee: str | None
    latitude: float | None
    longitude: float | None
    online: bool
    organizer: str | None
    price: str | None
    topics: tuple[str, ...]
    description: str | None
    sources: tuple[str, ...]  # per source carrying it: its event page, else its feed
    updated_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        """The fields by name, values as they are (lists for the tuples)."""
        return {
            f.name: list(v) if isinstance(v := getattr(self, f.name), tuple) else v
            for f in fields(self)
        }

    def as_json(self) -> dict[str, Any]:
        """The JSON object of the event: ISO 8601 dates, instants in UTC written ``…Z``."""
        return {name: _json(value) for name, value in self.as_dict().items()}


_DERIVED = frozenset({"id", "url", "status", "topics", "description", "sources"})


def public_view(event: Event, *, base_url: str, sources: Iterable[str]) -> PublicEvent:
    """The read shape of a stored event (``sources``: see ``aggregator.queries.event_sources``);
    every field but the derived ones is the stored field of that name."""
    status = event.status
    return PublicEvent(
        id=event.id or 0,
        url=f"{base_url.rstrip('/')}/events/{event.id}",
        status=str(getattr(status, "value", status)),
        topics=tuple(event.topics or ()),
        description=event.description_text,
        sources=tuple(sources),
        **{f.name: getattr(event, f.name) for f in fields(PublicEvent) if f.name not in _DERIVED},
    )


def _json(value: Any) -> Any:
    if isinstance(value, datetime):
        text = value.isoformat()
        return text[:-6] + "Z" if value.utcoffset() == timedelta(0) and text.endswith("+00:00") else text
    if isinstance(value, date):
        return value.isoformat()
    return value
