"""Admin decisions on events: the logic lives in :mod:`aggregator.moderation`; re-exported
here for the admin routes."""

from __future__ import annotations

from aggregator.moderation import (
    explain_event,
    hide_event,
    merge_events,
    set_hidden,
    split_link,
    unhide_event,
)

__all__ = ["explain_event", "hide_event", "merge_events", "set_hidden", "split_link",
           "unhide_event"]
