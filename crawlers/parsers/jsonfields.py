"""Small readers for platform JSON: a dict or nothing, a float or nothing, a text in the
best language, a list however it was written, an instant in the event's zone, an end that
is not before its start. Shared by the platform parsers."""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from typing import Any


def as_dict(value: Any) -> dict[str, Any]:
    """``value`` when it is a dict, else an empty one."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    """``value`` as a list (a single value wrapped, ``None`` empty)."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def dicts(value: Any) -> list[dict[str, Any]]:
    """The dict items of a list (or of a single dict)."""
    return [item for item in as_list(value) if isinstance(item, dict)]


def as_float(value: Any) -> float | None:
    """A number, or ``None`` when missing or unreadable (booleans are not numbers)."""
    if isinstance(value, bool):
        return None
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def in_language(value: Any, language: str | None) -> str | None:
    """A multilingual value (``{"fr": ..., "en": ...}``) in ``language``, then French, then
    English, then any; a plain string as is; a list joined with commas."""
    if isinstance(value, dict):
        for key in (language, "fr", "en"):
            if key and value.get(key):
                return str(value[key])
        value = next((v for v in value.values() if v), None)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value if v) or None
    return str(value) if value not in (None, "") else None


def in_zone(value: Any, tz: tzinfo | None) -> Any:
    """An aware instant written in ``tz`` (a UTC "Z" time shown as Paris time); anything
    else unchanged."""
    if isinstance(value, datetime) and value.tzinfo is not None and tz is not None:
        return value.astimezone(tz)
    return value


def ends_after(end: date | None, start: date) -> bool:
    """True when ``end`` is a usable end for ``start`` (not before it; mixed kinds pass)."""
    if end is None:
        return False
    if isinstance(end, datetime) != isinstance(start, datetime):
        return True
    try:
        return end >= start
    except TypeError:  # one aware, one naive
        return True
