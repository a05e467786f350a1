"""A loopback events site for the scale tests: listing pages that share event pages.

Each source is a listing page (``/agendas/<name>.html``) whose cards link to event pages
(``/evenements/<slug>.html``) carrying schema.org Event data, as the agendas of Marseille's
tech places do. Listings overlap: an event page is linked from several of them.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import Session

from aggregator.models import Source, SourceState
from tests.support.httpserver import LoopbackHTTPServer

PARIS = ZoneInfo("Europe/Paris")
FIRST_DAY = datetime(2026, 12, 1, tzinfo=PARIS)

TOPICS = [
    ("Meetup Python Aix-Marseille", "La Coque", "2 rue Henri Barbusse", "Marseille", "13001"),
    (
        "Rust Marseille : ownership sans douleur",
        "Le Village by CA",
        "8 rue Grignan",
        "Marseille",
        "13001",
    ),
    (
        "Afterwork French Tech Aix-Marseille",
        "Thecamp",
        "Domaine de Manteville",
        "Aix-en-Provence",
        "13290",
    ),
    ("Atelier Arduino au Fab Lab", "LFO Fab Lab", "12 rue Sainte-Victoire", "Marseille", "13006"),
    (
        "Conférence cybersécurité des PME",
        "CCI Aix-Marseille",
        "9 La Canebière",
        "Marseille",
        "13001",
    ),
    (
        "Hackathon open data de la Métropole",
        "La Friche Belle de Mai",
        "41 rue Jobin",
        "Marseille",
        "13003",
    ),
    ("DevOps Day Provence", "Palais du Pharo", "58 boulevard Charles Livon", "Marseille", "13007"),
    (
        "Atelier impression 3D pour débutants",
        "Made in Marseille Lab",
        "3 rue Consolat",
        "Marseille",
        "13001",
    ),
    (
        "Meetup Data & IA : les LLM en entreprise",
        "Euroméditerranée",
        "Les Docks, 10 place de la Joliette",
        "Marseille",
        "13002",
    ),
    (
        "Soirée WordPress Marseille",
        "Coworking Marseille Centre",
        "25 rue Paradis",
        "Marseille",
        "13001",
    ),
    (
        "Marseille JUG : Java 25 en production",
        "Epitech Marseille",
        "21 rue Mirès",
        "Marseille",
        "13003",
    ),
    (
        "Café UX : tests utilisateurs à petit budget",
        "Le Tube",
        "38 rue Sainte",
        "Marseille",
        "13001",
    ),
]


def event_page(number: int) -> tuple[str, bytes]:
    """The slug and HTML of event page ``number`` (distinct title, day and time)."""
    title, venue, street, town, postcode = TOPICS[number % len(TOPICS)]
    if number >= len(TOPICS):
        title = f"{title} — session {number // len(TOPICS) + 1}"
    start = FIRST_DAY + timedelta(days=number % 170, hours=9 + number % 11)
    slug = f"{start:%Y-%m-%d}-evenement-{number}"
    data = {
        "@context": "https://schema.org",
        "@type": "Event",
        "name": title,
        "startDate": start.isoformat(),
        "endDate": (start + timedelta(hours=2)).isoformat(),
        "description": f"{title} : présentations, démonstrations et échanges autour d'un verre.",
        "location": {
            "@type": "Place",
            "name": venue,
            "address": {
                "@type": "PostalAddress",
                "streetAddress": street,
                "addressLocality": town,
                "postalCode": postcode,
            },
        },
    }
    html = (
        '<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8">'
        f"<title>{title}</title>"
        f'<script type="application/ld+json">{json.dumps(data, ensure_ascii=False)}</script>'
        f"</head><body><h1>{title}</h1><p>{venue}, {town}</p></body></html>"
    )
    return slug, html.encode("utf-8")


def listing_page(name: str, numbers: list[int]) -> bytes:
    cards = "".join(
        f'<li class="event-card"><a href="/evenements/{event_page(n)[0]}.html">'
        f"{TOPICS[n % len(TOPICS)][0]}</a></li>"
        for n in numbers
    )
    return (
        '<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8">'
        f"<title>Agenda — {name}</title></head><body><h1>Prochains événements</h1>"
        f'<ul class="event-list">{cards}</ul>'
        '<p><a href="/mentions-legales.html">Mentions légales</a></p></body></html>'
    ).encode()


def serve_site(
    server: LoopbackHTTPServer, listings: dict[str, list[int]], *, delay: float = 0.0
) -> list[str]:
    """Serve the listings and their event pages (each after ``delay``); the event paths."""
    server.add("/robots.txt", "User-agent: *\nAllow: /\n", content_type="text/plain")
    paths: dict[str, None] = {}
    for name, numbers in listings.items():
        server.add(f"/agendas/{name}.html", listing_page(name, numbers), content_type="text/html")
        for number in numbers:
            slug, body = event_page(number)
            path = f"/evenements/{slug}.html"
            if path not in paths:
                server.add(path, body, content_type="text/html; charset=utf-8", delay=delay)
                paths[path] = None
    return list(paths)


def add_sources(engine: Engine, server: LoopbackHTTPServer, names: list[str]) -> list[int]:
    """One approved Source row per listing; their ids in order."""
    with Session(engine) as session:
        rows = [
            Source(
                name=f"Agenda {name}",
                url=server.url(f"/agendas/{name}.html"),
                state=SourceState.approved,
                town="Marseille",
            )
            for name in names
        ]
        session.add_all(rows)
        session.commit()
        return [row.id for row in rows if row.id is not None]


def ical_feed(name: str, count: int) -> bytes:
    """An iCalendar feed of ``count`` distinct events (the ingest-bound case)."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:-//{name}//Agenda//FR"]
    for number in range(count):
        title, venue, street, town, postcode = TOPICS[number % len(TOPICS)]
        start = FIRST_DAY + timedelta(days=number % 170, hours=9 + number % 11)
        lines += [
            "BEGIN:VEVENT",
            f"UID:{name}-{number}@agenda.example.org",
            "DTSTAMP:20261120T090000Z",
            f"DTSTART;TZID=Europe/Paris:{start:%Y%m%dT%H%M%S}",
            f"DTEND;TZID=Europe/Paris:{start + timedelta(hours=2):%Y%m%dT%H%M%S}",
            f"SUMMARY:{title} — {name} n°{number}",
            f"LOCATION:{venue}\\, {street}\\, {postcode} {town}",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")
