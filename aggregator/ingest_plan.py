"""The decide step of ingest: what one crawl of a source changes, as data.

:func:`plan` is pure. It takes what ingest read — the batch of normalized listings (by
external id), the source's stored links — matching's :class:`MatchDecision` (which stored
event each new listing is, which stored events are one, which pairs an admin should see;
``aggregator.matching.match_fresh`` decides it) and the collapse guard's verdict, and
returns a :class:`Plan`: listings that create an event, stored links to update, new
listings that join a stored event, stored events to fuse, pairs to queue, links to mark
gone. It decides writes only, never a match. ``aggregator.ingest`` reads, calls it, and
applies the plan.

This module imports nothing of ours: listings are anything with an ``external_id`` and a
``content_hash``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar


class Listing(Protocol):
    """What the plan needs of one normalized listing."""

    @property
    def external_id(self) -> str: ...

    @property
    def content_hash(self) -> str: ...


L = TypeVar("L", bound=Listing)


@dataclass(frozen=True, slots=True)
class StoredLink:
    """One stored link of the source, as the plan sees it."""

    external_id: str
    event_id: int
    content_hash: str
    gone_since: datetime | None = None


# A review-band pair: (new external id, stored listing's key, its event, score, reasons).
ReviewPair = tuple[str, str, int | None, float, tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class MatchDecision:
    """What matching decided for a source's new listings."""

    # new external id → (the stored event it is, the evidence)
    targets: Mapping[str, tuple[int, Mapping[str, Any]]] = field(default_factory=dict)
    fusions: Sequence[tuple[int, int, Mapping[str, Any]]] = ()  # keep, other, evidence
    reviews: Sequence[ReviewPair] = ()


NO_MATCH = MatchDecision()


@dataclass(frozen=True, slots=True)
class Merge(Generic[L]):
    """A new listing that joins the stored event ``event_id`` (``note``: the evidence)."""

    item: L
    event_id: int
    note: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Fusion:
    """Two stored events a new listing showed to be one: ``other``'s links move to ``keep``."""

    keep: int
    other: int
    note: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Plan(Generic[L]):
    """What one ingest writes. Every listing of the batch is in exactly one of ``new``,
    ``updated``, ``merged`` or ``unchanged``; ``gone`` never holds a listed one."""

    now: datetime
    new: tuple[L, ...] = ()  # create an event each, in batch order
    updated: tuple[L, ...] = ()  # stored link whose content changed or that came back
    unchanged: tuple[str, ...] = ()  # stored link seen again as it was (last_seen only)
    merged: tuple[Merge[L], ...] = ()  # new link on a stored event, in batch order
    fusions: tuple[Fusion, ...] = ()
    reviews: tuple[ReviewPair, ...] = ()  # pairs for the admin's queue (new listings only)
    gone: tuple[str, ...] = ()  # stored links to mark gone (the crawl was complete)
    collapsed: bool = False  # the collapse guard held: nothing marked gone
    listed: tuple[str, ...] = ()  # the batch's external ids, in the source's order

    @property
    def empty(self) -> bool:
        """Nothing but ``last_seen`` stamps to write."""
        return not (self.new or self.updated or self.merged or self.fusions or self.gone)


def plan(
    batch: Mapping[str, L],
    links: Mapping[str, StoredLink],
    matched: MatchDecision = NO_MATCH,
    *,
    now: datetime,
    gone: frozenset[str] | None = None,
    collapsed: bool = False,
) -> Plan[L]:
    """Decide what to write for ``batch`` against the stored ``links`` of its source.

    ``matched``: matching's decision for the new listings (a decision about a listing the
    source already has a link for, or one not in the batch, is ignored: a stored link
    never moves); ``gone``: the external ids the collapse guard counts gone (None: the
    crawl was not complete, or collapsed — nothing is marked gone).
    """
    targets = matched.targets
    new: list[L] = []
    updated: list[L] = []
    unchanged: list[str] = []
    merged: list[Merge[L]] = []
    for ext, item in batch.items():
        link = links.get(ext)
        if link is not None:
            if link.content_hash != item.content_hash or link.gone_since is not None:
                updated.append(item)
            else:
                unchanged.append(ext)
        elif ext in targets:
            event_id, note = targets[ext]
            merged.append(Merge(item, event_id, note))
        else:
            new.append(item)
    marked: tuple[str, ...] = ()
    if gone is not None and not collapsed:
        marked = tuple(ext for ext, link in links.items()
                       if ext in gone and ext not in batch and link.gone_since is None)  # fmt: skip
    return Plan(
        now=now,
        new=tuple(new),
        updated=tuple(updated),
        unchanged=tuple(unchanged),
        merged=tuple(merged),
        fusions=tuple(Fusion(k, o, n) for k, o, n in matched.fusions),
        reviews=tuple(r for r in matched.reviews if r[0] in batch and r[0] not in links),
        gone=marked,
        collapsed=collapsed,
        listed=tuple(batch),
    )
