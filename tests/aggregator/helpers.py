"""Small builders shared by the aggregator tests (plain data, no fakes of our code)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from aggregator.candidate import Candidate
from aggregator.dedupe import candidate_of
from aggregator.normalize import NormalizedEvent
from aggregator.raw import RawEvent


def parse_time(text: str | None) -> datetime | date | None:
    if not text:
        return None
    return date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)


def raw_from_dict(data: dict[str, Any]) -> RawEvent:
    """A RawEvent from the compact dicts of tests/data/dedupe/pairs.json."""
    return RawEvent(
        title=data["title"],
        start=parse_time(data.get("start")),
        end=parse_time(data.get("end")),
        timezone=data.get("tz"),
        uid=data.get("uid"),
        url=data.get("url"),
        description=data.get("description"),
        venue=data.get("venue"),
        address=data.get("address"),
        city=data.get("city"),
        postcode=data.get("postcode"),
        online=data.get("online"),
        online_url=data.get("online_url"),
    )


def candidate(event: NormalizedEvent, key: Any, source_id: int | None) -> Candidate:
    return candidate_of(event, key, source_id)
