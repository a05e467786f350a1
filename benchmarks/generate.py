"""A deterministic corpus of event sources for the benchmarks.

``build_corpus(sources, events_per_source, seed=...)`` plans real-world events in the
Aix-Marseille communes (French and English text, all-day events, weekly series, online
events) and lists them across sources in realistic proportions of formats: iCalendar, RSS
2.0 and Atom with the ``ev:`` event module, and HTML pages carrying JSON-LD, microdata or
microformats h-event. A known share of listings (``duplicate_rate``) repeats an event
already listed by another source, with the title written differently, so dedupe has
something to find and its recall can be measured. Same seed, same bytes.

``write_corpus`` puts the documents and a ``manifest.json`` in a folder;
``serve_corpus`` serves that folder on 127.0.0.1 with ETags (conditional GET → 304).

    python -m benchmarks.generate --sources 50 --events 20 --out var/bench/corpus
"""

from __future__ import annotations

import argparse
import json
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from html import escape
from pathlib import Path
from zoneinfo import ZoneInfo

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)  # the corpus is dated from this instant
TZ = ZoneInfo("Europe/Paris")
FORMATS = (("ical", 30), ("rss", 15), ("atom", 10), ("jsonld", 25), ("microdata", 10), ("h-event", 10))
EXTENSION = {"ical": "ics", "rss": "rss", "atom": "atom", "jsonld": "html", "microdata": "html", "h-event": "html"}

# (commune, postcode, INSEE, latitude, longitude, venues with their street) — weights follow
# where the region's tech events really happen (mostly Marseille and Aix).
TOWNS = (
    ("Marseille", "13002", "13055", 43.3105, 5.3690, 8,
     (("La Coque", "2 rue Henri Barbusse"), ("Friche la Belle de Mai", "41 rue Jobin"),
      ("Le Quai 23", "23 quai de Rive-Neuve"), ("Euroméditerranée Lab", "10 place de la Joliette"))),
    ("Aix-en-Provence", "13100", "13001", 43.5283, 5.4497, 5,
     (("The Camp", "Domaine de la Rebière"), ("Le Ptit Bar Numérique", "12 rue Van Loo"),
      ("Faculté des sciences", "3 place Victor Hugo"))),
    ("Aubagne", "13400", "13005", 43.2927, 5.5708, 1, (("Pôle Alpha", "Parc d'activités des Paluds"),)),
    ("La Ciotat", "13600", "13028", 43.1748, 5.6045, 1, (("Atelier Numérique", "5 quai François Mitterrand"),)),
    ("Gardanne", "13120", "13041", 43.4549, 5.4697, 1, (("Campus Georges Charpak", "880 route de Mimet"),)),
    ("Martigues", "13500", "13056", 43.4053, 5.0475, 1, (("Maison de la Formation", "4 allée du Vallon"),)),
    ("Vitrolles", "13127", "13117", 43.4600, 5.2486, 1, (("Coworking Le Lab", "20 avenue de Rome"),)),
)
COMMUNITIES = (
    "Python Aix-Marseille", "JUG Marseille", "GDG Aix-Marseille", "Rust Provence", "DevOps Marseille",
    "WordPress Marseille", "Women in Tech Provence", "La Fabrique Fab Lab", "French Tech Aix-Marseille",
    "Data Science Marseille", "Cyber Sud", "UX Provence", "Marseille JS", "Aix Startup Club",
)
TOPICS_FR = (
    "FastAPI en production", "LLM et RAG en pratique", "Kubernetes sans douleur",
    "accessibilité numérique", "impression 3D pour débutants", "sécurité des API",
    "levée de fonds en seed", "tests automatisés avec pytest", "observabilité et OpenTelemetry",
    "Rust et WebAssembly", "design system et Figma", "data engineering avec dbt",
    "robotique et Arduino", "cybersécurité des PME", "React Server Components",
    "IA générative pour les développeurs", "migration vers le cloud", "jeu vidéo indépendant",
)
TOPICS_EN = (
    "FastAPI in production", "LLMs and RAG in practice", "Kubernetes without the pain",
    "web accessibility", "3D printing for beginners", "API security", "seed fundraising",
    "automated testing with pytest", "observability with OpenTelemetry", "Rust and WebAssembly",
    "design systems with Figma", "data engineering with dbt", "robotics and Arduino",
    "cybersecurity for small companies", "React Server Components", "generative AI for developers",
)
KINDS_FR = ("Meetup {c} #{n} : {t}", "Atelier {t}", "Conférence : {t}", "Afterwork {c} #{n}",
            "Soirée {c} — {t}", "Hackathon {t}", "Formation {t}")
