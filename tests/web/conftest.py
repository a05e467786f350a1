"""Web fixtures: the app on a real migrated SQLite file, a fixed clock, seeded events,
a logged-in admin."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from aggregator.admins import create_admin
from aggregator.db import session_scope
from aggregator.models import Event, EventLink, Source
from aggregator.settings import Settings
from web.app import create_app
from web.security import CSRF_COOKIE

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)  # a Thursday
DATA = Path(__file__).parent.parent / "data" / "web"
ADMIN_PASSWORD = "correct horse battery staple"


@pytest.fixture
def app(settings: Settings, sqlite_engine: Engine) -> FastAPI:
    app = create_app(settings, clock=lambda: NOW)
    app.state.refetch_delay = 0.0  # the UID-churn check's pause between two fetches
    return app


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def csrf_token(client: TestClient) -> str:
    """The CSRF token a page would put in its forms (visiting one first if needed)."""
    if CSRF_COOKIE not in client.cookies:
        client.get("/subscribe")
    return str(client.cookies[CSRF_COOKIE])


def post_form(client: TestClient, path: str, data: dict[str, Any], **kw: Any) -> Any:
    """POST a form the way a page does: with the CSRF token."""
    return client.post(path, data={**data, "csrf_token": csrf_token(client)}, **kw)


def seed_events(engine: Engine, now: datetime = NOW) -> dict[str, int]:
    """Store tests/data/web/events.json (days relative to ``now``); title -> event id."""
    specs = json.loads((DATA / "events.json").read_text(encoding="utf-8"))
    ids: dict[str, int] = {}
    with session_scope(engine) as session:
        source = Source(
            name="Agenda du Numérique Sud",
            url="https://agenda.example/feed.ics",
            state="approved",
            created_at=now,
        )
        session.add(source)
        session.flush()
        today = now.date()
        for n, spec in enumerate(specs):
            day = today + timedelta(days=spec["days"])
            event = Event(
                title=spec["title"],
                venue=spec.get("venue"),
                address=spec.get("address"),
                city=spec.get("city"),
                postcode=spec.get("postcode"),
                insee=spec.get("insee"),
                latitude=spec.get("latitude"),
                longitude=spec.get("longitude"),
                online=spec.get("online", False),
                in_region=not spec.get("online", False),
                topics=spec.get("topics", []),
                organizer=spec.get("organizer"),
                description_text=spec.get("description_text"),
                url=spec.get("url"),
                hidden=spec.get("hidden", False),
                timezone="Europe/Paris",
                relevance=3.0,
                created_at=now,
                updated_at=now - timedelta(hours=n),
            )
            if spec.get("all_day"):
                event.all_day = True
                event.start_date = day
                event.end_date = today + timedelta(days=spec["end_days"])
                event.start = datetime.combine(day, datetime.min.time(), UTC) - timedelta(hours=1)
            else:
                # Paris is UTC+1 in winter: the local hour minus one.
                event.start = datetime(
                    day.year, day.month, day.day, spec["hour"] - 1, spec["minutes"], tzinfo=UTC
                )
                event.end = event.start + timedelta(hours=spec["hours"])
                event.start_date = day
            session.add(event)
            session.flush()
            assert event.id is not None
            session.add(
                EventLink(
                    event_id=event.id,
                    source_id=source.id or 0,
                    external_id=f"uid-{n}",
                    url=f"https://agenda.example/e/{n}",
                )
            )
            ids[spec["title"]] = event.id
    return ids


@pytest.fixture
def events(sqlite_engine: Engine) -> dict[str, int]:
    return seed_events(sqlite_engine)


@pytest.fixture
def admin_client(client: TestClient, sqlite_engine: Engine) -> TestClient:
    with session_scope(sqlite_engine) as session:
        create_admin(
            session, "camille", ADMIN_PASSWORD, email="camille@techagenda.example", now=NOW
        )
    response = post_form(
        client,
        "/admin/login",
        {"username": "camille", "password": ADMIN_PASSWORD, "next": "/admin"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    return client


def local_day(value: date) -> str:
    return value.isoformat()
