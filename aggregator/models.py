"""The stored shape: SQLModel tables. Mapped at the store's edge, not passed through pure code.

All instants are stored as UTC and read back as aware UTC datetimes (``UTCDateTime``),
next to the IANA timezone name they were announced in.
"""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import JSON, Column, Field, SQLModel
from sqlmodel.sql.sqltypes import AutoString

from aggregator.timeutil import DEFAULT_ZONE
from aggregator.types import EventStatus as EventStatus  # re-exported: the column's values


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite and PostgreSQL alike."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class StatusType(TypeDecorator[EventStatus]):
    """An ``EventStatus`` stored as its plain word (a VARCHAR), read back as the member."""

    impl = AutoString
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else EventStatus(value).value

    def process_result_value(self, value: str | None, dialect: Any) -> EventStatus | None:
        return None if value is None else EventStatus.of(value)


def utcnow() -> datetime:
    """The current instant, aware UTC (used only by entry points and defaults)."""
    return datetime.now(UTC)


def _ts(**kw: Any) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), **kw))


def _json(default: Any) -> Any:
    return Field(default_factory=default, sa_column=Column(JSON, nullable=False))


def new_link_secret() -> str:
    """A random per-subscriber value every signed link carries (18 bytes, URL-safe)."""
    return secrets.token_urlsafe(18)


