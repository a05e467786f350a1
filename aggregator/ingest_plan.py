"""The decide step of ingest: what one crawl of a source changes, as data.

:func:`plan` is pure. It takes what ingest read — the batch of normalized listings (by
external id), the source's stored links, what matching decided for the new listings and
the collapse guard's verdict — and returns a :class:`Plan`: listings that create an event,
stored links to update, new listings that join a stored event, stored events to fuse, links
to mark gone. ``aggregator.ingest`` reads, calls it, and applies the plan.

This module imports nothing of ours: listings are anything with an ``external_id`` and a
``content_hash``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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
    *,
    now: datetime,
    targets: Mapping[str, tuple[int, Mapping[str, Any]]] | None = None,
    fusions: Sequence[tuple[int, int, Mapping[str, Any]]] = (),
    gone: frozenset[str] | None = None,
    collapsed: bool = False,
) -> Plan[L]:
    """Decide what to write for ``batch`` against the stored ``links`` of its source.

    ``targets``: new external id → (stored event, evidence) for the new listings matching
    decided to join; ``fusions``: (keep, other, evidence) pairs matching decided to fuse;
    ``gone``: the external ids the collapse guard counts gone (None: the crawl was not
    complete, or collapsed — nothing is marked gone).
    """
    targets = targets or {}
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
        fusions=tuple(Fusion(k, o, n) for k, o, n in fusions),
        gone=marked,
        collapsed=collapsed,
        listed=tuple(batch),
    )
