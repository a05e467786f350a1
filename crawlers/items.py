"""What spiders yield: plain dataclasses, handed by Scrapy to :mod:`crawlers.pipelines`.

A spider yields one :class:`EventItem` per event it read and, once every request of a
source has finished, one :class:`SourceReport` saying how that source went. The pipeline
buffers the events of a source until its report arrives, then ingests them at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aggregator.raw import RawEvent


@dataclass(frozen=True, slots=True)
class EventItem:
    """One event read from one source."""

    source_id: int
    event: RawEvent


@dataclass(slots=True)
class SourceReport:
    """How one source went in this crawl (its root URL, plus any pages followed)."""

    source_id: int
    url: str
    http_status: int | None = None
    bytes: int = 0
    not_modified: bool = False
    detected_format: str | None = None
    error: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    pages: int = 0
    complete: bool = True  # False: some follow-up page failed or the event cap was hit
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None
