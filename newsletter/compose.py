"""The one selection path behind every channel: email, personal iCal, personal Atom.

``load_inputs`` reads once what a week's selection needs (events of the window, what
each reader was told, the recorded changes of those events); ``content_for`` applies the
pure :func:`newsletter.select.select_digest` to one subscriber. The sender, the preview,
the personal feeds and the send gate all go through these two functions, so the three
channels list the same events by construction.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field, replace
from datetime import date, tzinfo

from sqlmodel import Session

from aggregator.history import load_changes
from aggregator.models import EventChange, Subscriber
from aggregator.regions import Region, load_region
from aggregator.settings import Settings
from aggregator.weeks import Week
from newsletter import ledger
from newsletter.select import DigestContent, EventView, SubscriberPrefs, select_digest


@dataclass(frozen=True, slots=True)
class DigestInputs:
    """Everything one week's selection reads from the store, read once."""

    week: str
    monday: date
    tz: tzinfo
    events: list[EventView]
    history: ledger.History
    changes: dict[int, list[EventChange]] = field(default_factory=dict)
    region: Region | None = None  # its commune parts count as their commune (see below)
    # selections already made, by everything a selection reads of its reader (bounded)
    selections: dict[Hashable, DigestContent] = field(
        default_factory=dict, compare=False, repr=False
    )


_MAX_SELECTIONS = 4096


def events_on_whole_communes(region: Region | None, events: list[EventView]) -> list[EventView]:
    """Events placed in a commune's part (an arrondissement of Marseille) placed in the whole
    commune, by the region pack's ``commune_parts``: towns compare on communes. Pure."""
    if region is None or not region.commune_parts:
        return events
    whole = region.whole_commune
    return [e if whole(e.insee) == e.insee else replace(e, insee=whole(e.insee)) for e in events]


def prefs_on_whole_communes(region: Region | None, prefs: SubscriberPrefs) -> SubscriberPrefs:
    """A reader's towns with each commune part read as its whole commune (see above). Pure."""
    if region is None or not region.commune_parts:
        return prefs
    return replace(prefs, towns=frozenset(region.whole_commune(t) or t for t in prefs.towns))


def load_inputs(
    session: Session, settings: Settings, *, week: str, include_week: bool = False
) -> DigestInputs:
    """Read the events, histories and changes for ``week`` (``include_week``: count this
    week's own sent digest as already told, for a preview "as if sent now")."""
    monday = Week.parse(week).monday
    events = ledger.load_events(session, first_day=monday)
    history = ledger.load_history(
        session, region=settings.region, before_week=week, include_week=include_week
    )
    changes: dict[int, list[EventChange]] = {}
    for change in load_changes(session, [e.id for e in events]):
        changes.setdefault(change.event_id, []).append(change)
    region = load_region(settings.region)
    events = events_on_whole_communes(region, events)
    return DigestInputs(week, monday, settings.tz, events, history, changes, region)


def content_for(inputs: DigestInputs, sub: Subscriber | SubscriberPrefs) -> DigestContent:
    """One subscriber's selection for the week of ``inputs``."""
    prefs = ledger.to_prefs(sub) if isinstance(sub, Subscriber) else sub
    prefs = prefs_on_whole_communes(inputs.region, prefs)
    sub_id = prefs.id if prefs.id is not None else -1
    announced = inputs.history.announced.get(sub_id, frozenset())
    last_sent = inputs.history.last_sent.get(sub_id)
    told_at = inputs.history.told_at.get(sub_id, {})
    # readers who asked for the same things and were told the same get the same digest
    # (a DigestContent holds nothing of the reader's own: no address, no id)
    key = (
        prefs.language, prefs.topics, prefs.towns, prefs.include_online,
        frozenset(prefs.topic_weights.items()), announced, last_sent,
        frozenset(told_at.items()),
    )
    found = inputs.selections.get(key)
    if found is not None:
        return found
    content = select_digest(
        inputs.events,
        prefs,
        week_start=inputs.monday,
        tz=inputs.tz,
        announced_ids=set(announced),
        last_digest_at=last_sent,
        told_at=told_at,
        changes=inputs.changes,
    )
    if len(inputs.selections) >= _MAX_SELECTIONS:
        inputs.selections.clear()
    inputs.selections[key] = content
    return content


def whole_region(inputs: DigestInputs, *, language: str = "fr") -> DigestContent:
    """The issue as a reader with no filter and no history sees it (the gate, the archive)."""
    return content_for(inputs, SubscriberPrefs(email="", language=language, id=None))


def select_for_subscriber(
    session: Session, settings: Settings, sub: Subscriber, *, week: str
) -> DigestContent:
    """The events ``sub``'s email of ``week`` lists: the feeds serve exactly these."""
    return content_for(load_inputs(session, settings, week=week), sub)