class SourceState(StrEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"
    paused = "paused"


class RunStatus(StrEnum):
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"


class SubscriberStatus(StrEnum):
    pending = "pending"
    confirmed = "confirmed"
    unsubscribed = "unsubscribed"
    bounced = "bounced"


class DeliveryStatus(StrEnum):
    pending = "pending"
    sending = "sending"
    sent = "sent"
    failed = "failed"
    skipped = "skipped"


class Source(SQLModel, table=True):
    """A feed or page we crawl, with its defaults and health."""

    id: int | None = Field(default=None, primary_key=True)
    name: str
    url: str | None = Field(default=None, index=True, unique=True)  # None: known, URL not yet
    page_url: str | None = None
    kind: str | None = None  # meetup group, association, aggregator, venue...
    town: str | None = None
    state: str = Field(default=SourceState.pending, index=True)
    timezone: str = DEFAULT_ZONE
    language: str = "fr"
    authority: int = 50  # higher wins field conflicts in a merge (organizer > aggregator)
    relevance_threshold: float | None = None  # None: the settings default
    scope: str | None = None  # tech or mixed (aggregator.relevance); None: from its kind
    crawl_interval: int | None = None  # seconds; None: the settings default
    follow_links: bool = False
    spider: str | None = None  # name of a site-specific spider, else the generic one
    contact_email: str | None = None
    contact_language: str | None = Field(default=None, max_length=8)  # fr/en: mails to them
    detected_format: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    last_crawl_at: datetime | None = _ts()
    last_success_at: datetime | None = _ts()
    next_crawl_at: datetime | None = _ts()
    consecutive_failures: int = 0
    last_error: str | None = None
    flagged: bool = False
    last_check: dict[str, Any] | None = Field(  # the last `sources check`: format, findings
        default=None, sa_column=Column(JSON, nullable=True)
    )
    health_mailed_at: datetime | None = _ts()  # last health mail to the organizer
    created_at: datetime | None = _ts()
    # How the source is read (crawlers.adapters): the adapter's name, and its whole route
    # (URL(s), paging, css schema, or {"unreadable": why}) as the region pack gave it.
    adapter: str | None = None
    route: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # The collapse guard (aggregator.collapse): a crawl lost most of what the source listed.
    suspect: bool = Field(default=False, sa_column=Column(sa.Boolean, nullable=False,
                                                          server_default=sa.false()))
    suspect_since: datetime | None = _ts()
    suspect_reason: str | None = None
    last_events_found: int | None = None  # events listed by the last successful crawl
    # external id -> successful crawls in a row it was missing from (gone after N of them)
    missing: dict[str, int] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class Event(SQLModel, table=True):
    """What we publish: one row per real-world event, whatever the number of sources."""

    # The agenda's query: visible events by start; the other columns its rules read make
    # the index covering, so counting the agenda's events per week never reads the rows.
    __table_args__ = (
        sa.Index("ix_event_agenda", "hidden", "start", "end", "relevance", "in_region",
                 "online", "insee"),
    )

    id: int | None = Field(default=None, primary_key=True)
    title: str
    description_html: str | None = None
    description_text: str | None = None
    start: datetime | None = _ts(index=True)
    end: datetime | None = _ts()
    all_day: bool = False
    start_date: date | None = Field(default=None, index=True)  # local date (all-day: the truth)
    end_date: date | None = None  # local last day, inclusive
    timezone: str = DEFAULT_ZONE
    status: EventStatus = Field(
        default=EventStatus.scheduled, sa_column=Column(StatusType(), nullable=False, index=True)
    )
    cancelled_at: datetime | None = _ts()
    end_before_start: bool = False
    venue: str | None = None
    address: str | None = None
    city: str | None = None
    postcode: str | None = None
    insee: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    online: bool = False
    in_region: bool = False
    url: str | None = None
    image: str | None = None
    price: str | None = None
    organizer: str | None = None
    language: str | None = None
    topics: list[str] = _json(list)
    relevance: float = 0.0
    hidden: bool = False
    marked_tech: bool = Field(  # an admin said "this is tech": relevant whatever its score
        default=False, sa_column_kwargs={"server_default": sa.false()}
    )
    series_uid: str | None = Field(default=None, index=True)
    title_key: str = ""  # normalized title, for blocking and matching
    content_hash: str = ""
    field_sources: dict[str, Any] = _json(dict)  # field -> source id it came from
    merge_notes: list[Any] = _json(list)  # why links were merged (scores): the history
    # The event this one was merged into (hidden since; no match target any more): the
    # truth about a merge, where merge_notes only tells the story.
    merged_into: int | None = Field(default=None, foreign_key="event.id", index=True)
    created_at: datetime | None = _ts()
    updated_at: datetime | None = _ts()


class EventLink(SQLModel, table=True):
    """An event as seen through one source."""

    __table_args__ = (sa.UniqueConstraint("source_id", "external_id"),)

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", index=True)
    source_id: int = Field(foreign_key="source.id", index=True)
    external_id: str
    url: str | None = None
    canonical_url: str | None = Field(default=None, index=True)
    content_hash: str = ""
    raw: dict[str, Any] = _json(dict)
    first_seen: datetime | None = _ts()
    last_seen: datetime | None = _ts()
    gone_since: datetime | None = _ts()
    pinned: bool = False  # an admin split/merge: dedupe never moves this link


class EventChange(SQLModel, table=True):
    """One change of a field subscribers care about (start, end, venue, city, title, status),
    recorded by ingest when a source changes it (never on first insert)."""

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", index=True)
    field: str  # start, end, venue, city, title, status
    old: str | None = None  # instants as ISO 8601 UTC
    new: str | None = None
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    source_id: int | None = Field(default=None, foreign_key="source.id")


class Subscriber(SQLModel, table=True):
    """A person who gets the digest (after double opt-in)."""

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(index=True, unique=True)
    status: str = Field(default=SubscriberStatus.pending, index=True)
    language: str = "fr"
    topics: list[str] = _json(list)  # empty: every topic
    towns: list[str] = _json(list)  # INSEE codes; empty: the whole region
    include_online: bool = True
    consent_at: datetime | None = _ts()
    consent_origin: str | None = None
    confirmed_at: datetime | None = _ts()
    unsubscribed_at: datetime | None = _ts()
    hard_bounces: int = 0
    token_version: int = 0  # bump to invalidate every link already sent
    # Random, replaced at re-subscription and gone with the row: a link names one person,
    # never the next one to get a reused id.
    link_secret: str = Field(
        default_factory=new_link_secret,
        sa_column=Column(sa.String(32), nullable=False, default=new_link_secret),
    )
    confirm_mails: list[str] = Field(  # ISO instants of the last day's confirmation mails
        default_factory=list, sa_column=Column(JSON, nullable=False, default=lambda: [])
    )
    topic_weights: dict[str, Any] = _json(dict)  # topic slug -> weight from digest feedback
    created_at: datetime | None = _ts()


class FeedbackVote(SQLModel, table=True):
    """One counted "more/fewer like this" click: a replayed click finds its row and stops."""

    __table_args__ = (sa.UniqueConstraint("subscriber_id", "event_id", "direction"),)

    id: int | None = Field(default=None, primary_key=True)
    subscriber_id: int = Field(foreign_key="subscriber.id", index=True)
    event_id: int
    direction: str
    created_at: datetime | None = _ts()


class Digest(SQLModel, table=True):
    """One weekly issue of a region."""

    __table_args__ = (sa.UniqueConstraint("region", "week"),)

    id: int | None = Field(default=None, primary_key=True)
    region: str
    week: str  # ISO week, e.g. 2026-W49
    status: str = "composing"  # composing -> sending -> sent
    subject: str | None = None
    event_count: int | None = None  # events of the week in the issue (the send gate compares)
    approved_at: datetime | None = _ts()  # an admin's go for the send gate
    approved_by: str | None = None
    created_at: datetime | None = _ts()
    sent_at: datetime | None = _ts()


class Delivery(SQLModel, table=True):
    """One subscriber's copy of one digest: the ledger that makes sending resumable."""

    __table_args__ = (sa.UniqueConstraint("digest_id", "subscriber_id"),)

    id: int | None = Field(default=None, primary_key=True)
    digest_id: int = Field(foreign_key="digest.id", index=True)
    subscriber_id: int = Field(foreign_key="subscriber.id", index=True)
    status: str = Field(default=DeliveryStatus.pending, index=True)
    message_id: str
    event_ids: list[int] = _json(list)
    attempts: int = 0
    last_error: str | None = None
    claimed_at: datetime | None = _ts()
    claimed_by: str | None = None  # the sender (locks.new_holder_id) holding it in ``sending``
    composed_at: datetime | None = _ts()  # when its events were read: what the reader was told
    sent_at: datetime | None = _ts()


class CrawlRun(SQLModel, table=True):
    """One crawl of one source or of all approved sources."""

    id: int | None = Field(default=None, primary_key=True)
    source_id: int | None = Field(default=None, foreign_key="source.id")
    status: str = Field(default=RunStatus.queued, index=True)
    requested_by: str = "cli"
    pid: int | None = None
    stats: dict[str, Any] = _json(dict)
    error: str | None = None
    created_at: datetime | None = _ts()
    started_at: datetime | None = _ts()
    finished_at: datetime | None = _ts()


class SourceFetch(SQLModel, table=True):
    """What one crawl saw of one source: status, bytes, format, events, error."""

    id: int | None = Field(default=None, primary_key=True)
    crawl_run_id: int = Field(foreign_key="crawlrun.id", index=True)
    source_id: int = Field(foreign_key="source.id", index=True)
    url: str
    http_status: int | None = None
    bytes: int = 0
    not_modified: bool = False
    detected_format: str | None = None
    events_found: int = 0
    events_new: int = 0
    events_updated: int = 0
    events_merged: int = 0
    events_cancelled: int = 0
    error: str | None = None
    fetched_at: datetime | None = _ts()


class AdminUser(SQLModel, table=True):
    """A person allowed into /admin (argon2 password hash, never the password)."""

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(index=True, unique=True)
    email: str | None = None
    password_hash: str
    session_version: int = Field(  # bumped at logout and password change: old cookies die
        default=0, sa_column_kwargs={"server_default": "0"}
    )
    created_at: datetime | None = _ts()


class Lease(SQLModel, table=True):
    """A named lock with an expiry: the scheduler's leader lease, a digest or crawl lock."""

    name: str = Field(primary_key=True)
    holder: str
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    acquired_at: datetime | None = _ts()


class PairDecision(SQLModel, table=True):
    """Two listings that might be one event (a score in the review band), and what an admin
    decided: ``pending``, ``merged`` or ``distinct``. The pair is named by the listings'
    stable keys ("<source id>:<external id>", the smaller first), so a decision survives
    every later crawl; the event ids are those the listings belonged to when scored."""

    __table_args__ = (sa.UniqueConstraint("left_key", "right_key"),)

    id: int | None = Field(default=None, primary_key=True)
    left_key: str
    right_key: str
    left_event_id: int | None = Field(default=None, foreign_key="event.id", index=True)
    right_event_id: int | None = Field(default=None, foreign_key="event.id", index=True)
    score: float = 0.0
    reasons: list[Any] = _json(list)
    status: str = Field(default="pending", index=True)  # pending, merged, distinct
    decided_by: str | None = None
    decided_at: datetime | None = _ts()
    created_at: datetime | None = _ts()
