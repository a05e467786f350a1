"""The agenda filter shared by ``/``, ``/feed.ics``, ``/feed.xml`` and ``/api/events``.

One ``AgendaFilter`` parsed from the query string, turned into one call to
``aggregator.queries.agenda_events``, so every channel lists the same events.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from time import monotonic as time_monotonic
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from babel.dates import format_date
from fastapi import Query
from sqlmodel import Session

from aggregator.errors import InvalidInputError
from aggregator.models import Event
from aggregator.queries import agenda_events, agenda_week_counts
from aggregator.regions import fold
from aggregator.weeks import Week
from web.i18n import translator

DEFAULT_DAYS = 60
EARLIEST, LATEST = date(1900, 1, 1), date(9000, 12, 31)  # query days clamped: no overflow
CHART_WEEKS = 9


@dataclass(frozen=True)
class AgendaFilter:
    """What a visitor asked to see."""

    topics: tuple[str, ...] = ()
    towns: tuple[str, ...] = ()
    online: bool | None = None
    start: date | None = None
    end: date | None = None
    text: str | None = None

    def window(self, now: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """The UTC instants bounding the request: from its first day (or now) to the
        end of its last day (or sixty days ahead)."""
        today = now.astimezone(tz).date()
        first = min(max(self.start, EARLIEST), LATEST) if self.start else None
        start = datetime.combine(first, time(0), tz) if first else now
        last = min(max(self.end or (today + timedelta(days=DEFAULT_DAYS)), EARLIEST), LATEST)
        end = datetime.combine(last + timedelta(days=1), time(0), tz)
        return start, end

    def query_kwargs(self) -> dict[str, Any]:
        return {
            "topics": list(self.topics) or None,
            "towns": list(self.towns) or None,
            "online": self.online,
            "text": self.text or None,
        }

    def query_string(self, **extra: Any) -> str:
        """The filter as a query string (for links to the feeds and next pages)."""
        pairs: list[tuple[str, str]] = [("topic", t) for t in self.topics]
        pairs += [("town", t) for t in self.towns]
        if self.online is not None:
            pairs.append(("online", "yes" if self.online else "no"))
        if self.start:
            pairs.append(("from", self.start.isoformat()))
        if self.end:
            pairs.append(("to", self.end.isoformat()))
        if self.text:
            pairs.append(("q", self.text))
        pairs += [(k, str(v)) for k, v in extra.items() if v is not None]
        return urlencode(pairs)


FLAGS = {"yes": True, "true": True, "1": True, "no": False, "false": False, "0": False}
MAX_PAGE = 1000  # forty events a page: far past anything the agenda holds
MAX_TEXT = 200


@dataclass(frozen=True)
class AgendaQuery:
    """A parsed query string: the filter, the page and what could not be understood.

    ``problems`` maps a field name to a French message (a key of the English catalogue)
    for a value that could not be read; ``notes`` for one that was read but cannot apply
    (an end before the start). Both are left out of ``filt``. ``raw`` is what the visitor typed, so a
    form can be shown again as it was sent.
    """

    filt: AgendaFilter
    page: int = 1
    problems: dict[str, str] = field(default_factory=dict)
    raw: dict[str, str] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)  # understood, but left out


def _parse_day(value: str) -> date | None:
    """A calendar day (YYYY-MM-DD), any year: the window clamps far ones."""
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        return None


def parse_agenda_query(
    params: Mapping[str, Sequence[str]],
    *,
    known_topics: Iterable[str] | None = None,
    known_town: Callable[[str], bool] | None = None,
) -> AgendaQuery:
    """The agenda filter from query parameters (name -> every value sent): empty values
    are ignored, every bad value becomes a problem and is left out. Pure."""

    def values(name: str) -> list[str]:
        return [v.strip() for v in params.get(name, ()) if v and v.strip()]

    def first(name: str) -> str | None:
        found = values(name)
        return found[0] if found else None

    problems: dict[str, str] = {}
    raw = {name: first(name) or "" for name in ("q", "from", "to", "online", "page")}
    topics = values("topic")
    if known_topics is not None:
        allowed = set(known_topics)
        if any(t not in allowed for t in topics):
            problems["topic"] = "Thème inconnu : choisissez un thème de la liste."
        topics = [t for t in topics if t in allowed]
    towns = values("town")
    if known_town is not None:
        if any(not known_town(t) for t in towns):
            problems["town"] = "Ville inconnue : choisissez une ville de la région."
        towns = [t for t in towns if known_town(t)]
    online: bool | None = None
    if raw["online"]:
        online = FLAGS.get(raw["online"].lower())
        if online is None:
            problems["online"] = "Format inconnu : choisissez sur place ou en ligne."
    days: dict[str, date | None] = {}
    for name in ("from", "to"):
        days[name] = _parse_day(raw[name]) if raw[name] else None
        if raw[name] and days[name] is None:
            problems[name] = "Date invalide : utilisez le format AAAA-MM-JJ."
    start, end = days["from"], days["to"]
    notes: dict[str, str] = {}
    if start and end and end < start:
        notes["to"] = "La date de fin doit suivre la date de début."
        end = None
    text = " ".join((first("q") or "").split()) or None
    if text and len(text) > MAX_TEXT:
        problems["q"] = "Recherche trop longue : 200 caractères au plus."
        text = None
    page = 1
    if raw["page"]:
        number = raw["page"]
        if number.isascii() and number.isdigit() and len(number) <= 6 and 1 <= int(number) <= MAX_PAGE:
            page = int(number)
        else:
            problems["page"] = "Numéro de page invalide."
    filt = AgendaFilter(
        topics=tuple(dict.fromkeys(topics)),
        towns=tuple(dict.fromkeys(towns)),
        online=online,
        start=start,
        end=end,
        text=text,
    )
    return AgendaQuery(filt=filt, page=page, problems=problems, raw=raw, notes=notes)


def agenda_filter(
    topic: Annotated[list[str], Query(description="Topic slug; repeat for several")] = [],  # noqa: B006
    town: Annotated[
        list[str], Query(description="Town: INSEE code or name (e.g. aix-en-provence); repeat")
    ] = [],  # noqa: B006
    online: Annotated[str | None, Query(description="yes: online only, no: in person")] = None,
    from_: Annotated[
        str | None, Query(alias="from", description="First day (local), YYYY-MM-DD")
    ] = None,
    to: Annotated[str | None, Query(description="Last day (local), inclusive, YYYY-MM-DD")] = None,
    q: Annotated[str | None, Query(description="Text search: every word, whole words")] = None,
) -> AgendaFilter:
    """FastAPI dependency for the feeds and the API: the filter from the query string
    (empty values ignored); a bad value is an ``InvalidInputError`` naming the field."""
    params: dict[str, list[str]] = {"topic": topic, "town": town}
    for name, value in (("online", online), ("from", from_), ("to", to), ("q", q)):
        if value is not None:
            params[name] = [value]
    parsed = parse_agenda_query(params)
    if parsed.problems:
        name, message = next(iter(parsed.problems.items()))
        raise InvalidInputError(f"{name}: {translator('en')(message)}")
    return parsed.filt


def list_events(
    session: Session,
    region: Any,
    filt: AgendaFilter,
    now: datetime,
    tz: ZoneInfo,
    *,
    limit: int | None = None,
    offset: int = 0,
) -> list[Event]:
    start, end = filt.window(now, tz)
    return agenda_events(
        session,
        region=region,
        start=start,
        end=end,
        limit=limit,
        offset=offset,
        **filt.query_kwargs(),
    )


@dataclass
class WeekCounts:
    labels: list[str] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)
    weeks: list[Week] = field(default_factory=list)

    def pairs(self) -> list[tuple[str, int]]:
        return list(zip(self.labels, self.counts, strict=True))


CHART_TTL = 60.0  # seconds a weekly chart's counts are reused (per store, filter and week)
_chart_cache: dict[tuple[Any, ...], tuple[float, list[int]]] = {}
_chart_lock = threading.Lock()


def _cached_counts(
    session: Session, region: Any, bounds: list[datetime], filt: AgendaFilter
) -> list[int]:
    """``agenda_week_counts``, reused for ``CHART_TTL`` seconds: the chart on ``/`` is the
    same for every page and visitor, and a minute-old count is fine for it."""
    bind = session.get_bind()
    key = (id(bind), str(getattr(bind, "url", "")), getattr(region, "name", None), bounds[0],
           len(bounds), filt.topics, filt.towns, filt.online, filt.text)
    clock = time_monotonic()
    with _chart_lock:
        hit = _chart_cache.get(key)
    if hit is not None and hit[0] > clock:
        return hit[1]
    counts = agenda_week_counts(session, region=region, bounds=bounds, **filt.query_kwargs())
    with _chart_lock:
        if len(_chart_cache) >= 512:
            _chart_cache.clear()
        _chart_cache[key] = (clock + CHART_TTL, counts)
    return counts


def weekly_counts(
    session: Session, region: Any, filt: AgendaFilter, now: datetime, tz: ZoneInfo, lang: str
) -> WeekCounts:
    """Events per week from this week's Monday, for the next two months."""
    weeks = [Week.of(now, tz)]
    while len(weeks) < CHART_WEEKS:
        weeks.append(weeks[-1].next())
    bounds = [week.bounds(tz)[0] for week in weeks] + [weeks[-1].bounds(tz)[1]]
    counts = _cached_counts(session, region, bounds, filt)
    result = WeekCounts()
    for week, count in zip(weeks, counts[: len(weeks)], strict=True):
        result.labels.append(format_date(week.monday, "d MMM", locale=lang))
        result.counts.append(count)
        result.weeks.append(week)
    return result


