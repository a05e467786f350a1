"""What matching needs to know of one listing (imports nothing of ours)."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True, slots=True)
class Candidate:
    """What matching needs to know of one listing (see :func:`candidate_of`)."""

    key: Hashable
    title_key: str
    start: datetime | None
    all_day: bool
    start_date: date | None
    source_id: int | None = None
    canonical_url: str | None = None
    uid: str | None = None
    venue: str | None = None
    insee: str | None = None
    online: bool = False
    city: str | None = None  # the town as given; matters when it lies outside the region
    end_date: date | None = None  # local last day (inclusive)
    title: str = ""  # as written (acronyms need the case)
    names: tuple[str, ...] = ()  # organizer / group names
    text: str = ""  # folded description (first 2,000 characters)
    page: str | None = None  # url_key of the listing's own page
    links: frozenset[str] = frozenset()  # url_keys its description or offers mention
    address: str | None = None
    latitude: float | None = None
    longitude: float | None = None
