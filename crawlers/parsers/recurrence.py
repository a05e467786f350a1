"""Recurrence rules bounded before anything expands them: lazily, by count and in time.

:func:`bound_recurrences` walks a calendar's VEVENTs before ``recurring_ical_events``
sees them and rewrites each series so that its expansion stays small:

* every RRULE is read with ``dateutil`` and iterated lazily (a generator, no cache), up
  to a per-series cap of dates inside the window, a per-series and per-document budget
  of dates generated at all (dates before the window cost too), and the window's end;
* a series that would give more is cut: its first dates in the window become an RDATE
  list and the rule goes ("too many occurrences");
* rules that cannot be bounded cheaply are dropped, keeping the first occurrence:
  ``FREQ=SECONDLY/MINUTELY``, HOURLY rules filtered by day, month or week, and
  BYHOUR×BYMINUTE×BYSECOND sets of more than :data:`MAX_TIMES_PER_DAY` times;
* a malformed rule (spaces, an unknown weekday, BYYEARDAY in a daily rule, 30 February)
  loses that rule; the event keeps its first occurrence and the file its other events;
* an RDATE list longer than the per-series cap keeps its first dates in the window.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from dateutil.rrule import rrule, rrulestr
from icalendar.prop import vDDDTypes

MAX_PER_SERIES = 5000  # dates one series may give inside the window (its cut-off)
MAX_PER_DOCUMENT = 5000  # dates all series of a document may give inside the window
SERIES_BUDGET = 50_000  # dates one series may generate, before the window included
DOCUMENT_BUDGET = 200_000  # dates all series of a document may generate
MAX_TIMES_PER_DAY = 96  # BYHOUR × BYMINUTE × BYSECOND: more is not an agenda
TOO_MANY = "too many occurrences"  # how the parser warning about a cut series starts
_TOO_FINE = {"SECONDLY", "MINUTELY"}
_DAY_FILTERS = ("BYMONTH", "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYDAY", "BYSETPOS")
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


@dataclass(frozen=True)
class Bounds:
    """How far a document's series may go."""

    window_start: datetime
    window_end: datetime
    per_series: int = MAX_PER_SERIES
    per_document: int = MAX_PER_DOCUMENT
    series_budget: int = SERIES_BUDGET
    document_budget: int = DOCUMENT_BUDGET


@dataclass
class Bounding:
    """What bounding changed: series cut or rules dropped for size, rules unreadable."""

    too_many: int = 0
    malformed: int = 0
    notes: list[str] = field(default_factory=list)

    def warnings(self) -> list[str]:
        """Parser warnings; the first words are what ``crawlers.document`` looks for."""
        found = []
        if self.too_many:
            found.append(
                f"{TOO_MANY}: {self.too_many} repeating event(s) would give too "
                "many dates (rules repeating every second or minute, hourly, or without "
                "end); only their first dates in the window are kept"
            )
        if self.malformed:
            found.append(
                f"{self.malformed} repeat rule(s) (RRULE) could not be read and were ignored; "
                "those events keep their first date"
            )
        return found


def bound_recurrences(components: Iterable[Any], bounds: Bounds) -> Bounding:
    """Rewrite the VEVENTs' RRULE/RDATE in place so that expanding them stays bounded."""
    report = Bounding()
    allowance, budget = bounds.per_document, bounds.document_budget
    for component in components:
        if "RRULE" not in component and "RDATE" not in component:
            continue
        given, spent = _bound_series(component, bounds, allowance, budget, report)
        allowance, budget = max(allowance - given, 0), max(budget - spent, 0)
    return report


def _bound_series(
    component: Any, bounds: Bounds, allowance: int, budget: int, report: Bounding
) -> tuple[int, int]:
    """Bound one master VEVENT; ``(dates it gives in the window, dates generated)``."""
    start = component.decoded("DTSTART")
    rules = _readable_rules(component, start, bounds, report)
    limit = min(bounds.per_series, allowance)
    rdates = _rdates(component)
    lo, hi = _comparable(bounds.window_start, start), _comparable(bounds.window_end, start)

    def when(value: Any) -> datetime:
        return _comparable(_start_of(value), start)

    in_window = sorted((d for d in rdates if lo <= when(d) <= hi), key=when)
    cut = len(in_window) > limit
    kept_rdates = in_window[:limit] if cut or len(rdates) > bounds.per_series else rdates
    spent, exhausted = 0, False
    dates: set[datetime] = set()
    for rule in rules:
        found, used, ran_out = _probe(rule, lo, hi, limit + 1, min(bounds.series_budget, budget))
        dates.update(found)
        spent += used
        budget = max(budget - used, 0)
        exhausted = exhausted or ran_out
    if exhausted or len(dates) + len(kept_rdates) > limit:
        cut = True
        merged = sorted({when(d) for d in kept_rdates} | dates)[:limit]
        component.pop("RRULE", None)
        kept_rdates = [_as_original(d, start) for d in merged]
    if kept_rdates is not rdates:
        component.pop("RDATE", None)
        if kept_rdates:
            component.add("RDATE", kept_rdates)
    if cut:
        report.too_many += 1
    return len(dates) + len(kept_rdates) + 1, spent


@dataclass(frozen=True)
class _Rule:
    rule: rrule
    source: Any  # the icalendar value it came from