KINDS_EN = ("{c} Meetup #{n}: {t}", "Workshop: {t}", "Talk: {t}", "{c} afterwork #{n}",
            "Hackathon: {t}", "Masterclass: {t}")
DESC_FR = ("Rejoignez-nous pour une soirée autour de {t}. Au programme : deux talks, des démos "
           "et un moment d'échange. Entrée libre sur inscription.")
DESC_EN = ("Join us for an evening about {t}: two talks, live demos and time to meet the "
           "community. Free entry, registration required.")


@dataclass(frozen=True)
class Planned:
    """A real-world event, before any source writes it down."""

    key: int
    title: str
    language: str
    start: datetime | date  # aware local datetime, or a date (all-day)
    end: datetime | date
    town: tuple[str, str, str, float, float] | None  # None: online
    venue: tuple[str, str] | None
    description: str
    category: str
    weekly: int = 0  # >0: a weekly series of that many occurrences (iCal only)

    @property
    def all_day(self) -> bool:
        return not isinstance(self.start, datetime)


@dataclass(frozen=True)
class Listing:
    """One source's copy of a planned event (its own title, uid and url)."""

    event: int
    title: str
    uid: str
    url: str


@dataclass
class SourceSpec:
    index: int
    name: str
    format: str
    language: str
    path: str
    listings: list[Listing] = field(default_factory=list)


@dataclass
class Corpus:
    seed: int
    sources: list[SourceSpec]
    events: dict[int, Planned]

    def document(self, source: SourceSpec) -> bytes:
        return render_document(source, self.events)

    def manifest(self) -> dict[str, object]:
        listings = [item for s in self.sources for item in s.listings]
        duplicates = len(listings) - len({item.event for item in listings})
        occurrences = sum(max(1, self.events[item.event].weekly) for item in listings)
        by_format: dict[str, int] = {}
        for s in self.sources:
            by_format[s.format] = by_format.get(s.format, 0) + 1
        return {
            "seed": self.seed,
            "now": NOW.isoformat(),
            "sources": len(self.sources),
            "listings": len(listings),
            "occurrences": occurrences,
            "unique_events": len({item.event for item in listings}),
            "duplicate_listings": duplicates,
            "duplicate_rate": round(duplicates / max(1, len(listings)), 4),
            "all_day": sum(1 for e in self.events.values() if e.all_day),
            "weekly_series": sum(1 for e in self.events.values() if e.weekly),
            "online": sum(1 for e in self.events.values() if e.town is None),
            "formats": dict(sorted(by_format.items())),
            "paths": [s.path for s in self.sources],
        }


def build_corpus(
    sources: int, events_per_source: int, *, seed: int = 20261126, duplicate_rate: float = 0.2,
    days: int = 120,
) -> Corpus:
    """Plan ``sources`` sources of ``events_per_source`` listings each (pure, seeded), dated
    over ``days`` days from ``NOW``."""
    rng = random.Random(seed)
    names, weights = zip(*FORMATS, strict=True)
    specs: list[SourceSpec] = []
    events: dict[int, Planned] = {}
    for index in range(sources):
        fmt = rng.choices(names, weights)[0]
        language = "en" if rng.random() < 0.2 else "fr"
        path = f"/s{index:05d}/agenda.{EXTENSION[fmt]}"
        specs.append(SourceSpec(index, f"{rng.choice(COMMUNITIES)} ({index})", fmt, language, path))
    earlier: list[int] = []  # one-off events of earlier sources: what a duplicate copies
    for spec in specs:
        host = f"https://site{spec.index}.example.org"
        fresh: list[int] = []
        for n in range(events_per_source):
            if earlier and rng.random() < duplicate_rate:
                key = rng.choice(earlier)
                title = _variant(events[key].title, rng)
            else:
                key = len(events)
                events[key] = _plan(key, spec, rng, days)
                title = events[key].title
                if not events[key].weekly:
                    fresh.append(key)
            spec.listings.append(Listing(key, title, f"ev-{key}-{spec.index}-{n}@site{spec.index}",
                                         f"{host}/evenements/{key}-{n}"))
        earlier.extend(fresh)
    return Corpus(seed, specs, events)


