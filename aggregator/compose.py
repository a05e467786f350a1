"""An event's published fields from all its links (pure): which source gives which field.

See :func:`compose_fields`. The rules are explainable: ``field_sources`` records where each
field came from and ingest writes the merge evidence to ``Event.merge_notes``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aggregator.dedupe import PLACE_FIELDS, SINGLE_FIELDS, TIME_FIELDS
from aggregator.normalize import NormalizedEvent
from aggregator.types import EventStatus

# Among live links that do not cancel, the first of these statuses any of them says wins.
STATUS_PRECEDENCE = (EventStatus.scheduled, EventStatus.tentative, EventStatus.postponed)


@dataclass(frozen=True, slots=True)
class LinkView:
    """One source's version of an event, as a merge sees it."""

    source_id: int
    link_id: int
    authority: int
    live: bool
    event: NormalizedEvent
    relevance: float  # on the stored scale (1.0 = the source's bar)


def _filled(value: Any) -> bool:
    return value not in (None, "", [], ())


def _group_value(view: NormalizedEvent, label: str) -> Any:
    if label == "place":
        return view.insee or view.venue or view.city
    if label == "time":
        return None if view.all_day else view.start  # a timed start beats an all-day one
    return getattr(view, label)


def compose_fields(
    views: Sequence[LinkView],
    *,
    status: EventStatus | str,
    start: datetime | None,
    cancelled_at: datetime | None,
    now: datetime,
    horizon: datetime,
) -> dict[str, Any]:
    """The published fields of an event from all its links (pure).

    Live links only (all links when none is live). Each group of fields (times, place) and
    each single field comes from the link that has it, from the most authoritative source,
    then the most complete, then the longest text, then the oldest link. Topics are the
    union; relevance the maximum. A live link saying "cancelled" (a STATUS, an eventStatus
    or a stripped "[ANNULÉ]" title prefix) cancels the event, whatever the others say;
    :func:`explain_fields` words the choices for the merge notes. With no live link an upcoming event (before ``horizon``)
    is cancelled; a past one keeps its status. For the place, a link naming a venue comes
    before authority (a bare town is often all a news item's text gave). ``field_sources``
    records the provenance.
    """
    live = [v for v in views if v.live]
    pool = live or list(views)
    completeness = {v.link_id: v.event.completeness() for v in pool}

    def rank(view: LinkView, value: Any, label: str) -> tuple[Any, ...]:
        size = len(value) if isinstance(value, str) else 0
        # A place with a venue beats a bare town (often read from a news item's text).
        detail = bool(view.event.venue) if label == "place" else False
        return (_filled(value), detail, view.authority, completeness[view.link_id], size,
                -view.link_id)

    values: dict[str, Any] = {}
    provenance: dict[str, int] = {}
    groups = [("time", TIME_FIELDS), ("place", PLACE_FIELDS)]
    groups += [(name, (name,)) for name in SINGLE_FIELDS]
    for label, names in groups:
        best = max(pool, key=lambda v: rank(v, _group_value(v.event, label), label))
        for name in names:
            values[name] = getattr(best.event, name)
        if label == "time" or _filled(_group_value(best.event, label)):
            provenance[label] = best.source_id
    topics: list[str] = []
    for view in pool:
        topics.extend(t for t in view.event.topics if t not in topics)
    values["topics"] = topics
    values["relevance"] = max(v.relevance for v in pool)
    values["title_key"] = next(
        (v.event.title_key for v in pool if v.source_id == provenance.get("title")),
        pool[0].event.title_key,
    )
    cancelled = EventStatus.cancelled
    new_status: EventStatus
    if not live:
        upcoming = start is not None and now <= start <= horizon
        new_status = cancelled if upcoming else EventStatus.of(status)
    else:
        statuses = {v.event.status for v in live}
        # Cancellation from any live source wins: an aggregator often hears it first.
        new_status = cancelled if cancelled in statuses else next(
            (s for s in STATUS_PRECEDENCE if s in statuses), EventStatus.scheduled
        )
    values["status"] = new_status
    values["cancelled_at"] = (cancelled_at or now) if new_status == cancelled else None
    values["field_sources"] = provenance
    return values


def explain_fields(views: Sequence[LinkView], provenance: dict[str, Any],
                   names: dict[int, str] | None = None) -> list[str]:
    """Why the merged event shows what it shows, in a few sentences: which source gave the
    title, times and place (the most authoritative one that has the field: an organizer's
    own feed before an aggregator), and which source cancelled it."""
    by_source = {v.source_id: v for v in views}

    def who(source_id: int) -> str:
        view = by_source.get(source_id)
        label = (names or {}).get(source_id, f"source #{source_id}")
        return f"{label} (authority {view.authority})" if view else label

    notes = []
    for label in ("title", "time", "place"):
        if (sid := provenance.get(label)) is not None:
            others = sorted({who(v.source_id) for v in views if v.source_id != sid})
            notes.append(f"{label} from {who(sid)}" + (f" over {', '.join(others)}" if others else ""))
    cancelling = sorted({who(v.source_id) for v in views if v.live and v.event.status == EventStatus.cancelled})
    if cancelling:
        notes.append(f"cancelled: {', '.join(cancelling)} says so")
    return notes