def _readable_rules(component: Any, start: date, bounds: Bounds, report: Bounding) -> list[_Rule]:
    """The component's rules dateutil can iterate cheaply; the others are counted."""
    readable = []
    for value in _rule_values(component):
        text = value.to_ical().decode("utf-8", "replace")
        parts = _parts(text)
        if parts is None or not _plausible(parts):
            report.malformed += 1
            continue
        if _too_fine(parts):
            report.too_many += 1
            continue
        try:
            rule = _build(text, parts, start, bounds)
        except (ValueError, TypeError, OverflowError, KeyError, IndexError):
            report.malformed += 1
            continue
        readable.append(_Rule(rule, value))
    if len(readable) != len(_rule_values(component)):
        component.pop("RRULE", None)
        for kept in readable:
            component.add("RRULE", kept.source)
    return readable


def _rule_values(component: Any) -> list[Any]:
    values = component.get("RRULE")
    if values is None:
        return []
    return list(values) if isinstance(values, list) else [values]


def _parts(text: str) -> dict[str, str] | None:
    """``NAME=value`` pairs of a rule, or None when it is not written as RFC 5545 says."""
    parts: dict[str, str] = {}
    for item in text.split(";"):
        name, sep, value = item.partition("=")
        if not sep or name != name.strip().upper() or not name.isalpha() or name in parts:
            return None
        if not value or value != value.strip():
            return None
        parts[name] = value
    return parts if "FREQ" in parts else None


def _ints(value: str | None) -> list[int]:
    if not value:
        return []
    return [int(v) for v in value.split(",") if v.lstrip("+-").isdigit()]


def _plausible(parts: dict[str, str]) -> bool:
    """False for rules RFC 5545 forbids or no date satisfies (dateutil would spin on them
    until year 9999): BYYEARDAY in a daily/weekly/monthly rule, BYWEEKNO outside a yearly
    one, a BYMONTHDAY no BYMONTH has."""
    freq = parts["FREQ"]
    if "BYYEARDAY" in parts and freq in ("DAILY", "WEEKLY", "MONTHLY"):
        return False
    if "BYWEEKNO" in parts and freq != "YEARLY":
        return False
    days = _ints(parts.get("BYMONTHDAY"))
    if days:
        months = _ints(parts.get("BYMONTH")) or list(range(1, 13))
        longest = max((_MONTH_DAYS[m - 1] for m in months if 1 <= m <= 12), default=0)
        if not any(1 <= abs(d) <= longest for d in days):
            return False
    return True


def _too_fine(parts: dict[str, str]) -> bool:
    """Rules whose lazy iteration is still too costly: finer than hourly, hourly rules
    filtered by day (dateutil walks every hour to find the few that match), or more
    than :data:`MAX_TIMES_PER_DAY` times a day."""
    freq = parts["FREQ"]
    if freq in _TOO_FINE:
        return True
    if freq == "HOURLY" and any(name in parts for name in _DAY_FILTERS):
        return True
    times = 1
    for name in ("BYHOUR", "BYMINUTE", "BYSECOND"):
        times *= len(parts[name].split(",")) if name in parts else 1
    return times > MAX_TIMES_PER_DAY


def _build(text: str, parts: dict[str, str], start: date, bounds: Bounds) -> rrule:
    """The rule as dateutil reads it, starting at ``start`` and ending by the window's end.

    An UNTIL of the wrong kind (floating with a zoned start or the reverse) is read as
    UTC, as ``recurring_ical_events`` does."""
    dtstart = _comparable(start, start)
    until = None
    if "UNTIL" in parts:
        until = _until(parts.pop("UNTIL"), dtstart)
        text = ";".join(f"{k}={v}" for k, v in parts.items())
    rule = rrulestr(text, dtstart=dtstart, cache=False, forceset=False)
    if not isinstance(rule, rrule):
        raise ValueError("not a single rule")
    end = _comparable(bounds.window_end, dtstart)
    return rule.replace(until=min(until, end) if until is not None else end)


def _until(value: str, dtstart: datetime) -> datetime:
    parsed = vDDDTypes.from_ical(value)
    if not isinstance(parsed, datetime):
        parsed = datetime(parsed.year, parsed.month, parsed.day, 23, 59, 59)
    if dtstart.tzinfo is None:
        return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _probe(
    kept: _Rule, lo: datetime, hi: datetime, limit: int, budget: int
) -> tuple[list[datetime], int, bool]:
    """Iterate one rule lazily: ``(dates in the window up to limit, dates made, ran out)``."""
    found: list[datetime] = []
    used = 0
    dates: Iterator[datetime] = itertools.islice(iter(kept.rule), budget)
    for value in dates:
        used += 1
        if value > hi:
            return found, used, False
        if value >= lo:
            found.append(value)
            if len(found) >= limit:
                return found, used, True
    return found, used, used >= budget


def _rdates(component: Any) -> list[Any]:
    """Every RDATE value (a date, a datetime or a (start, end|duration) period)."""
    values = component.get("RDATE")
    if values is None:
        return []
    found: list[Any] = []
    for item in values if isinstance(values, list) else [values]:
        found.extend(d.dt for d in getattr(item, "dts", []))
    return found


def _start_of(value: Any) -> Any:
    return value[0] if isinstance(value, tuple) else value


def _comparable(value: date, like: date) -> datetime:
    """``value`` as a datetime comparable with the dates a rule starting at ``like`` makes."""
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    aware = isinstance(like, datetime) and like.tzinfo is not None
    if aware and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    if not aware and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def _as_original(value: Any, start: date) -> Any:
    """A date generated for the series in the type of its DTSTART (all-day stays a date)."""
    if not isinstance(start, datetime) and isinstance(value, datetime):
        return value.date()
    return value


__all__ = ["TOO_MANY", "Bounding", "Bounds", "bound_recurrences"]