def _plan(key: int, spec: SourceSpec, rng: random.Random, days: int = 120) -> Planned:
    en = spec.language == "en"
    topic = rng.choice(TOPICS_EN if en else TOPICS_FR)
    title = rng.choice(KINDS_EN if en else KINDS_FR).format(
        c=rng.choice(COMMUNITIES), n=rng.randint(1, 400), t=topic)
    day = NOW.date() + timedelta(days=rng.randint(0, days))
    weekly = rng.choice((4, 6, 8)) if spec.format == "ical" and rng.random() < 0.15 else 0
    if rng.random() < 0.08:  # all-day (festivals, hackathon weekends)
        start: datetime | date = day
        end: datetime | date = day + timedelta(days=rng.choice((0, 1, 2)))
        weekly = 0
    else:
        start = datetime.combine(day, time(rng.choice((9, 12, 14, 18, 18, 19)), rng.choice((0, 30))), TZ)
        end = start + timedelta(hours=rng.choice((1, 2, 3)))
    online = rng.random() < 0.1
    town = None
    venue = None
    if not online:
        row = rng.choices(TOWNS, [t[5] for t in TOWNS])[0]
        town = (row[0], row[1], row[2], row[3], row[4])
        venue = rng.choice(row[6])
    return Planned(key, title, spec.language, start, end, town, venue,
                   (DESC_EN if en else DESC_FR).format(t=topic), topic.split()[0], weekly)


def _variant(title: str, rng: random.Random) -> str:
    """The same title as another site writes it."""
    choice = rng.randrange(5)
    if choice == 0:
        return title + " | Meetup"
    if choice == 1:
        return title.upper()
    if choice == 2:
        return title.replace(" : ", " - ").replace(": ", " – ")
    if choice == 3:
        return "  " + title + " (Marseille tech)"
    return title


# ---------------------------------------------------------------- rendering per format


def _iso(value: datetime | date) -> str:
    return value.isoformat()


def _place_text(event: Planned) -> str:
    if event.town is None:
        return "En ligne" if event.language == "fr" else "Online"
    assert event.venue is not None
    return f"{event.venue[0]}, {event.venue[1]}, {event.town[1]} {event.town[0]}"


def _ics_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _ics_when(name: str, value: datetime | date) -> str:
    if isinstance(value, datetime):
        return f"{name};TZID=Europe/Paris:{value.strftime('%Y%m%dT%H%M%S')}"
    return f"{name};VALUE=DATE:{value.strftime('%Y%m%d')}"


_VTIMEZONE = """BEGIN:VTIMEZONE
TZID:Europe/Paris
BEGIN:DAYLIGHT
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
TZNAME:CEST
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
TZNAME:CET
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10
END:STANDARD
END:VTIMEZONE"""


def _ical(source: SourceSpec, events: dict[int, Planned]) -> str:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//techagenda bench//FR", "CALSCALE:GREGORIAN",
             f"X-WR-CALNAME:{_ics_text(source.name)}", _VTIMEZONE]
    for item in source.listings:
        e = events[item.event]
        end = e.end + timedelta(days=1) if e.all_day else e.end  # iCal ends are exclusive
        lines += ["BEGIN:VEVENT", f"UID:{item.uid}", "DTSTAMP:20261120T101512Z",
                  _ics_when("DTSTART", e.start), _ics_when("DTEND", end),
                  f"SUMMARY:{_ics_text(item.title)}", f"DESCRIPTION:{_ics_text(e.description)}",
                  f"LOCATION:{_ics_text(_place_text(e))}", f"URL:{item.url}",
                  f"CATEGORIES:{_ics_text(e.category)}", "STATUS:CONFIRMED"]
        if e.town is not None:
            lines.append(f"GEO:{e.town[3]};{e.town[4]}")
        if e.weekly:
            lines.append(f"RRULE:FREQ=WEEKLY;COUNT={e.weekly}")
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