def event_day(event: Event, tz: ZoneInfo) -> date | None:
    """The local day an event starts on."""
    if event.start_date:
        return event.start_date
    if event.start:
        return event.start.astimezone(tz).date()
    return None


def by_day(events: list[Event], tz: ZoneInfo) -> list[tuple[date | None, list[Event]]]:
    """The events in runs of the same local start day, in their order."""
    days: list[tuple[date | None, list[Event]]] = []
    for event in events:
        day = event_day(event, tz)
        if days and days[-1][0] == day:
            days[-1][1].append(event)
        else:
            days.append((day, [event]))
    return days


def town_slug(name: str) -> str:
    """A town's readable URL value: "Aix-en-Provence" -> "aix-en-provence"."""
    return fold(name).replace(" ", "-")


def find_town(region: Any, value: str) -> Any | None:
    """The member commune an INSEE code, slug, name or postcode names, else None."""
    return region.commune(value) or region.match_town(value.replace("-", " "))


@dataclass(frozen=True)
class Chip:
    """One active filter as a person reads it, with the query string that removes it."""

    label: str
    remove_query: str


def filter_chips(
    filt: AgendaFilter,
    *,
    topic_label: Callable[[str], str],
    town_label: Callable[[str], str],
    day_label: Callable[[date], str],
    _: Callable[[str], str],
) -> list[Chip]:
    """The filter's chips, in form order (text, topics, towns, format, dates). Pure."""
    chips: list[Chip] = []

    def without(**change: Any) -> str:
        return replace(filt, **change).query_string()

    if filt.text:
        chips.append(Chip(f"« {filt.text} »", without(text=None)))
    for topic in filt.topics:
        rest = tuple(t for t in filt.topics if t != topic)
        chips.append(Chip(topic_label(topic), without(topics=rest)))
    for town in filt.towns:
        rest = tuple(t for t in filt.towns if t != town)
        chips.append(Chip(town_label(town), without(towns=rest)))
    if filt.online is not None:
        chips.append(Chip(_("En ligne") if filt.online else _("Sur place"), without(online=None)))
    if filt.start:
        chips.append(Chip(_("Du") + " " + day_label(filt.start), without(start=None)))
    if filt.end:
        chips.append(Chip(_("Au") + " " + day_label(filt.end), without(end=None)))
    return chips


@dataclass(frozen=True)
class WeekLink:
    """One week of the strip above the agenda."""

    label: str
    count: int
    query: str
    current: bool


def week_strip(filt: AgendaFilter, weeks: WeekCounts) -> list[WeekLink]:
    """Links to each charted week (the filter kept, its dates replaced by that week's)."""
    links = []
    for label, count, week in zip(weeks.labels, weeks.counts, weeks.weeks, strict=True):
        chosen = replace(filt, start=week.monday, end=week.sunday)
        current = filt.start == week.monday and filt.end == week.sunday
        links.append(WeekLink(label, count, chosen.query_string(), current))
    return links


def group_series(events: Sequence[Event]) -> tuple[list[Event], dict[int, list[Event]]]:
    """A series listed once, as the email does: its first date on the page stays, with
    its later dates on the page attached to it (event id -> later events). Pure."""
    kept: list[Event] = []
    later: dict[int, list[Event]] = {}
    first_of: dict[str, int] = {}
    for event in events:
        series = event.series_uid
        if series and series in first_of:
            later[first_of[series]].append(event)
            continue
        if series and event.id is not None:
            first_of[series] = event.id
            later[event.id] = []
        kept.append(event)
    return kept, {k: v for k, v in later.items() if v}
