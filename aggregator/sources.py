"""The source registry: add a source, import a starter CSV, approve or reject.

Sources are data: one row per feed or page. An admin adds one approved at once; an
organizer's submission and an imported list land ``pending`` until an admin approves them.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlmodel import Session, col, select

from aggregator.errors import InvalidInputError, NotFoundError
from aggregator.models import Source, SourceState
from aggregator.relevance import check_scope, effective_scope
from aggregator.timeutil import DEFAULT_ZONE, zone

# How much a source's version of an event weighs in a merge: an organizer's own feed
# beats a venue's programme, which beats an aggregator's copy.
KIND_AUTHORITY = {
    "meetup group": 70,
    "association": 70,
    "fab lab": 70,
    "incubator": 65,
    "school": 65,
    "conference": 70,
    "venue": 50,
    "aggregator": 30,
}
CSV_COLUMNS = ("name", "town", "kind", "page_url", "feed_url", "scope")


@dataclass
class ImportReport:
    """What an import did: counts of added and skipped rows, and the rows it could not use."""

    added: int = 0
    skipped: int = 0
    without_url: int = 0  # added, but with no URL known yet
    invalid: list[tuple[int, str]] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)  # the sources added

    def __str__(self) -> str:
        return f"{self.added} added, {self.skipped} already present, {len(self.invalid)} invalid"


def clean_source_url(url: str) -> str:
    """The URL as stored: stripped, http(s) with a host; InvalidInputError otherwise."""
    text = (url or "").strip()
    try:
        parts = urlsplit(text)
    except ValueError as exc:
        raise InvalidInputError(f"not a URL: {text!r}") from exc
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or " " in text:
        raise InvalidInputError(f"not an http(s) URL: {text!r}")
    return text


def find_source(session: Session, url: str) -> Source | None:
    """The source stored under this URL (or with this page URL), if any."""
    return session.exec(
        select(Source).where(sa.or_(col(Source.url) == url, col(Source.page_url) == url))
    ).first()


def add_source(
    session: Session,
    url: str,
    *,
    name: str | None = None,
    timezone: str | None = None,
    state: str = SourceState.approved,
    kind: str | None = None,
    town: str | None = None,
    contact_email: str | None = None,
    page_url: str | None = None,
    scope: str | None = None,
    default_zone: str = DEFAULT_ZONE,
    now: datetime,
) -> Source:
    """Add a source, or return the one already stored under ``url`` (unchanged).

    ``scope`` (tech or mixed, see ``aggregator.relevance``) defaults to the kind's: mixed for
    general agendas (aggregator, venue, city, library), else tech. The source's zone is
    ``timezone`` when known, else ``default_zone`` (callers pass their region pack's).
    """
    url = clean_source_url(url)
    existing = find_source(session, url)
    if existing is not None:
        return existing
    if state not in SourceState.__members__:
        raise InvalidInputError(f"unknown source state {state!r}")
    kind = (kind or "").strip().lower() or None
    try:
        scope = effective_scope(check_scope(scope), kind)
    except ValueError as exc:
        raise InvalidInputError(str(exc)) from exc
    source = Source(
        name=(name or "").strip() or (urlsplit(url).hostname or url),
        url=url,
        page_url=page_url,
        kind=kind,
        scope=scope,
        town=(town or "").strip() or None,
        state=state,
        timezone=str(zone(timezone, default_zone).key) if timezone else default_zone,
        authority=KIND_AUTHORITY.get(kind or "", 50),
        contact_email=contact_email,
        created_at=now,
    )
    session.add(source)
    session.flush()
    return source


def import_sources_csv(
    session: Session,
    path: Path,
    *,
    now: datetime,
    default_scope: str | None = None,
    default_zone: str = DEFAULT_ZONE,
) -> ImportReport:
    """Import a sources CSV (columns of the region pack's sources.csv) as ``pending`` sources.

    Each row's URL is its ``feed_url`` when given, else its ``page_url``. Rows whose URL is
    already stored (as a source URL or page URL) are skipped, so importing twice adds each
    source once. A named row with no URL at all is kept as a pending source without one (an
    organisation we know of, whose agenda nobody has found yet: it cannot be approved before
    an admin sets its URL); it is skipped when a source of that name exists. Malformed rows
    are reported with their line number, never fatal. A row's ``scope`` column (tech or
    mixed), else ``default_scope``, else its kind's default sets the source's scope. Sources
    take ``default_zone`` (the region pack's timezone) as their zone.
    """
    report = ImportReport()
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"cannot read {path}: {exc}") from exc
    reader = csv.DictReader(io.StringIO(text))
    header = {h.strip().lower() for h in (reader.fieldnames or []) if h}
    if not header & {"feed_url", "page_url"}:
        raise InvalidInputError(f"{path}: not a sources CSV (no feed_url or page_url column)")
    for row in reader:
        line = reader.line_num
        values = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items() if k}
        if None in row:
            report.invalid.append((line, "more fields than the header"))
            continue
        url = values.get("feed_url") or values.get("page_url") or ""
        if not url:
            name = values.get("name") or ""
            if not name:
                report.invalid.append((line, "no name, feed_url or page_url"))
            elif session.exec(select(Source).where(Source.name == name)).first() is not None:
                report.skipped += 1
            else:
                source = Source(
                    name=name,
                    url=None,
                    state=SourceState.pending,
                    kind=values.get("kind") or None,
                    timezone=default_zone,
                    scope=effective_scope(None, values.get("kind")),
                    town=values.get("town") or None,
                    last_error="no URL known yet: set one before approving",
                    created_at=now,
                )
                session.add(source)
                session.flush()
                report.added += 1
                report.without_url += 1
                report.sources.append(source)
            continue
        try:
            url = clean_source_url(url)
        except InvalidInputError as exc:
            report.invalid.append((line, str(exc)))
            continue
        page = values.get("page_url") or None
        if find_source(session, url) is not None:
            report.skipped += 1
            continue
        try:
            scope = check_scope(values.get("scope") or default_scope)
        except ValueError as exc:
            report.invalid.append((line, str(exc)))
            continue
        source = add_source(
            session,
            url,
            name=values.get("name") or None,
            state=SourceState.pending,
            kind=values.get("kind") or None,
            town=values.get("town") or None,
            page_url=page if page and page != url else None,
            scope=scope,
            default_zone=default_zone,
            now=now,
        )
        report.added += 1
        report.sources.append(source)
    return report


def set_source_url(session: Session, source_id: int, url: str) -> Source:
    """Give a source its (new) URL; the conditional-GET validators of the old one are dropped."""
    source = session.get(Source, source_id)
    if source is None:
        raise NotFoundError(f"no source {source_id}")
    url = clean_source_url(url)
    other = find_source(session, url)
    if other is not None and other.id != source_id:
        raise InvalidInputError(f"{url} is already source {other.id} ({other.name})")
    source.url = url
    source.etag = source.last_modified = None
    if source.last_error and source.last_error.startswith("no URL known yet"):
        source.last_error = None
    session.add(source)
    session.flush()
    return source


def set_source_state(
    session: Session, source_id: int, state: str, *, now: datetime | None = None
) -> Source:
    """Approve, reject, pause or re-open a source (NotFoundError when it does not exist)."""
    if state not in SourceState.__members__:
        raise InvalidInputError(f"unknown source state {state!r}")
    source = session.get(Source, source_id)
    if source is None:
        raise NotFoundError(f"no source {source_id}")
    if state == SourceState.approved and not source.url:
        raise InvalidInputError(
            f"source {source_id} ({source.name}) has no URL yet: set one first "
            f"(techagenda sources set-url {source_id} URL)"
        )
    source.state = state
    if state == SourceState.approved:
        source.flagged = False
        source.next_crawl_at = None if now is None else now
    session.add(source)
    session.flush()
    return source