def _feed(source: SourceSpec, events: dict[int, Planned], atom: bool) -> str:
    ns = 'xmlns:ev="http://purl.org/rss/1.0/modules/event/"'
    site = f"https://site{source.index}.example.org"
    items = []
    for item in source.listings:
        e = events[item.event]
        fields = (f"<ev:startdate>{_iso(e.start)}</ev:startdate><ev:enddate>{_iso(e.end)}</ev:enddate>"
                  f"<ev:location>{escape(_place_text(e))}</ev:location>"
                  f"<ev:organizer>{escape(source.name)}</ev:organizer>")
        if atom:
            items.append(f"<entry><title>{escape(item.title)}</title><link href=\"{item.url}\"/>"
                         f"<id>{escape(item.uid)}</id><updated>2026-11-20T10:00:00Z</updated>"
                         f"<summary>{escape(e.description)}</summary>"
                         f"<category term=\"{escape(e.category)}\"/>{fields}</entry>")
        else:
            items.append(f"<item><title>{escape(item.title)}</title><link>{item.url}</link>"
                         f"<guid isPermaLink=\"false\">{escape(item.uid)}</guid>"
                         f"<description>{escape(e.description)}</description>"
                         f"<category>{escape(e.category)}</category>{fields}</item>")
    body = "\n".join(items)
    head = '<?xml version="1.0" encoding="utf-8"?>\n'
    if atom:
        return (f'{head}<feed xmlns="http://www.w3.org/2005/Atom" {ns} xml:lang="{source.language}">'
                f"<title>{escape(source.name)}</title><id>{site}/</id>"
                f"<updated>2026-11-20T10:00:00Z</updated><link href=\"{site}/\"/>\n{body}\n</feed>\n")
    return (f'{head}<rss version="2.0" {ns}><channel><title>{escape(source.name)}</title>'
            f"<link>{site}/</link><description>Agenda</description>"
            f"<language>{source.language}</language>\n{body}\n</channel></rss>\n")


def _schema_event(item: Listing, e: Planned, organizer: str) -> dict[str, object]:
    node: dict[str, object] = {
        "@type": "Event", "name": item.title, "startDate": _iso(e.start), "endDate": _iso(e.end),
        "url": item.url, "description": e.description, "keywords": e.category,
        "organizer": {"@type": "Organization", "name": organizer},
        "eventStatus": "https://schema.org/EventScheduled",
    }
    if e.town is None:
        node["eventAttendanceMode"] = "https://schema.org/OnlineEventAttendanceMode"
        node["location"] = {"@type": "VirtualLocation", "url": f"https://meet.jit.si/bench-{e.key}"}
    else:
        assert e.venue is not None
        node["eventAttendanceMode"] = "https://schema.org/OfflineEventAttendanceMode"
        node["location"] = {
            "@type": "Place", "name": e.venue[0],
            "address": {"@type": "PostalAddress", "streetAddress": e.venue[1],
                        "postalCode": e.town[1], "addressLocality": e.town[0], "addressCountry": "FR"},
            "geo": {"@type": "GeoCoordinates", "latitude": e.town[3], "longitude": e.town[4]},
        }
    return node


