"""Event date, time and place read from free text, in French or English.

Used for news-style feed items that carry no event fields. Understands, for example,
"mardi 3 décembre à 18h30", "le 12/12/2026 de 19h à 21h", "Thu, Dec 3, 6:30 PM",
"3 December 2026, 18:30-20:00". A missing year is taken from the item's publication date
(the year that puts the event closest after it), never the publication date itself.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time

_MONTHS = {
    "janvier": 1, "janv": 1, "fevrier": 2, "fevr": 2, "fev": 2, "mars": 3, "avril": 4,
    "avr": 4, "mai": 5, "juin": 6, "juillet": 7, "juil": 7, "aout": 8, "septembre": 9,
    "sept": 9, "octobre": 10, "oct": 10, "novembre": 11, "nov": 11, "decembre": 12,
    "dec": 12, "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3,
    "april": 4, "apr": 4, "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7,
    "august": 8, "aug": 8, "september": 9, "sep": 9, "october": 10, "november": 11,
    "december": 12,
}  # fmt: skip
_WEEKDAYS = {
    "lundi": 0, "mardi": 1, "mercredi": 2, "jeudi": 3, "vendredi": 4, "samedi": 5,
    "dimanche": 6, "monday": 0, "mon": 0, "tuesday": 1, "tue": 1, "tues": 1,
    "wednesday": 2, "wed": 2, "thursday": 3, "thu": 3, "thurs": 3, "friday": 4, "fri": 4,
    "saturday": 5, "sat": 5, "sunday": 6, "sun": 6,
}  # fmt: skip
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_WEEKDAY = "|".join(sorted(_WEEKDAYS, key=len, reverse=True))
_DAY_FIRST = re.compile(
    rf"\b(?:(?P<wd>{_WEEKDAY})\.?,?\s+)?(?:le\s+)?(?P<d>\d{{1,2}})(?:er|st|nd|rd|th)?\s+"
    rf"(?P<m>{_MONTH})\.?(?:,?\s+(?P<y>\d{{4}}))?\b"
)
_MONTH_FIRST = re.compile(
    rf"\b(?:(?P<wd>{_WEEKDAY})\.?,?\s+)?(?P<m>{_MONTH})\.?\s+(?P<d>\d{{1,2}})"
    rf"(?:st|nd|rd|th)?\b(?:,?\s+(?P<y>\d{{4}}))?"
)
_NUMERIC = re.compile(r"\b(?P<a>\d{1,2})[/.](?P<b>\d{1,2})[/.](?P<y>\d{4}|\d{2})\b")
_ISO = re.compile(r"\b(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})\b")
_CLOCK = r"(?P<{0}h>\d{{1,2}})\s*(?:h|:)\s*(?P<{0}m>\d{{2}})?\s*(?P<{0}ap>am|pm)?|(?P<{0}h2>\d{{1,2}})\s*(?P<{0}ap2>am|pm)"
_TIMES = re.compile(
    r"^[\s,.]*(?:de|des|a partir de|from|at|a|@|,|-)?\s*(?:"
    + _CLOCK.format("s")
    + r")(?:\s*(?:a|-|–|to|until|jusqu'a)\s*(?:"
    + _CLOCK.format("e")
    + r"))?"
)
_PLACE = re.compile(r"\s*(?:lieu|adresse|ou|where|location|venue|place)\s*:\s*\S")


@dataclass(frozen=True, slots=True)
class TextWhen:
    """A date or date-time found in text (naive: floating local time)."""

    start: datetime | date
    end: datetime | date | None


def fold(text: str) -> str:
    """Lower-case, accents removed, apostrophes and spaces simplified (same length kept)."""
    text = text.replace("\u2019", "'").replace("\xa0", " ").replace("\u202f", " ")
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return stripped.lower()


def find_when(text: str, *, reference: date | None, day_first: bool = True) -> TextWhen | None:
    """The first event date (and times) in ``text``, or ``None``."""
    folded = fold(text)
    found = _find_date(folded, reference, day_first)
    if found is None:
        return None
    day, tail = found
    times = _TIMES.match(tail)
    if not times:
        return TextWhen(day, None)
    start_time = _clock(times, "s")
    if start_time is None:
        return TextWhen(day, None)
    start = datetime.combine(day, start_time)
    end_time = _clock(times, "e")
    end = datetime.combine(day, end_time) if end_time and end_time > start_time else None
    return TextWhen(start, end)


def find_place(text: str) -> str | None:
    """A "Lieu : ..." / "Where: ..." line, when the text has one."""
    for line in text.splitlines():
        if _PLACE.match(fold(line)):
            return line.split(":", 1)[1].strip() or None
    return None


def _find_date(folded: str, reference: date | None, day_first: bool) -> tuple[date, str] | None:
    candidates: list[tuple[int, date, int]] = []
    for pattern in (_DAY_FIRST, _MONTH_FIRST):
        for match in pattern.finditer(folded):
            day = _named_date(match, reference)
            if day is not None:
                candidates.append((match.start(), day, match.end()))
                break
    for match in _NUMERIC.finditer(folded):
        a, b = int(match["a"]), int(match["b"])
        d, m = (a, b) if day_first else (b, a)
        year = int(match["y"]) + (2000 if len(match["y"]) == 2 else 0)
        if (day := _safe_date(year, m, d)) is not None:
            candidates.append((match.start(), day, match.end()))
            break
    for match in _ISO.finditer(folded):
        if (day := _safe_date(int(match["y"]), int(match["m"]), int(match["d"]))) is not None:
            candidates.append((match.start(), day, match.end()))
            break
    if not candidates:
        return None
    _, day, end = min(candidates, key=lambda c: c[0])
    return day, folded[end : end + 60]


def _named_date(match: re.Match[str], reference: date | None) -> date | None:
    month, day_of_month = _MONTHS[match["m"]], int(match["d"])
    weekday = _WEEKDAYS.get(match["wd"] or "")
    if match["y"]:
        return _safe_date(int(match["y"]), month, day_of_month)
    if reference is None:
        return None
    years = (reference.year, reference.year + 1, reference.year - 1)
    days = [d for y in years if (d := _safe_date(y, month, day_of_month)) is not None]
    if weekday is not None:
        # The weekday names the year when the text gives none ("mardi 12 janvier").
        for day in days:
            if day.weekday() == weekday and abs((day - reference).days) < 300:
                return day
    for day in days[:2]:
        if (reference - day).days <= 60:
            return day
    return None


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _clock(match: re.Match[str], prefix: str) -> time | None:
    hour_text = match[f"{prefix}h"] or match[f"{prefix}h2"]
    if hour_text is None:
        return None
    hour, minute = int(hour_text), int(match[f"{prefix}m"] or 0)
    meridiem = match[f"{prefix}ap"] or match[f"{prefix}ap2"]
    if meridiem == "pm" and hour < 12:
        hour += 12
    elif meridiem == "am" and hour == 12:
        hour = 0
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)
