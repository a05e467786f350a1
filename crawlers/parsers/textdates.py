"""Event date, time and place read from free text, in French or English.

Used for news-style feed items (Hugo/Zola "events" sections, Gancio, blogs) that carry no
event fields. Understands, for example, "le jeudi 12 mars à 18h30", "du 3 au 5 juin",
"mardi 3 février 2027 de 18h à 20h", "March 12, 6:30pm", "12/03 à 19h", "18h30-21h",
"Thu, Dec 3, 6:30 PM", and doors times ("ouverture des portes 18h, début 18h30" starts
at 18:30). A missing year is taken from the ``reference`` day — the item's publication
date, else the caller's reference instant — never from today, so a document always reads
the same: the year that puts the event closest after the reference (a named weekday
decides when it can). Dates on a "publié le" / "posted on" line are not event dates.

Plain regular expressions over accent-folded text: no per-item ``dateparser`` search.
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
    "saturday": 5, "sat": 5, "sunday": 6, "sun": 6, "lun": 0, "mer": 2, "jeu": 3,
    "ven": 4, "sam": 5, "dim": 6,
}  # fmt: skip
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_WEEKDAY = "|".join(sorted(_WEEKDAYS, key=len, reverse=True))
_WD = rf"(?:(?P<wd>{_WEEKDAY})\.?,?\s+)?"
_ORD = r"(?:er|e|eme|st|nd|rd|th)?"
# "du 3 au 5 juin", "du lundi 3 au mercredi 5 juin 2027", "3-5 juin", "3 et 4 juin",
# "du 30 mai au 2 juin", "from June 3 to 5", "June 3-5, 2027".
_RANGE_DAY_FIRST = re.compile(
    rf"\b(?:du\s+|from\s+)?{_WD}(?P<d>\d{{1,2}}){_ORD}(?:\s+(?P<m>{_MONTH})\.?)?"
    rf"(?:\s+(?P<y>\d{{4}}))?\s*(?:au|-|–|to|et|and|&)\s*(?:(?:{_WEEKDAY})\.?,?\s+)?"
    rf"(?P<d2>\d{{1,2}}){_ORD}\s+(?P<m2>{_MONTH})\.?(?:,?\s+(?P<y2>\d{{4}}))?\b"
)
_RANGE_MONTH_FIRST = re.compile(
    rf"\b(?:from\s+)?{_WD}(?P<m>{_MONTH})\.?\s+(?P<d>\d{{1,2}}){_ORD}\s*(?:-|–|to|until)\s*"
    rf"(?:(?P<m2>{_MONTH})\.?\s+)?(?P<d2>\d{{1,2}}){_ORD}\b(?:,?\s+(?P<y2>\d{{4}}))?"
)
_DAY_FIRST = re.compile(
    rf"\b{_WD}(?:le\s+)?(?P<d>\d{{1,2}}){_ORD}\s+(?P<m>{_MONTH})\.?(?:,?\s+(?P<y>\d{{4}}))?\b"
)
_MONTH_FIRST = re.compile(
    rf"\b{_WD}(?P<m>{_MONTH})\.?\s+(?P<d>\d{{1,2}}){_ORD}\b(?:,?\s+(?P<y>\d{{4}}))?"
)
_NUMERIC = re.compile(r"\b(?P<a>\d{1,2})[/.](?P<b>\d{1,2})[/.](?P<y>\d{4}|\d{2})\b")
# "12/03 à 19h", "le 12/03", "jeudi 12/03": only with a weekday, "le" or a time after it.
_NUMERIC_SHORT = re.compile(
    rf"(?:\b(?P<wd>{_WEEKDAY})\.?,?\s+|\ble\s+)?\b(?P<a>\d{{1,2}})/(?P<b>\d{{1,2}})\b(?![/.]\d)"
)
_ISO = re.compile(r"\b(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})\b")
_CLOCK = (
    r"(?P<{0}h>\d{{1,2}})\s*(?:h(?![a-z])\s*|:(?=\d{{2}}))(?P<{0}m>\d{{2}})?"
    r"\s*(?P<{0}ap>am|pm|a\.m\.|p\.m\.)?"
    r"|(?P<{0}h2>\d{{1,2}})\s*(?P<{0}ap2>am|pm|a\.m\.|p\.m\.)"
)
_TIMES = re.compile(
    r"^[\s,.|:·—–-]*(?:(?:de|des|a partir de|from|at|a|@|,|-|starting at|debut a)\s*)?(?:"
    + _CLOCK.format("s")
    + r")(?:\s*(?:a|-|–|to|until|jusqu'a|->)\s*(?:"
    + _CLOCK.format("e")
    + r"))?"
)
_CLOCK_RANGE = re.compile(
    r"(?<![\d/.])(?:"
    + _CLOCK.format("s")
    + r")(?:\s*(?:a|-|–|to|until|jusqu'a|->)\s*(?:"
    + _CLOCK.format("e")
    + r"))?(?![\d/])"
)
_ANY_CLOCK = re.compile(r"(?<![\d/.])(?:" + _CLOCK.format("s") + r")(?![\d/])")
_DOORS = re.compile(
    r"(ouverture des portes|ouverture|portes|doors( open)?|accueil( des participants)?"
    r"|welcome|check-in|enregistrement)\s*(a partir de|des|a|at|from|:)?\s*$"
)
_BEGINS = re.compile(
    r"(debut|demarrage|commence|commencement|lancement|start|starts|begins|talks?( at)?"
    r"|conferences?|premier talk|first talk)\s*(des conferences|des talks)?"
    r"\s*(a partir de|des|a|at|:)?\s*$"
)
_ENDS = re.compile(r"(fin|fin prevue|jusqu'a|until|ends?|end at|close at)\s*(vers|a|at|:)?\s*$")
_PUBLISHED = re.compile(
    r"(publie|mis en ligne|mis a jour|poste|posted|published|updated|ecrit|redige)"
    r"( le| on| par .{0,40} le)?\s*$"
)
_PLACE = re.compile(r"\s*(?:lieu|adresse|ou|where|location|venue|place)\s*:\s*\S")
_NEAR = 240  # characters after the date where its times may be written


@dataclass(frozen=True, slots=True)
class TextWhen:
    """A date or date-time found in text (naive: floating local time)."""

    start: datetime | date
    end: datetime | date | None


def fold(text: str) -> str:
    """Lower-case, accents removed, apostrophes and spaces simplified (same length kept)."""
    text = text.replace("\u2019", "'").replace("\xa0", " ").replace("\u202f", " ")
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return stripped.lower()


def find_when(text: str, *, reference: date | None, day_first: bool = True) -> TextWhen | None:
    """The first event date (and times) in ``text``, or ``None``."""
    folded = fold(text)
    found = _find_date(folded, reference, day_first)
    if found is None:
        return None
    day, last, position = found
    if last is not None and last != day:
        return TextWhen(day, last)  # a span of days: all-day, first to last
    start_time, end_time = _times(folded, position)
    if start_time is None:
        return TextWhen(day, None)
    start = datetime.combine(day, start_time)
    end = datetime.combine(day, end_time) if end_time and end_time > start_time else None
    return TextWhen(start, end)


def find_times(text: str) -> tuple[time | None, time | None]:
    """(start, end) clock of the first time or time range anywhere in ``text``
    ("12 mars @ 18h30 - 20h30" → 18:30, 20:30)."""
    match = _CLOCK_RANGE.search(fold(text))
    if match is None:
        return None, None
    start, end = _clock(match, "s"), _clock(match, "e")
    return start, end if start and end and end > start else None


def find_place(text: str) -> str | None:
    """A "Lieu : ..." / "Where: ..." line, when the text has one."""
    for line in text.splitlines():
        if _PLACE.match(fold(line)):
            return line.split(":", 1)[1].strip() or None
    return None


# ------------------------------------------------------------------ dates


def _find_date(
    folded: str, reference: date | None, day_first: bool
) -> tuple[date, date | None, int] | None:
    """(first day, last day of a span or None, index where the date text ends)."""
    candidates: list[tuple[int, date, date | None, int]] = []
    for pattern in (_RANGE_DAY_FIRST, _RANGE_MONTH_FIRST):
        for match in pattern.finditer(folded):
            if _published(folded, match.start()):
                continue
            if (span := _range(match, reference)) is not None:
                candidates.append((match.start(), span[0], span[1], match.end()))
                break
    for pattern in (_DAY_FIRST, _MONTH_FIRST):
        for match in pattern.finditer(folded):
            if _published(folded, match.start()):
                continue
            day = _named_date(_MONTHS[match["m"]], int(match["d"]), match, reference)
            if day is not None:
                candidates.append((match.start(), day, None, match.end()))
                break
    for match in _NUMERIC.finditer(folded):
        a, b = int(match["a"]), int(match["b"])
        d, m = (a, b) if day_first else (b, a)
        year = int(match["y"]) + (2000 if len(match["y"]) == 2 else 0)
        if not _published(folded, match.start()) and (day := _safe_date(year, m, d)):
            candidates.append((match.start(), day, None, match.end()))
            break
    for match in _ISO.finditer(folded):
        if _published(folded, match.start()):
            continue
        if (day := _safe_date(int(match["y"]), int(match["m"]), int(match["d"]))) is not None:
            candidates.append((match.start(), day, None, match.end()))
            break
    if not candidates:
        candidates = _short_numeric(folded, reference, day_first)
    if not candidates:
        return None
    # The earliest mention wins; a span overlapping it ("le 28 décembre au 3 janvier") wins.
    first = min(candidates, key=lambda c: (c[0], -c[3]))
    spans = [c for c in candidates if c[2] is not None and c[0] < first[3]]
    _, day, last, end = max(spans, key=lambda c: c[3]) if spans else first
    return day, last, end


def _short_numeric(
    folded: str, reference: date | None, day_first: bool
) -> list[tuple[int, date, date | None, int]]:
    for match in _NUMERIC_SHORT.finditer(folded):
        timed = _TIMES.match(folded[match.end() : match.end() + 40]) is not None
        if not (match["wd"] or match.group(0).startswith("le") or timed):
            continue
        a, b = int(match["a"]), int(match["b"])
        d, m = (a, b) if day_first else (b, a)
        if not (1 <= m <= 12) or _published(folded, match.start()):
            continue
        if (day := _named_date(m, d, match, reference)) is not None:
            return [(match.start(), day, None, match.end())]
    return []


def _published(folded: str, start: int) -> bool:
    """True when the date follows "publié le" / "posted on" (a publication line)."""
    return bool(_PUBLISHED.search(folded[max(0, start - 60) : start]))


def _range(match: re.Match[str], reference: date | None) -> tuple[date, date] | None:
    month1 = _MONTHS[match["m"]] if match["m"] else None
    month2 = _MONTHS[match["m2"]] if match["m2"] else month1
    month1 = month1 or month2
    if month1 is None or month2 is None:
        return None
    groups = match.groupdict()
    year_text = groups.get("y2") or groups.get("y")
    d1, d2 = int(match["d"]), int(match["d2"])
    if year_text:
        year = int(year_text)
        first = _safe_date(year - (1 if month1 > month2 else 0), month1, d1)
    else:
        first = _named_date(month1, d1, match, reference)
        year = first.year + (1 if first and month1 > month2 else 0) if first else 0
    last = _safe_date(year, month2, d2) if first else None
    if first is None or last is None or not 0 < (last - first).days <= 62:
        return None
    return first, last


def _named_date(
    month: int, day_of_month: int, match: re.Match[str], reference: date | None
) -> date | None:
    groups = match.groupdict()
    weekday = _WEEKDAYS.get(groups.get("wd") or "")
    if groups.get("y"):
        return _safe_date(int(groups["y"]), month, day_of_month)
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


# ------------------------------------------------------------------ times


def _times(folded: str, position: int) -> tuple[time | None, time | None]:
    """(start, end) written after the date: the clock right after it, corrected by a
    doors time ("ouverture des portes 18h, début 18h30" starts at 18:30); failing that,
    a clock in the same paragraph marked as the start, or as the doors."""
    near = folded[position : position + _NEAR].split("\n\n", 1)[0]
    start = end = None
    if match := _TIMES.match(near):
        start, end = _clock(match, "s"), _clock(match, "e")
    doors = begins = ends = None
    for clock in _ANY_CLOCK.finditer(near):
        before = near[max(0, clock.start() - 40) : clock.start()]
        value = _clock(clock, "s")
        if value is None:
            continue
        if doors is None and _DOORS.search(before):
            doors = value
        elif begins is None and _BEGINS.search(before):
            begins = value
        elif ends is None and _ENDS.search(before):
            ends = value
    if begins is not None and (start is None or start == doors):
        start, end = begins, end if end and end > begins else None
    elif start is None and doors is not None:
        start = doors
    if start is not None and end is None and ends is not None and ends > start:
        end = ends
    return start, end


def _clock(match: re.Match[str], prefix: str) -> time | None:
    groups = match.groupdict()
    hour_text = groups.get(f"{prefix}h") or groups.get(f"{prefix}h2")
    if hour_text is None:
        return None
    hour, minute = int(hour_text), int(groups.get(f"{prefix}m") or 0)
    meridiem = (groups.get(f"{prefix}ap") or groups.get(f"{prefix}ap2") or "").replace(".", "")
    if meridiem == "pm" and hour < 12:
        hour += 12
    elif meridiem == "am" and hour == 12:
        hour = 0
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)