def _html(source: SourceSpec, events: dict[int, Planned]) -> str:
    parts = []
    if source.format == "jsonld":
        nodes = [{"@context": "https://schema.org", **_schema_event(i, events[i.event], source.name)}
                 for i in source.listings]
        data = json.dumps(nodes, ensure_ascii=False, sort_keys=True).replace("</", "<\\/")
        parts.append(f'<script type="application/ld+json">{data}</script>')
        parts += [f"<article><h2><a href=\"{i.url}\">{escape(i.title)}</a></h2></article>"
                  for i in source.listings]
    for item in source.listings if source.format != "jsonld" else ():
        e = events[item.event]
        place = escape(_place_text(e))
        if source.format == "microdata":
            loc = (f'<span itemprop="location" itemscope itemtype="https://schema.org/Place">'
                   f'<span itemprop="name">{place}</span>'
                   + (f'<span itemprop="address">{escape(e.town[0])}</span>' if e.town else "")
                   + "</span>")
            parts.append(
                f'<div itemscope itemtype="https://schema.org/Event"><h2 itemprop="name">{escape(item.title)}</h2>'
                f'<time itemprop="startDate" datetime="{_iso(e.start)}">{_iso(e.start)}</time>'
                f'<time itemprop="endDate" datetime="{_iso(e.end)}">{_iso(e.end)}</time>{loc}'
                f'<p itemprop="description">{escape(e.description)}</p>'
                f'<a itemprop="url" href="{item.url}">Détails</a></div>')
        else:
            loc = (f'<p class="p-location h-card"><span class="p-name">{escape(e.venue[0])}</span>, '
                   f'<span class="p-street-address">{escape(e.venue[1])}</span>, '
                   f'<span class="p-locality">{escape(e.town[0])}</span></p>'
                   if e.town and e.venue else f'<p class="p-location">{place}</p>')
            parts.append(
                f'<article class="h-event"><h2 class="p-name">{escape(item.title)}</h2>'
                f'<time class="dt-start" datetime="{_iso(e.start)}">{_iso(e.start)}</time>'
                f'<time class="dt-end" datetime="{_iso(e.end)}">{_iso(e.end)}</time>{loc}'
                f'<p class="p-summary">{escape(e.description)}</p>'
                f'<a class="u-url" href="{item.url}">Details</a>'
                f'<span class="p-category">{escape(e.category)}</span></article>')
    body = "\n".join(parts)
    return (f'<!DOCTYPE html>\n<html lang="{source.language}"><head><meta charset="utf-8">'
            f"<title>{escape(source.name)}</title></head><body><h1>{escape(source.name)}</h1>\n"
            f"{body}\n</body></html>\n")


def render_document(source: SourceSpec, events: dict[int, Planned]) -> bytes:
    """The bytes a source serves."""
    if source.format == "ical":
        text = _ical(source, events)
    elif source.format in ("rss", "atom"):
        text = _feed(source, events, atom=source.format == "atom")
    else:
        text = _html(source, events)
    return text.encode("utf-8")


def write_corpus(corpus: Corpus, folder: Path) -> Path:
    """Write every document under ``folder`` (paths as served) and ``manifest.json``."""
    folder.mkdir(parents=True, exist_ok=True)
    for source in corpus.sources:
        target = folder / source.path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(corpus.document(source))
    manifest = folder / "manifest.json"
    manifest.write_text(json.dumps(corpus.manifest(), indent=1, sort_keys=True), encoding="utf-8")
    return manifest


def serve_corpus(folder: Path, host: str = "127.0.0.1"):  # type: ignore[no-untyped-def]
    """A started loopback HTTP server (``host``, ETags, 304 on If-None-Match) for ``folder``."""
    from tests.support.httpserver import LoopbackHTTPServer

    server = LoopbackHTTPServer(host)
    server.add("/robots.txt", "User-agent: *\nAllow: /\n", content_type="text/plain")
    server.serve_dir(folder, prefix="/")
    server.start()
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.generate", description=__doc__)
    parser.add_argument("--sources", type=int, default=50)
    parser.add_argument("--events", type=int, default=20, help="listings per source")
    parser.add_argument("--seed", type=int, default=20261126)
    parser.add_argument("--duplicate-rate", type=float, default=0.2)
    parser.add_argument("--out", type=Path, default=Path("var/bench/corpus"))
    args = parser.parse_args(argv)
    corpus = build_corpus(args.sources, args.events, seed=args.seed, duplicate_rate=args.duplicate_rate)
    path = write_corpus(corpus, args.out)
    print(json.dumps({k: v for k, v in corpus.manifest().items() if k != "paths"}, sort_keys=True))
    print(f"written: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
