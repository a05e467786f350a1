"""One read shape of a published event, for every JSON reader: the API (``/api/events``),
``techagenda events list --json`` and whatever export gives JSON.

:class:`PublicEvent` is built once by :func:`public_view` from the stored event, the URLs
of the sources that carry it and the site's base URL; :meth:`PublicEvent.as_json` is the
one JSON object of an event (the API's ``EventOut`` schema has exactly these keys).
Instants are UTC; all-day events also give their local ``start_date``/``end_date``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from typing import Any, Protocol


class StoredEvent(Protocol):
    """What :func:`public_view` reads of an event (``aggregator.models.Event`` has it)."""

    id: int | None
    title: str
    start: datetime | None
    end: datetime | None
    all_day: bool
    start_date: date | None
    end_date: date | None
    timezone: str
    status: Any
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
    topics: Any
    description_text: str | None
    updated_at: datetime | None


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


def public_view(event: StoredEvent, *, base_url: str, sources: Iterable[str]) -> PublicEvent:
    """The read shape of a stored event (``sources``: see ``aggregator.queries.event_sources``)."""
    status = event.status
    return PublicEvent(
        id=event.id or 0,
        title=event.title,
        url=f"{base_url.rstrip('/')}/events/{event.id}",
        start=event.start,
        end=event.end,
        all_day=event.all_day,
        start_date=event.start_date,
        end_date=event.end_date,
        timezone=event.timezone,
        status=str(getattr(status, "value", status)),
        venue=event.venue,
        address=event.address,
        city=event.city,
        postcode=event.postcode,
        insee=event.insee,
        latitude=event.latitude,
        longitude=event.longitude,
        online=event.online,
        organizer=event.organizer,
        price=event.price,
        topics=tuple(event.topics or ()),
        description=event.description_text,
        sources=tuple(sources),
        updated_at=event.updated_at,
    )


def _json(value: Any) -> Any:
    if isinstance(value, datetime):
        text = value.isoformat()
        return text[:-6] + "Z" if value.utcoffset() == timedelta(0) and text.endswith("+00:00") else text
    if isinstance(value, date):
        return value.isoformat()
    return value
