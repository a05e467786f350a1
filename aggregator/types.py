"""The store's plain vocabulary, in a module importing nothing of ours (no cycles).

``EventStatus`` is the one list of an event's statuses: the ``Event.status`` column, what
normalisation outputs, what composition and the change history compare. The words sources
use for a status (iCal ``CONFIRMED``, schema.org ``EventRescheduled``, "annulé"...) are only
input: ``aggregator.raw.SOURCE_STATUS_WORDS`` maps them onto these members.
"""

from __future__ import annotations

from enum import StrEnum


class EventStatus(StrEnum):
    """An event's status as we publish it."""

    scheduled = "scheduled"
    tentative = "tentative"
    postponed = "postponed"
    cancelled = "cancelled"

    @classmethod
    def of(cls, value: object) -> EventStatus:
        """The member named ``value`` (a stored or serialized status); ``scheduled`` for
        anything else, as composition has always read an unknown word."""
        if isinstance(value, str) and value in cls._value2member_map_:
            return cls(value)
        return cls.scheduled
