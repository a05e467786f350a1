"""What is wrong with a feed, in plain words: pure checks on parsed events.

Input is what :func:`crawlers.extract.extract_target` returns when it is given *no*
default timezone (so floating times are still naive here), plus the region and the
source's default zone. Output is a list of :class:`Finding`, each with a French and an
English message an organizer can act on, a severity, a count and a few examples.

Severities: ``error`` (we cannot use the source, or times will be wrong), ``warning``
(some events will be missing or incomplete), ``info`` (worth knowing, nothing breaks).

Not checked: RRULE series whose page shows cancelled occurrences missing from the feed
(EXDATE). Telling that needs the event page next to the feed and a reliable occurrence
matcher; nothing in the parsed events says it cheaply.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from protego import Protego

from aggregator.raw import RawEvent
from aggregator.regions import Region
from crawlers.parsers.common import localize, zone

ERROR, WARNING, INFO = "error", "warning", "info"
SEVERITY_ORDER = {ERROR: 0, WARNING: 1, INFO: 2}
MAX_EXAMPLES = 3
_UTC_NAMES = frozenset({"UTC", "ETC/UTC", "GMT", "ETC/GMT", "Z", "ZULU"})


@dataclass(frozen=True)
class Finding:
    """One thing to tell the organizer, in French and English."""

    code: str
    severity: str
    message_fr: str
    message_en: str
    count: int = 0
    examples: tuple[str, ...] = field(default_factory=tuple)

    def message(self, language: str | None) -> str:
        """The message in ``language`` (English for ``en``, French otherwise)."""
        return self.message_en if (language or "").startswith("en") else self.message_fr

    def to_json(self) -> dict[str, object]:
        return {
            "code": self.code,
            "severity": self.severity,
            "message_fr": self.message_fr,
            "message_en": self.message_en,
            "count": self.count,
            "examples": list(self.examples),
        }


def sorted_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Errors first, then warnings, then notes; stable otherwise."""
    return sorted(findings, key=lambda f: SEVERITY_ORDER.get(f.severity, 3))


# ------------------------------------------------------------------ events


def lint_events(
    events: Sequence[RawEvent], *, region: Region, timezone: str | None, now: datetime
) -> list[Finding]:
    """Findings about parsed events (floating times still naive), for a source whose
    default zone is ``timezone`` (the region's when None)."""
    tz = zone(timezone) or region.tz
    if not events:
        return [
            Finding(
                "no_events",
                ERROR,
                "Aucun événement trouvé : vérifiez que l'adresse mène à un flux RSS/Atom, un "
                "fichier iCal ou une page avec des données schema.org Event, et que chaque "
                "événement a une date.",
                "No events found: check that the address leads to an RSS/Atom feed, an iCal "
                "file or a page with schema.org Event data, and that each event has a date.",
            )
        ]
    findings: list[Finding] = []
    floating = [e for e in events if isinstance(e.start, datetime) and e.start.tzinfo is None]
    if floating:
        n = len(floating)
        findings.append(
            Finding(
                "floating",
                WARNING,
                f"{n} horaire(s) sans fuseau horaire : nous avons supposé {tz.key}. Indiquez le "
                "fuseau (TZID en iCal, décalage +01:00 en ISO 8601) pour éviter les erreurs "
                "d'une heure.",
                f"{n} time(s) with no timezone: we assumed {tz.key}. State the zone (TZID in "
                "iCal, a +01:00 offset in ISO 8601) to avoid one-hour mistakes.",
                n,
                _titles(floating),
            )
        )
    placed = [place(e, tz) for e in events]
    findings.extend(_zone_contradictions(placed, region))
    outside = [e for e in placed if is_outside(e, region)]
    if outside:
        n = len(outside)
        findings.append(
            Finding(
                "outside",
                WARNING,
                f"{n} événement(s) hors de la région {region.display_name} : ils ne seront "
                "pas publiés.",
                f"{n} event(s) outside {region.display_name}: they will not be published.",
                n,
                _titles(outside),
            )
        )
    nowhere = [e for e in placed if not (is_online(e) or has_place(e))]
    if nowhere:
        n = len(nowhere)
        findings.append(
            Finding(
                "no_place",
                WARNING,
                f"{n} événement(s) sans lieu ni ville : indiquez l'adresse ou « en ligne ».",
                f"{n} event(s) with no venue or town: give the address, or say it is online.",
                n,
                _titles(nowhere),
            )
        )
    no_end = [e for e in placed if isinstance(e.start, datetime) and e.end is None]
    if no_end:
        n = len(no_end)
        findings.append(
            Finding(
                "no_end",
                INFO,
                f"{n} événement(s) sans heure de fin : ajoutez-la (DTEND, endDate) pour que les "
                "agendas affichent la bonne durée.",
                f"{n} event(s) with no end time: add it (DTEND, endDate) so calendars show "
                "the right length.",
                n,
                _titles(no_end),
            )
        )
    if not any(is_upcoming(e, now, tz) for e in placed):
        findings.append(
            Finding(
                "no_future",
                WARNING,
                "Aucun événement à venir dans ce flux : seuls des événements passés y figurent.",
                "No upcoming events in this feed: it only lists past events.",
            )
        )
    return sorted_findings(findings)


