"""Small readers for platform JSON: a dict or nothing, a float or nothing, a text in the
best language, a list however it was written. Shared by the platform parsers."""

from __future__ import annotations

from typing import Any

from crawlers.parsers.common import clean_text


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


def text(value: Any) -> str | None:
    """Plain text of a string value (HTML removed), ``None`` for anything else or empty."""
    return clean_text(value) if isinstance(value, str | int | float) else None


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
