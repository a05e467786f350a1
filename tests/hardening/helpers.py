"""Shared pieces of the hardening tests: realistic feeds, settings, store checks.

Everything here talks only to 127.0.0.1: loopback HTTP/SMTP servers from tests/support
and the databases named by the fixtures.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from aggregator.db import session_scope
from aggregator.models import Event, EventLink, Source, SourceState
from aggregator.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]

TOPICS = [
    ("Meetup Python Marseille", "La Coque, 36 rue de la République, 13002 Marseille"),
    ("Atelier Arduino au fab lab", "LFO Fablab, 30 rue Sainte, 13001 Marseille"),
    ("Soirée DevOps Aix", "Le Village by CA, 2 rue Gustave Desplaces, 13100 Aix-en-Provence"),
    ("Apéro startups French Tech", "Thecamp, 13290 Aix-en-Provence"),
    ("Rencontre IA et données", "Technopôle de Château-Gombert, 13013 Marseille"),
]


def big_calendar(count: int, *, start: datetime | None = None, prefix: str = "hardening") -> str:
    """An iCalendar agenda of ``count`` distinct evening events, one every 11 hours ahead."""
    first = (start or datetime.now(UTC)).replace(minute=0, second=0, microsecond=0)
    first += timedelta(days=2)
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Tech Sud//Agenda//FR"]
    for n in range(count):
        title, where = TOPICS[n % len(TOPICS)]
        begin = first + timedelta(hours=11 * n)
        lines += [
            "BEGIN:VEVENT",
            f"UID:{prefix}-{n:05d}@agenda.tech-sud.example",
            "DTSTAMP:20261120T090000Z",
            f"DTSTART:{begin:%Y%m%dT%H%M%SZ}",
            f"DTEND:{begin + timedelta(hours=2):%Y%m%dT%H%M%SZ}",
            f"SUMMARY:{title} n°{n}",
            "DESCRIPTION:Présentations\\, démonstrations et échanges autour d'un verre.",
            f"LOCATION:{where.replace(',', chr(92) + ',')}",
            f"URL:https://agenda.tech-sud.example/evenements/{prefix}-{n}",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


def hardening_settings(tmp_path: Path, db_url: str, **overrides: Any) -> Settings:
    """Settings for one test: its own data dir, the given store, loopback allowed."""
    values: dict[str, Any] = {
        "data_dir": tmp_path / "var",
        "database_url": db_url,
        "mail_url": f"file://{tmp_path / 'outbox'}",
        "secret_key": "hardening-secret",
        "fetch_allowlist": "127.0.0.0/8,::1",
    }
    values.update(overrides)
    return load_settings(**values)


def add_source(engine: Engine, url: str, name: str = "Agenda Tech Sud") -> int:
    """An approved source pointing at ``url``; returns its id."""
    with session_scope(engine) as session:
        source = Source(name=name, url=url, state=SourceState.approved)
        session.add(source)
        session.flush()
        assert source.id is not None
        return source.id


def count(engine: Engine, model: type[Any]) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(model)).scalar_one())


def duplicate_links(engine: Engine) -> int:
    """How many (source, external id) pairs are stored more than once."""
    link = EventLink.__table__  # type: ignore[attr-defined]
    query = (
        sa.select(link.c.source_id, link.c.external_id)
        .group_by(link.c.source_id, link.c.external_id)
        .having(sa.func.count() > 1)
    )
    with engine.connect() as conn:
        return len(conn.execute(query).all())


def duplicate_events(engine: Engine) -> int:
    """How many (title, start) pairs are stored as more than one event carried by a link."""
    event = Event.__table__  # type: ignore[attr-defined]
    link = EventLink.__table__  # type: ignore[attr-defined]
    query = (
        sa.select(event.c.title, event.c.start)
        .where(sa.exists().where(link.c.event_id == event.c.id))
        .group_by(event.c.title, event.c.start)
        .having(sa.func.count() > 1)
    )
    with engine.connect() as conn:
        return len(conn.execute(query).all())


def orphans(engine: Engine) -> tuple[int, int]:
    """(events without a link, links without an event): both zero in a sound store."""
    event = Event.__table__  # type: ignore[attr-defined]
    link = EventLink.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        lonely = conn.execute(
            sa.select(sa.func.count())
            .select_from(event)
            .where(~sa.exists().where(link.c.event_id == event.c.id))
        ).scalar_one()
        dangling = conn.execute(
            sa.select(sa.func.count())
            .select_from(link)
            .where(~sa.exists().where(event.c.id == link.c.event_id))
        ).scalar_one()
    return int(lonely), int(dangling)


def python_child(
    module: str, *args: str, env: dict[str, str] | None = None, pipe: bool = False
) -> subprocess.Popen[bytes]:
    """``python -m module args`` from the project root; stdout piped when ``pipe``."""
    return subprocess.Popen(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        stdout=subprocess.PIPE if pipe else subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