def _zone_contradictions(events: Sequence[RawEvent], region: Region) -> list[Finding]:
    """Events placed in the region whose declared zone runs at another offset than the
    region's at that instant (a platform default such as America/New_York)."""
    wrong: list[RawEvent] = []
    zones: set[str] = set()
    for event in events:
        start = event.start
        if not isinstance(start, datetime) or start.tzinfo is None:
            continue
        name = event.timezone or str(start.tzinfo)
        offset = start.utcoffset()
        if offset == timedelta(0) and (event.timezone is None or name.upper() in _UTC_NAMES):
            continue  # a UTC instant is exact, whatever the venue
        if offset == start.astimezone(region.tz).utcoffset():
            continue
        if is_online(event) and not has_place(event):
            continue
        if region_commune(event, region) is None:
            continue
        wrong.append(event)
        zones.add(name)
    if not wrong:
        return []
    n, names = len(wrong), ", ".join(sorted(zones))
    return [
        Finding(
            "zone_contradiction",
            ERROR,
            f"{n} événement(s) en {names} alors que le lieu est dans la région "
            f"({region.timezone}) : les heures seront décalées. Réglez le fuseau du groupe ou "
            f"de l'agenda sur {region.timezone} (souvent un réglage par défaut de Meetup ou "
            "Eventbrite).",
            f"{n} event(s) in {names} while the venue is in the region ({region.timezone}): "
            f"times will be shifted. Set the group's or calendar's timezone to "
            f"{region.timezone} (often a Meetup or Eventbrite default).",
            n,
            _titles(wrong),
        )
    ]


def churning_uids(first: Sequence[RawEvent], second: Sequence[RawEvent]) -> Finding | None:
    """The same events (title and start) announced with other UIDs by a second fetch."""
    before = {_key(e): e.uid for e in first if e.uid}
    after = {_key(e): e.uid for e in second if e.uid}
    changed = [key for key in before.keys() & after.keys() if before[key] != after[key]]
    if not changed:
        return None
    n = len(changed)
    examples = tuple(sorted(title for title, _start in changed)[:MAX_EXAMPLES])
    return Finding(
        "uid_churn",
        ERROR,
        f"{n} événement(s) changent d'identifiant (UID) d'un téléchargement à l'autre, à "
        "quelques secondes d'intervalle : chaque passage les ferait apparaître comme "
        "nouveaux. Donnez à chaque événement un UID stable.",
        f"{n} event(s) change identifier (UID) between two downloads a few seconds apart: "
        "every crawl would see them as new. Give each event a stable UID.",
        n,
        examples,
    )


def _key(event: RawEvent) -> tuple[str, str]:
    start = event.start.isoformat() if isinstance(event.start, date) else ""
    return (" ".join(event.title.split()).casefold(), start)


# ------------------------------------------------------------------ fetch


def robots_finding(robots_txt: str, url: str, agent: str) -> Finding | None:
    """An error when ``robots_txt`` forbids ``agent`` to fetch ``url``."""
    if Protego.parse(robots_txt).can_fetch(url, agent):
        return None
    token = agent.split("/", 1)[0]
    return Finding(
        "robots_disallow",
        ERROR,
        f"Le fichier robots.txt du site interdit à notre robot ({token}) de lire cette "
        f"adresse : autorisez « User-agent: {token} » pour ce chemin.",
        f"The site's robots.txt forbids our crawler ({token}) to read this address: allow "
        f"'User-agent: {token}' for this path.",
    )


