"""What a source said: the plain, frozen shape every parser returns.

A ``RawEvent`` is never stored as-is; ``aggregator.normalize`` turns it into the
published shape. Times keep the source's own meaning:

* an aware ``datetime`` is an instant (any offset);
* a naive ``datetime`` is a *floating* local time: ``timezone`` names its zone when the
  source declared one, else the source's default timezone applies later;
* a ``date`` is an all-day event. For all-day events ``end`` is the **last day**
  (inclusive, as a person reads it), whatever the source's convention.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime
from typing import Any

from aggregator.timeutil import DEFAULT_ZONE
from aggregator.types import EventStatus

# The words a source may say a status with (``RawEvent.status``, lowercased, the last part
# of a schema.org URL), and the status each one means for us. Only input: ``normalize``
# maps them; anything else published is an ``EventStatus``. An unknown word is scheduled.
SOURCE_STATUS_WORDS: Mapping[str, EventStatus] = {
    "scheduled": EventStatus.scheduled,
    "confirmed": EventStatus.scheduled,
    "rescheduled": EventStatus.scheduled,
    "eventscheduled": EventStatus.scheduled,
    "eventrescheduled": EventStatus.scheduled,
    "eventmovedonline": EventStatus.scheduled,
    "tentative": EventStatus.tentative,
    "cancelled": EventStatus.cancelled,
    "canceled": EventStatus.cancelled,
    "eventcancelled": EventStatus.cancelled,
    "annule": EventStatus.cancelled,
    "annulé": EventStatus.cancelled,
    "postponed": EventStatus.postponed,
    "eventpostponed": EventStatus.postponed,
    "reporte": EventStatus.postponed,
    "reporté": EventStatus.postponed,
}


@dataclass(frozen=True, slots=True)
class SourceDefaults:
    """What we know about a source that its documents may leave out."""

    timezone: str | None = DEFAULT_ZONE
    language: str | None = "fr"
    city: str | None = None
    window_start: datetime | None = None  # expand recurrences from here...
    window_end: datetime | None = None  # ...to here (aware datetimes)
    follow_links: bool = False
    # Where a source's items keep their event fields, for documents with no fixed shape
    # (WordPress ``/wp-json/wp/v2/<type>`` items): RawEvent field → dotted path in the item,
    # e.g. {"start": "acf.date_debut", "start_time": "acf.heure", "venue": "meta.lieu"}.
    mapping: dict[str, str] | None = None


@dataclass(frozen=True, slots=True)
class RawEvent:
    """One event as a document described it. Unknown values are ``None``, never invented."""

    title: str
    start: datetime | date | None
    end: datetime | date | None = None
    timezone: str | None = None
    uid: str | None = None
    url: str | None = None
    description: str | None = None
    venue: str | None = None
    address: str | None = None
    city: str | None = None
    postcode: str | None = None
    country: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    online: bool | None = None
    online_url: str | None = None
    status: str | None = None  # the source's word (see SOURCE_STATUS_WORDS)
    organizer: str | None = None
    image: str | None = None
    price: str | None = None
    categories: tuple[str, ...] = field(default_factory=tuple)
    language: str | None = None
    series_uid: str | None = None
    source_format: str = "unknown"
    source_url: str | None = None

    @property
    def all_day(self) -> bool:
        return isinstance(self.start, date) and not isinstance(self.start, datetime)

    def with_(self, **changes: Any) -> RawEvent:
        """A copy with some fields changed."""
        return replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (times in ISO 8601)."""
        data = asdict(self)
        for key in ("start", "end"):
            value = data[key]
            data[key] = value.isoformat() if value is not None else None
        data["categories"] = list(self.categories)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RawEvent:
        """Inverse of :meth:`to_json`."""
        values = dict(data)
        for key in ("start", "end"):
            values[key] = _parse_iso(values.get(key))
        values["categories"] = tuple(values.get("categories") or ())
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in values.items() if k in known})


def _parse_iso(text: str | None) -> datetime | date | None:
    if not text:
        return None
    if len(text) == 10:
        return date.fromisoformat(text)
    return datetime.fromisoformat(text)
