"""What changed about an event, and when: the short history behind MOVED/CANCELLED markers.

Ingest records an ``EventChange`` row when a source changes one of ``TRACKED_FIELDS`` of an
event it already published (never on first insert). The helpers here are pure except
:func:`load_changes`, which reads them; a digest asks "what changed since this subscriber
was last told" with :func:`changes_since` and :func:`net_changes`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from aggregator.models import EventChange
from aggregator.types import EventStatus

TRACKED_FIELDS = ("start", "end", "venue", "city", "title", "status")
MOVED_FIELDS = ("start", "end", "venue", "city")  # a change here means "moved"


def as_text(value: Any) -> str | None:
    """A tracked field's value as stored in the history (instants in ISO 8601 UTC)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def diff_fields(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """(field, old, new) for each tracked field whose value differs (as history text)."""
    out = []
    for name in TRACKED_FIELDS:
        old, new = as_text(before.get(name)), as_text(after.get(name))
        if old != new:
            out.append((name, old, new))
    return out


def changes_since(
    changes: Iterable[EventChange], since: datetime | None
) -> dict[int, list[EventChange]]:
    """Changes after ``since`` (all of them when None), per event id, oldest first."""
    grouped: dict[int, list[EventChange]] = defaultdict(list)
    for change in sorted(changes, key=lambda c: (c.at, c.id or 0)):
        if since is None or change.at > since:
            grouped[change.event_id].append(change)
    return dict(grouped)


@dataclass(frozen=True, slots=True)
class NetChange:
    """One field's value then (``old``, what the reader was told) and now (``new``)."""

    field: str
    old: str | None
    new: str | None


def net_changes(changes: Iterable[EventChange]) -> dict[str, NetChange]:
    """Per field, the first old value and the last new one; a field back where it started is
    no change (a time moved and moved back is not "moved")."""
    first: dict[str, str | None] = {}
    last: dict[str, str | None] = {}
    for change in sorted(changes, key=lambda c: (c.at, c.id or 0)):
        first.setdefault(change.field, change.old)
        last[change.field] = change.new
    return {
        name: NetChange(name, first[name], last[name])
        for name in TRACKED_FIELDS
        if name in last and first[name] != last[name]
    }


def is_moved(net: Mapping[str, NetChange]) -> bool:
    """True when the time or the place changed from one known value to another (a venue
    added by a second source where there was none is a detail, not a move)."""
    return any(
        name in net and net[name].old is not None and net[name].new is not None
        for name in MOVED_FIELDS
    )


def is_cancelled(net: Mapping[str, NetChange]) -> bool:
    """True when the status became cancelled."""
    status = net.get("status")
    return status is not None and status.new == EventStatus.cancelled


def load_changes(
    session: Session, event_ids: Iterable[int], since: datetime | None = None
) -> list[EventChange]:
    """The recorded changes of these events (after ``since`` when given), oldest first."""
    ids = sorted(set(event_ids))
    found: list[EventChange] = []
    for i in range(0, len(ids), 500):
        query = select(EventChange).where(col(EventChange.event_id).in_(ids[i : i + 500]))
        if since is not None:
            query = query.where(col(EventChange.at) > since)
        found.extend(session.exec(query))
    return sorted(found, key=lambda c: (c.at, c.id or 0))