def fetch_finding(message: str, *, status: int | None, blocked: bool) -> Finding:
    """The fetch failed: refused by our address rules, an HTTP error, or no answer."""
    if blocked:
        return Finding(
            "blocked",
            ERROR,
            f"Adresse refusée : nous ne lisons que des adresses publiques ({message}).",
            f"Address refused: we only read public addresses ({message}).",
        )
    if status is not None and status >= 400:
        return Finding(
            "http_error",
            ERROR,
            f"Le serveur a répondu HTTP {status} : vérifiez que l'adresse est publique et "
            "toujours valide.",
            f"The server answered HTTP {status}: check that the address is public and still valid.",
        )
    return Finding(
        "unreachable",
        ERROR,
        f"Le site ne répond pas : {message}.",
        f"The site does not answer: {message}.",
    )


def parse_finding(message: str) -> Finding:
    """The body came back but no parser could read it."""
    return Finding(
        "unreadable",
        ERROR,
        f"Document illisible : {message}. Nous lisons RSS/Atom, iCal, JSON-LD et les pages "
        "schema.org Event.",
        f"Unreadable document: {message}. We read RSS/Atom, iCal, JSON-LD and schema.org "
        "Event pages.",
    )


def parser_notes(notes: Sequence[str]) -> Finding | None:
    """What the parsers noticed on the way (skipped events, links not followed...)."""
    notes = [n for n in notes if "timezone" not in n]  # said by the "floating" finding
    if not notes:
        return None
    n = len(notes)
    return Finding(
        "parser_notes",
        INFO,
        f"{n} remarque(s) de lecture (en anglais) : {notes[0]}",
        f"{n} note(s) while reading: {notes[0]}",
        n,
        tuple(notes[:MAX_EXAMPLES]),
    )


# ------------------------------------------------------------------ event helpers


def place(event: RawEvent, tz: ZoneInfo) -> RawEvent:
    """A floating time read as local time in ``tz`` (DST gaps as the parsers do)."""
    start, end = event.start, event.end
    if isinstance(start, datetime) and start.tzinfo is None:
        start = localize(start, tz)
    if isinstance(end, datetime) and end.tzinfo is None:
        end = localize(end, tz)
    return event.with_(start=start, end=end)


def is_online(event: RawEvent) -> bool:
    return bool(event.online or event.online_url)


def has_place(event: RawEvent) -> bool:
    return bool(event.venue or event.address or event.city or event.latitude is not None)


def region_commune(event: RawEvent, region: Region) -> object | None:
    """The member commune the event's place names, or None."""
    return region.locate(
        event.city,
        event.postcode,
        event.latitude,
        event.longitude,
        address=event.address,
        venue=event.venue,
    )


def is_outside(event: RawEvent, region: Region) -> bool:
    """True when the event names a town, postcode, address or point outside the region."""
    if is_online(event) and not has_place(event):
        return False
    if not (event.city or event.postcode or event.address or event.latitude is not None):
        return False
    return region_commune(event, region) is None


def is_upcoming(event: RawEvent, now: datetime, tz: ZoneInfo) -> bool:
    """Starts (or, all day, lasts) at or after ``now``."""
    start = event.start
    if isinstance(start, datetime):
        aware = start if start.tzinfo is not None else localize(start, tz)
        end = event.end if isinstance(event.end, datetime) else None
        return aware >= now or (end is not None and end.tzinfo is not None and end >= now)
    if isinstance(start, date):
        end_day = event.end
        last = end_day if isinstance(end_day, date) and not isinstance(end_day, datetime) else start
        return last >= now.astimezone(tz).date()
    return False


def count_upcoming(events: Sequence[RawEvent], now: datetime, tz: ZoneInfo) -> int:
    return sum(1 for e in events if is_upcoming(e, now, tz))


def _titles(events: Sequence[RawEvent]) -> tuple[str, ...]:
    seen: list[str] = []
    for event in events:
        label = event.title
        if isinstance(event.start, date):
            label = f"{label} ({_day(event.start)})"
        if label not in seen:
            seen.append(label)
        if len(seen) == MAX_EXAMPLES:
            break
    return tuple(seen)


def _day(value: date) -> str:
    """The date and time as the source wrote them (with its offset when it gave one)."""
    if isinstance(value, datetime):
        text = value.strftime("%Y-%m-%d %H:%M")
        return f"{text} {value.strftime('%z')}" if value.tzinfo else text
    return value.isoformat()
